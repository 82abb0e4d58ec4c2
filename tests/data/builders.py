"""A tiny featurized data directory for the reader tests, written by hand.

Three speakers (``spkA``, ``spkB``, ``spkC``) with four original examples each, and
a ``speed0.9`` copy of each original in the speaker's augmented file. Two folds rotate
the speakers through train/dev/test (fold 1 has no test speakers). Features: a 4-dim
vector and a variable-length [T, 3] sequence; heads: a hard head with missing labels,
a per-rater head and a dimensional head (both element-masked), a frame-level head and
an existence head (paper 001's presence vectors, one all-zero negative per speaker).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List

import numpy as np
import tensorflow as tf

from tfser.beam import dataset_info as beam_info
from tfser.features import example_codec as codec

SPEAKERS = ("spkA", "spkB", "spkC")
FOLDS = ({"train": ["spkA"], "dev": ["spkB"], "test": ["spkC"]},
         {"train": ["spkB", "spkC"], "dev": ["spkA"], "test": []})
FEATURES = (codec.FeatureSpec("func", 4),
            codec.FeatureSpec("spec", 3, sequence=True, frame_rate_hz=100.0))
LABELS = (codec.LabelFieldSpec("primary", "hard", (), ("a", "b", "c")),
          codec.LabelFieldSpec("raters", "per_rater", (2, 3), ("r1", "r2"),
                               element_mask=True),
          codec.LabelFieldSpec("dims", "dimensional", (2,), ("arousal", "valence"),
                               element_mask=True),
          codec.LabelFieldSpec("trace", "dimensional", (2,), ("arousal", "valence"),
                               sequence=True),
          codec.LabelFieldSpec("exists", "existence", (3,), ("a", "b", "c")))
# Original index within a speaker -> primary class (None = unlabelled).
PRIMARY = (0, 1, None, 0)
# Original index within a speaker -> existence vector over (a, b, c).
EXISTS = ((1, 0, 0), (1, 1, 0), (0, 0, 0), (1, 0, 1))


@dataclasses.dataclass
class FakeData:
    """The directory plus the raw values written, for numeric comparisons."""

    root: str
    raw: Dict[str, Dict[str, np.ndarray]]  # utt_id -> feature -> array (unnormalised)
    order: Dict[str, List[str]]  # speaker -> utt_ids in stored order
    global_stats: List[Dict[str, tuple]]  # fold -> feature -> (mean, std)
    speaker_stats: Dict[str, Dict[str, tuple]]


def _example(rng, speaker_index, index):
    frames = 2 + (3 * speaker_index + index) % 6  # 2..7 frames
    offset = 10.0 * (speaker_index + 1)  # speakers differ in level, as real ones do
    features = {"func": offset + rng.normal(size=4).astype(np.float32),
                "spec": offset + rng.normal(size=(frames, 3)).astype(np.float32)}
    labels = {"raters": codec.LabelValue(np.eye(3)[[index % 3, (index + 1) % 3]], 1.0,
                                         np.array([[1.0] * 3, [float(index % 2)] * 3])),
              "dims": codec.LabelValue(np.array([0.5, -0.5]), 1.0,
                                       np.array([1.0, float(index != 1)])),
              "trace": codec.LabelValue(np.full((frames, 2), 0.25), 1.0),
              "exists": codec.LabelValue(np.array(EXISTS[index], dtype=np.float32), 1.0)}
    # An unlabelled hard head is stored as the labels stage writes it: class -1, weight 0.
    labels["primary"] = (codec.LabelValue(np.array(-1), 0.0) if PRIMARY[index] is None
                         else codec.LabelValue(np.array(PRIMARY[index]), 1.0))
    return features, labels


def _summary(arrays):
    rows = np.concatenate([np.atleast_2d(a) for a in arrays]).astype(np.float64)
    return {"count": len(rows), "mean": rows.mean(axis=0).tolist(),
            "std": rows.std(axis=0).tolist()}


def _part(speakers, augment, with_counts):
    def files(variant):
        return [f"examples/{s}{variant}-00000-of-00001.tfrecord" for s in speakers]

    part = {"speakers": list(speakers), "files": files("")}
    if with_counts:
        part["written"] = 4 * len(speakers)
    if augment:
        part["augmented"] = {"files": files(".speed0.9")}
        if with_counts:
            part["augmented"]["written"] = 4 * len(speakers)
    return part


def write_fake_data_dir(root: str, with_counts: bool = True) -> FakeData:
    """Writes the directory described in the module docstring under ``root``.

    Only the parts of the tfser.beam.dataset_info layout that the reader uses are
    written; the files follow the pipeline's naming (originals and each augmented
    variant of a speaker in their own shard group).
    """
    rng = np.random.default_rng(0)
    specs = {s.head: s for s in LABELS}
    raw, order, originals = {}, {}, {s: [] for s in SPEAKERS}
    os.makedirs(os.path.join(root, "examples"), exist_ok=True)
    for s_index, speaker in enumerate(SPEAKERS):
        order[speaker] = []
        for variant in ("original", "speed0.9"):
            suffix = "" if variant == "original" else f".{variant}"
            path = os.path.join(root, "examples", f"{speaker}{suffix}-00000-of-00001.tfrecord")
            with tf.io.TFRecordWriter(path) as writer:
                for index in range(len(PRIMARY)):
                    utt = f"{speaker}_{index}" + ("" if not suffix else f"@{variant}")
                    features, labels = _example(rng, s_index, index)
                    meta = {"utt_id": utt, "speaker_id": speaker, "variant": variant}
                    writer.write(codec.encode_example(meta, features, labels, specs))
                    raw[utt] = features
                    order[speaker].append(utt)
                    if variant == "original":
                        originals[speaker].append(features)
    per_speaker = {spk: {n: _summary([f[n] for f in originals[spk]]) for n in ("func", "spec")}
                   for spk in SPEAKERS}
    folds, global_stats = [], {}
    for index, protocol in enumerate(FOLDS):
        name = f"fold{index}"
        train = [f for spk in protocol["train"] for f in originals[spk]]
        global_stats[name] = {n: _summary([f[n] for f in train]) for n in ("func", "spec")}
        folds.append({"name": name, **{part: _part(speakers, part == "train", with_counts)
                                       for part, speakers in protocol.items()}})
    info = {"format": beam_info.FORMAT, "version": beam_info.VERSION,
            "features": [s.to_dict() for s in FEATURES],
            "labels": [s.to_dict() for s in LABELS],
            "split": {"protocol": "unit", "folds": folds},
            "normalisation": {"method": {"func": "global", "spec": "per_speaker"},
                              "global": global_stats, "per_speaker": per_speaker}}
    beam_info.write_info(os.path.join(root, beam_info.DATASET_INFO_FILE), info)
    return FakeData(root, raw, order,
                    [{n: (v["mean"], v["std"]) for n, v in global_stats[f"fold{i}"].items()}
                     for i in range(len(FOLDS))],
                    {spk: {n: (v["mean"], v["std"]) for n, v in feats.items()}
                     for spk, feats in per_speaker.items()})
