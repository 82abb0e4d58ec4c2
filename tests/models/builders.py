"""Tiny model configurations and random batches for the model tests.

Every trunk has a config small enough to build and run in well under a second; the
batches follow the reader's contract: ``[B, T, D]`` frames padded to the longest
example plus ``<feature>_length`` int32 frame counts.
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

# Trunk type -> (feature input, trunk params, embedding shape without the batch axis).
TINY_TRUNKS = {
    "dnn": ({"name": "egemaps", "dim": 10}, {"units": [8, 6], "dropout": 0.1}, (6,)),
    "cnn_blstm_attention": ({"name": "logspec", "dim": 40, "sequence": True},
                            {"filters": [2, 3, 4], "lstm_units": 3, "attention_units": 5,
                             "dropout": 0.1}, (6,)),
    "blstm_dnn_attention": ({"name": "lld", "dim": 6, "sequence": True},
                            {"input_units": 8, "lstm_units": 4, "output_units": 5}, (5,)),
    "lstm_seq": ({"name": "lld", "dim": 6, "sequence": True}, {"units": [8, 4]}, (None, 4)),
    "vggm": ({"name": "spec", "dim": 32, "sequence": True},
             {"filters": [2, 3, 3, 3, 3], "fc6_units": 8, "fc7_units": 6}, (6,)),
}
SEQUENCE_TRUNKS_WITH_LENGTHS = ("cnn_blstm_attention", "blstm_dnn_attention", "lstm_seq")


def model_config(trunk: str, heads: Sequence[dict], name: str = "tiny") -> dict:
    feature, params, _ = TINY_TRUNKS[trunk]
    return {"name": name, "features": [feature], "trunk": {"type": trunk, "params": params},
            "heads": list(heads)}


def padded_frames(lengths: Sequence[int], dim: int, seed: int = 0, pad_value=None,
                  num_frames: int = None) -> np.ndarray:
    """Random ``[B, T, dim]`` frames; frames past each length hold ``pad_value``.

    ``pad_value=None`` fills the padding with large random values, which must not
    matter to a trunk that masks properly.
    """
    rng = np.random.default_rng(seed)
    num_frames = num_frames or max(lengths)
    x = rng.normal(size=(len(lengths), num_frames, dim)).astype(np.float32)
    for row, length in enumerate(lengths):
        x[row, length:] = (rng.normal(scale=50.0, size=x[row, length:].shape)
                           if pad_value is None else pad_value)
    return x


def features_for(trunk: str, lengths: Sequence[int], seed: int = 0,
                 num_frames: int = None) -> Dict[str, np.ndarray]:
    """A features dict for the tiny config of ``trunk`` with the given lengths."""
    feature, _, _ = TINY_TRUNKS[trunk]
    name, dim = feature["name"], feature["dim"]
    if not feature.get("sequence"):
        rng = np.random.default_rng(seed)
        return {name: rng.normal(size=(len(lengths), dim)).astype(np.float32)}
    batch = {name: padded_frames(lengths, dim, seed, pad_value=0.0, num_frames=num_frames)}
    if trunk in SEQUENCE_TRUNKS_WITH_LENGTHS:
        batch[name + "_length"] = np.asarray(lengths, dtype=np.int32)
    return batch
