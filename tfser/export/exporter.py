"""Run directory -> self-contained SavedModel for TF Serving (:func:`export_saved_model`).

Reads a training run (``params.yaml``, ``checkpoints/<best|last>.keras``) and the
featurized directory its ``data_dir`` names (``dataset_info.json``: feature specs,
label vocabularies, the fold's normalisation statistics, sample rate), builds the
:class:`~tfser.export.serving.ServingModule` and writes::

    <export_dir>/saved_model.pb, variables/, fingerprint.pb
    <export_dir>/assets/params.yaml, classes.json, features.json

TF Serving expects numbered version folders under a model's base path: export to
``<base>/1`` (then ``2``, ...) to serve from ``<base>``. An existing ``export_dir`` is
refused unless ``overwrite``; the new export is written beside it and swapped in, so
a failed export never leaves half a model behind.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import time
from typing import Any, Dict, List, Optional

import keras
import tensorflow as tf

from tfser.data import DatasetInfo
from tfser.evaluation import columns
from tfser.export import contract
from tfser.export.serving import ServedFeature, ServingModule
from tfser.features import example_codec as codec
from tfser.fileio import atomic
from tfser.fileio import stale
from tfser.training import EmotionTask, load_params
from tfser.training import run_dir
from tfser.training.config import PARAMS_FILE

_LOG = logging.getLogger("tfser.export")
def _served_features(task: EmotionTask, model: keras.Model) -> List[ServedFeature]:
    info, fold = task.info, task.config.fold
    model_inputs = set(model.input) if isinstance(model.input, dict) else set()
    details = info.raw.get("feature_details", {})
    features = []
    for name in task.feature_names:
        if name not in model_inputs:
            raise ValueError(f"the checkpoint's model has no input '{name}' (inputs: "
                             f"{sorted(model_inputs)}); does it belong to this run?")
        spec = info.feature_specs[name]
        mode = info.default_normalisation(name)
        stats = None if mode == "none" else info.global_stats(fold, name)
        frontend = None
        if details.get(name, {}).get("source", "audio") == "audio":
            frontend = contract.WAVEFORM_FRONTENDS.get(name)
        features.append(ServedFeature(
            name=name, dim=spec.dim, sequence=spec.sequence,
            frame_rate_hz=spec.frame_rate_hz, stats=stats, frontend=frontend,
            uses_length=codec.length_key(name) in model_inputs,
            clip_sigma=info.clip_sigma if stats is not None else 0.0))
    return features


def _head_entries(task: EmotionTask, model: keras.Model):
    """``(classes.json, outputs of features.json)`` from the label specs and heads."""
    metadata = task.info.raw.get("label_metadata", {})
    classes: Dict[str, List[str]] = {}
    outputs: Dict[str, Dict[str, Any]] = {}
    for head in task.model_config.heads:
        spec = task.info.label_specs[head.name]
        names = list(metadata.get(head.name, {}).get("classes") or spec.classes)
        shape = [None] + list(model.output[head.name].shape[1:])
        if len(names) != shape[-1]:
            raise ValueError(f"head '{head.name}': {len(names)} names in dataset_info.json "
                             f"for {shape[-1]} outputs")
        classes[head.name] = names
        entry = {"kind": spec.kind, "type": head.head_type, "shape": shape,
                 "sequence": spec.sequence}
        if spec.kind == "per_rater":
            # The rater ids the evaluation tables use (one per output row, always).
            entry["raters"] = list(columns.layout_from_spec(
                spec, metadata.get(head.name, {})).raters)
        outputs[head.name] = entry
    return classes, outputs


def _signature_entries(module: ServingModule, outputs: Dict[str, Dict[str, Any]],
                       sample_rate: int) -> Dict[str, Any]:
    out_entries = {head: contract.tensor_entry("float32", entry["shape"],
                                               f"{entry['kind']} head ({entry['type']})")
                   for head, entry in outputs.items()}
    out_entries[contract.OUT_OF_RANGE_OUTPUT] = contract.tensor_entry(
        "int32", [None], "normalised feature values beyond +-clip_sigma training standard "
                         "deviations (clipped before the model)")
    out_entries[contract.MAX_ABS_Z_OUTPUT] = contract.tensor_entry(
        "float32", [None], "largest |normalised value| before clipping")
    features_inputs = {}
    for feature in module.features:
        if feature.sequence:
            features_inputs[feature.name] = contract.tensor_entry(
                "float32", feature.input_shape,
                "raw (unnormalised) frames, zero-padded to the longest example")
            if feature.uses_length:
                features_inputs[feature.length_name] = contract.tensor_entry(
                    "int32", [None], f"true frame count of each '{feature.name}'")
        else:
            features_inputs[feature.name] = contract.tensor_entry(
                "float32", feature.input_shape, "raw (unnormalised) values")
    signatures = {
        contract.FEATURES_SIGNATURE: {"inputs": features_inputs, "outputs": out_entries},
        contract.EXAMPLE_SIGNATURE: {
            "inputs": {contract.EXAMPLES_INPUT: contract.tensor_entry(
                "string", [None], "serialized tf.train.Example written by tfser-featurize "
                                  "(only the feature keys are read)")},
            "outputs": out_entries},
    }
    if module.has_waveform_signature:
        signatures[contract.WAVEFORM_SIGNATURE] = {
            "inputs": {
                contract.WAVEFORM_INPUT: contract.tensor_entry(
                    "float32", [None, None],
                    f"mono samples in [-1, 1] at {sample_rate} Hz, zero-padded at the end"),
                contract.WAVEFORM_LENGTH_INPUT: contract.tensor_entry(
                    "int32", [None], "true sample count of each waveform")},
            "outputs": out_entries}
    return signatures


def build_features_asset(task: EmotionTask, module: ServingModule, model_dir: str,
                         checkpoint: str, outputs: Dict[str, Dict[str, Any]]
                         ) -> Dict[str, Any]:
    """The content of ``assets/features.json`` (see :mod:`tfser.export.contract`)."""
    info: DatasetInfo = task.info
    config = info.raw.get("config", {})
    sample_rate = int(config.get("sample_rate", 16000))
    fold_name = info.fold_name(task.config.fold)
    details = info.raw.get("feature_details", {})
    features = []
    for feature in module.features:
        entry = {"name": feature.name, "dim": feature.dim, "sequence": feature.sequence,
                 "frame_rate_hz": feature.frame_rate_hz,
                 "description": details.get(feature.name, {}).get("description", ""),
                 "source": details.get(feature.name, {}).get("source", "audio"),
                 "extractor": feature.name,
                 "opensmile": contract.opensmile_recipe(feature.name),
                 "length_input": feature.length_name if feature.uses_length else None,
                 "normalisation": contract.serving_normalisation(
                     feature.name, info.default_normalisation(feature.name), fold_name,
                     feature.stats, feature.clip_sigma),
                 "frontend": (contract.frontend_settings(feature.frontend, sample_rate)
                              if feature.frontend else None)}
        features.append(entry)
    return {
        "format": contract.FORMAT, "version": contract.VERSION,
        "experiment": task.config.name, "model_dir": os.path.abspath(model_dir),
        "checkpoint": checkpoint, "data_dir": info.data_dir,
        "fold": {"index": task.config.fold if isinstance(task.config.fold, int) else
                 info.fold_names.index(fold_name), "name": fold_name},
        "sample_rate": sample_rate,
        "min_duration_s": float(config.get("min_duration_s", 0.0)),
        "max_duration_s": contract.MAX_DURATION_S,
        "features": features,
        "waveform_signature": module.has_waveform_signature,
        "signatures": _signature_entries(module, outputs, sample_rate),
        "outputs": outputs,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _check_target(export_dir: str, overwrite: bool) -> None:
    if os.path.exists(export_dir) and not overwrite:
        raise FileExistsError(f"{export_dir} exists; pass overwrite=True (--overwrite) to "
                              "replace it")
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise FileExistsError(f"{export_dir} exists and is not a directory")


def _swap_in(staged: str, export_dir: str) -> None:
    """Moves the staged export into place, replacing an old one only at the end."""
    old = None
    if os.path.exists(export_dir):
        old = f"{export_dir}.old-{os.getpid()}"
        os.replace(export_dir, old)
    os.replace(staged, export_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def export_saved_model(model_dir: str, export_dir: str, checkpoint: str = "best",
                       overwrite: bool = False, data_dir: Optional[str] = None) -> str:
    """Writes the SavedModel of a training run (see the module docstring).

    Args:
      model_dir: Run directory of tfser-train.
      export_dir: Output directory (the SavedModel itself).
      checkpoint: ``best`` (lowest validation loss) or ``last``.
      overwrite: Replace an existing ``export_dir``.
      data_dir: Featurized directory, when the run's recorded one has moved.

    Returns:
      ``export_dir``.

    Raises:
      FileExistsError: ``export_dir`` exists and ``overwrite`` is False.
      FileNotFoundError: No params.yaml, checkpoint or featurized directory.
      ValueError: A checkpoint that does not match the run's features or heads.
    """
    model_dir, export_dir = os.fspath(model_dir), os.path.abspath(os.fspath(export_dir))
    _check_target(export_dir, overwrite)
    params_path = os.path.join(model_dir, PARAMS_FILE)
    if not os.path.exists(params_path):
        raise FileNotFoundError(f"{params_path} not found; is {model_dir} a tfser-train run "
                                "directory?")
    config = load_params(model_dir)
    weights = run_dir.checkpoint_path(model_dir, checkpoint)
    config = dataclasses.replace(
        config, data_dir=run_dir.resolve_data_dir(model_dir, config.data_dir, data_dir))
    task = EmotionTask(config)
    _LOG.info("exporting %s (%s, fold %s) from %s", config.name, checkpoint, config.fold,
              weights)
    model = keras.saving.load_model(weights, compile=False)
    missing = sorted(set(task.head_names) - set(model.output))
    taken = sorted(set(task.head_names) & set(contract.DIAGNOSTIC_OUTPUTS))
    if taken:
        raise ValueError(f"head names {taken} are reserved for the export's diagnostic "
                         "outputs; rename the heads")
    if missing:
        raise ValueError(f"{weights}: the model has no outputs {missing} (outputs: "
                         f"{sorted(model.output)})")
    module = ServingModule(model, _served_features(task, model),
                           int(task.info.raw.get("config", {}).get("sample_rate", 16000)))
    classes, outputs = _head_entries(task, model)
    features_asset = build_features_asset(task, module, model_dir, checkpoint, outputs)

    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    # <export>.tmp-<pid>, so that a later export can tell a killed export's leftover
    # from a live one's (TF Serving ignores it: not a numbered version folder).
    stale.remove_stale_temps(export_dir, _LOG)
    staged = atomic.temp_sibling(export_dir)
    os.makedirs(staged)
    try:
        with tempfile.TemporaryDirectory() as assets_src:
            shutil.copyfile(params_path, os.path.join(assets_src, contract.PARAMS_ASSET))
            contract.write_json(os.path.join(assets_src, contract.CLASSES_ASSET), classes)
            contract.write_json(os.path.join(assets_src, contract.FEATURES_ASSET),
                                features_asset)
            # Tracked assets are copied into <export>/assets/ and listed in the graph.
            module.assets = [tf.saved_model.Asset(os.path.join(assets_src, name)) for name in
                             (contract.PARAMS_ASSET, contract.CLASSES_ASSET,
                              contract.FEATURES_ASSET)]
            signatures = module.signatures()
            tf.saved_model.save(module, staged, signatures=signatures)
        _swap_in(staged, export_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _LOG.info("wrote %s: signatures %s", export_dir, sorted(signatures))
    return export_dir
