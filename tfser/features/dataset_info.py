"""Reader side of ``dataset_info.json``, the sidecar of a featurized directory.

Part of the on-disk contract with :mod:`tfser.features.example_codec`: the file names of
a featurized directory, the format tag and version, and the functions that read the
sidecar's specs and shard lists. The writer (counts, reconciliation, statistics) is
:mod:`tfser.beam.dataset_info`; this module imports nothing from Beam, so training and
serving can read a featurized directory without loading Apache Beam.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional

from tfser.features import example_codec

DATASET_INFO_FILE = "dataset_info.json"
REJECTS_FILE = "rejects.csv"
CONFIG_FILE = "config.yaml"
EXAMPLES_DIR = "examples"
FORMAT = "tfser.dataset_info"
VERSION = 1
# Normalised features are clipped to +-this many training standard deviations by the
# reader and by every export (featurize config ``clip_sigma``; 0 turns clipping off).
# A ratio feature such as eGeMAPS' coefficients of variation (std / mean) explodes
# when its mean is near zero: one 48 kHz upload gave mfcc2V_sma3nz_stddevNorm at -309
# sigma and flipped the prediction. Directories featurized before the setting
# existed get this default.
DEFAULT_CLIP_SIGMA = 6.0


def clip_sigma(info: Mapping[str, Any]) -> float:
    """The clip of a featurized directory's normalised features (0.0 = no clipping)."""
    value = info.get("config", {}).get("clip_sigma", DEFAULT_CLIP_SIGMA)
    return float(value or 0.0)


def read_info(path: str) -> Dict[str, Any]:
    """Reads dataset_info.json (``path`` may be the featurized directory).

    Raises:
      ValueError: Not a tfser dataset_info file of a supported version.
    """
    if os.path.isdir(path):
        path = os.path.join(path, DATASET_INFO_FILE)
    with open(path, encoding="utf-8") as handle:
        info = json.load(handle)
    if info.get("format") != FORMAT or info.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} version {VERSION} file")
    return info


def feature_specs(info: Mapping[str, Any]) -> List[example_codec.FeatureSpec]:
    return [example_codec.FeatureSpec.from_dict(d) for d in info["features"]]


def label_specs(info: Mapping[str, Any]) -> List[example_codec.LabelFieldSpec]:
    return [example_codec.LabelFieldSpec.from_dict(d) for d in info["labels"]]


def fold_files(info: Mapping[str, Any], root: str, fold: Optional[str] = None,
               part: str = "train", augmented: bool = False) -> List[str]:
    """Absolute shard paths of one part of one fold (default: the first fold).

    Args:
      info: dataset_info.
      root: The featurized directory.
      fold: Fold name (None = the first fold).
      part: ``train``, ``dev`` or ``test``.
      augmented: Return the augmented TRAIN copies instead of the originals.

    Raises:
      KeyError: Unknown fold, or augmented files asked for outside TRAIN.
    """
    folds = info["split"]["folds"]
    entry = folds[0] if fold is None else next((f for f in folds if f["name"] == fold), None)
    if entry is None:
        raise KeyError(f"no fold named {fold!r}; folds: {[f['name'] for f in folds]}")
    files = entry[part]["augmented"]["files"] if augmented else entry[part]["files"]
    return [os.path.join(root, f) for f in files]
