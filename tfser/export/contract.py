"""The serving contract of an export: names, limits and the asset files that describe it.

An export directory is a SavedModel plus three assets a client reads without tfser::

    assets/params.yaml      the run's resolved experiment (a copy)
    assets/classes.json     head -> names of its output units (classes, attributes)
    assets/features.json    the features the model reads, how serving normalises them,
                            the waveform front-end, sample rate, limits, the signatures'
                            inputs and outputs, each head's kind, and for openSMILE
                            features the set and level to compute them with

This module builds and reads those files as plain data (no TensorFlow graph work); the
graph itself is built by :mod:`tfser.export.serving`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional

from tfser.audio import audio_io
from tfser.data import normalise as norm
from tfser.evaluation import columns
from tfser.features import opensmile_sets
from tfser.features import spectrogram

FORMAT = "tfser.export"
VERSION = 1
ASSETS_DIR = "assets"
PARAMS_ASSET = "params.yaml"
CLASSES_ASSET = "classes.json"
FEATURES_ASSET = "features.json"

FEATURES_SIGNATURE = "serving_default"
WAVEFORM_SIGNATURE = "serve_waveform"
EXAMPLE_SIGNATURE = "serve_tf_example"

# Diagnostic outputs of every signature, beside the heads: per example, how many
# normalised feature values lie beyond the clip (+-clip_sigma training standard
# deviations; they were clipped before the model saw them) and the largest |z| before
# clipping. Far-out inputs (another microphone, sample rate or language) show up here.
OUT_OF_RANGE_OUTPUT = columns.OUT_OF_RANGE_COLUMN
MAX_ABS_Z_OUTPUT = columns.MAX_ABS_Z_COLUMN
DIAGNOSTIC_OUTPUTS = (OUT_OF_RANGE_OUTPUT, MAX_ABS_Z_OUTPUT)

WAVEFORM_INPUT = "waveform"
WAVEFORM_LENGTH_INPUT = "waveform_length"
EXAMPLES_INPUT = "examples"

# Longest input a signature accepts: 10 minutes. Longer requests are almost always a
# client bug (a whole recording, wrong sample rate, int16 samples read as frames) and
# would tie up a server for a long time. Featurize applies the same limit.
MAX_DURATION_S = audio_io.MAX_DURATION_S
# Waveforms are float in [-1, 1]; resampling may overshoot full scale a little, so the
# check is loose. It catches int16 samples sent without scaling by 1/32768.
MAX_ABS_SAMPLE = 2.0

# Registered feature sets computed by a tf.signal front-end of
# :mod:`tfser.features.spectrogram` from the waveform alone (the registry builds them
# with ``spectrogram.compute(kind, ...)``); a model reading only these gets a waveform
# signature. ``tests/export`` checks this table against the registry.
WAVEFORM_FRONTENDS: Dict[str, str] = {
    "logspec_001": spectrogram.LOG_POWER_001,
    "spec_004": spectrogram.SPECTROGRAM_004,
}

# Front-ends whose output has a fixed number of frames whatever the input length.
FIXED_LENGTH_FRONTENDS = (spectrogram.SPECTROGRAM_004,)


def frontend_settings(kind: str, sample_rate: int) -> Dict[str, Any]:
    """The framing of a spectrogram front-end, as recorded in ``features.json``."""
    settings = spectrogram.stft_settings(kind, sample_rate)
    out = {"kind": kind, "sample_rate": settings.sample_rate,
           "frame_length": settings.frame_length, "frame_step": settings.frame_step,
           "fft_length": settings.fft_length, "num_bins": settings.num_bins,
           "window": "periodic hamming", "fixed_length": kind in FIXED_LENGTH_FRONTENDS}
    if kind == spectrogram.SPECTROGRAM_004:
        out["segment_s"] = spectrogram.DEFAULT_SEGMENT_S
        out["segment_samples"] = spectrogram.segment_length(sample_rate)
    return out


def opensmile_recipe(feature: str) -> Optional[Dict[str, str]]:
    """How a client computes ``feature`` with the public ``opensmile`` package alone.

    ``{"feature_set", "feature_level"}`` (``opensmile.FeatureSet`` /
    ``opensmile.FeatureLevel`` member names) for a registered openSMILE set whose
    output is one whole openSMILE level; None otherwise (not openSMILE, or a column
    selection with deltas computed by tfser, such as ``emobase_lld``).
    """
    spec = opensmile_sets.FEATURE_SETS.get(feature)
    if spec is None or spec.columns is not None:
        return None
    return {"feature_set": spec.feature_set, "feature_level": spec.feature_level}


def serving_normalisation(feature: str, training_mode: str, fold_name: str,
                          stats: Optional[tuple], clip_sigma: float = 0.0) -> Dict[str, Any]:
    """How serving normalises one feature, in words and numbers.

    Args:
      feature: Feature-set name.
      training_mode: What the reader applied in training (``global``, ``per_speaker``
        or ``none``).
      fold_name: The fold whose training speakers gave the statistics.
      stats: ``(mean, std)`` of the fold's training speakers (None for ``none``).
      clip_sigma: Normalised values are clipped to +-this (0: no clipping).

    Returns:
      ``{"training", "serving", "statistics", "std_floor", "clip_sigma", "mean", "std",
      "note"}``.
      A per-speaker feature is served with the fold's global statistics: a request
      carries no speaker, and an unseen speaker has no statistics of its own.

    Raises:
      ValueError: An unknown mode, or a normalising mode without statistics.
    """
    norm.check_mode(training_mode, feature)
    if training_mode == "none":
        return {"training": "none", "serving": "none", "statistics": None,
                "std_floor": None, "clip_sigma": None, "mean": None, "std": None, "note": ""}
    if stats is None:
        raise ValueError(f"feature '{feature}' is normalised ({training_mode}) in training "
                         f"but fold '{fold_name}' has no global statistics")
    note = ""
    if training_mode == "per_speaker":
        note = ("trained with per-speaker statistics; a serving request has no speaker, "
                "so the fold's global training statistics are used instead (predictions "
                "can differ from those of the per-speaker evaluation)")
    return {"training": training_mode, "serving": "global",
            "statistics": f"fold '{fold_name}' training speakers (original examples)",
            "std_floor": norm.DEFAULT_STD_FLOOR, "clip_sigma": float(clip_sigma),
            "mean": [float(v) for v in stats[0]],
            "std": [float(v) for v in stats[1]], "note": note}


def tensor_entry(dtype: str, shape: List[Optional[int]], doc: str) -> Dict[str, Any]:
    """One input or output of a signature as recorded in ``features.json``."""
    return {"dtype": dtype, "shape": shape, "doc": doc}


def asset_path(export_dir: str, name: str) -> str:
    return os.path.join(os.fspath(export_dir), ASSETS_DIR, name)


def read_json_asset(export_dir: str, name: str) -> Dict[str, Any]:
    """Reads ``assets/<name>`` of an export.

    Raises:
      FileNotFoundError: The export has no such asset (not a tfser export).
      ValueError: The file is not valid JSON, or (features.json) not a tfser export.
    """
    path = asset_path(export_dir, name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found; is {export_dir} a SavedModel written "
                                "by tfser-export?")
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON: {error}") from None
    if name == FEATURES_ASSET and data.get("format") != FORMAT:
        raise ValueError(f"{path}: format {data.get('format')!r} is not {FORMAT!r}")
    if name == FEATURES_ASSET and int(data.get("version", 0)) > VERSION:
        raise ValueError(f"{path}: version {data.get('version')} is newer than this "
                         f"tfser reads ({VERSION})")
    return data


def read_features(export_dir: str) -> Dict[str, Any]:
    """The ``features.json`` of an export (see the module docstring)."""
    return read_json_asset(export_dir, FEATURES_ASSET)


def read_classes(export_dir: str) -> Dict[str, List[str]]:
    """The ``classes.json`` of an export: head -> names of its output units."""
    return read_json_asset(export_dir, CLASSES_ASSET)


def write_json(path: str, data: Mapping[str, Any]) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.write("\n")
    return path
