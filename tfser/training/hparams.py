"""The config text and HParams of a run: what TensorBoard's Text and HParams dashboards show.

:class:`ExperimentSummary` writes, in the run's ``logs`` directory, the resolved config
(text, tag ``config``: what params.yaml holds), an HParams session start with the
flattened hyper-parameters (:func:`flatten_hparams`) and, at the end, ``hparams/*``
scalars (:func:`best_epoch_metrics`: the best val_loss and the main head's metrics at
that epoch) that the HParams dashboard shows as metric columns.

Why no experiment-level ``hparams_config`` is written: the HParams plugin reads the
first such summary it finds among all runs under the TensorBoard log directory, so
runs with different trunks would hide each other's hyper-parameters. Without it, the
plugin takes the union of the runs' session starts and lists every scalar tag of a
run (``hparams/*`` here, ``epoch_*`` under ``train`` and ``validation``) as metrics.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from tfser.training.config import ExperimentConfig

HParamValue = Union[bool, int, float, str]

CONFIG_TAG = "config"
HPARAMS_METRIC_PREFIX = "hparams/"


def config_markdown(config: ExperimentConfig) -> str:
    """The resolved config as a Markdown YAML code block (what params.yaml holds)."""
    return f"**{config.name}**\n\n```yaml\n{config.to_yaml()}```\n"


def _hparam_value(value: Any) -> Optional[HParamValue]:
    """A value the HParams plugin accepts: bool/int/float/str; lists become compact JSON."""
    if value is None:
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return json.dumps(_plain(value), separators=(",", ":"), sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _flatten(prefix: str, value: Any, out: Dict[str, HParamValue]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
        return
    converted = _hparam_value(value)
    if converted is not None:
        out[prefix] = converted


def flatten_hparams(config: ExperimentConfig, feature_names: Sequence[str] = (),
                    fold_name: Optional[str] = None) -> Dict[str, HParamValue]:
    """The interesting scalars of a resolved experiment, flattened for the HParams plugin.

    Keys are dotted config paths (``optimizer.learning_rate``, ``model.trunk.lstm_units``,
    ``model.head.emotion.loss_weight``, ...); list values (layer sizes, kernels) become
    compact JSON strings and the fold a string, so every key keeps one type across
    runs.

    Args:
      config: The resolved experiment.
      feature_names: The features the model reads (default: the config's, or "all").
      fold_name: The fold's name in the split (recorded beside its index).

    Returns:
      ``{name: bool | int | float | str}``.
    """
    optimizer = config.optimizer
    out: Dict[str, HParamValue] = {
        "experiment": config.name,
        "fold": str(config.fold),
        "seed": int(config.seed),
        "batch_size": int(config.batch_size),
        "epochs": int(config.epochs),
        "max_steps_per_epoch": int(config.max_steps_per_epoch),
        "smoke": bool(config.smoke),
        "shuffle": bool(config.shuffle),
        "features": ",".join(feature_names or config.features) or "all",
        "optimizer.name": optimizer.name,
        "optimizer.learning_rate": float(optimizer.learning_rate),
        "optimizer.weight_decay": float(optimizer.weight_decay),
        "optimizer.momentum": float(optimizer.momentum),
        "optimizer.schedule": optimizer.schedule.type,
        "early_stopping.patience": int(config.early_stopping.patience),
    }
    if fold_name is not None:
        out["fold_name"] = str(fold_name)
    if optimizer.schedule.type != "none":
        out["optimizer.schedule.every_epochs"] = int(optimizer.schedule.every_epochs)
        out["optimizer.schedule.factor"] = float(optimizer.schedule.factor)
    trunk = config.model["trunk"]
    if "type" in trunk:
        out["model.trunk"] = str(trunk["type"])
        _flatten("model.trunk", dict(trunk.get("params") or {}), out)
    else:  # restored from earlier runs (two-stage training)
        sources = [trunk["init_from"]] if trunk.get("init_from") else list(trunk["fuse"])
        out["model.trunk"] = "restored: " + ", ".join(str(s) for s in sources)
        out["model.trunk.freeze"] = bool(trunk.get("freeze", True))
        out["model.trunk.precompute"] = bool(trunk.get("precompute", False))
    heads = config.model["heads"]
    out["model.heads"] = ",".join(head["name"] for head in heads)
    for head in heads:
        prefix = f"model.head.{head['name']}"
        out[f"{prefix}.loss_weight"] = float(head.get("loss_weight", 1.0))
        for key in ("loss", "hidden", "dropout"):
            if key in head:
                _flatten(f"{prefix}.{key}", head[key], out)
        out[f"{prefix}.class_weighting"] = bool(config.class_weighting.get(head["name"],
                                                                            False))
    return out


def best_epoch_metrics(epochs: Sequence[Mapping[str, float]], main_head: Optional[str],
                       single_head: bool = False) -> Dict[str, float]:
    """The HParams metrics of a run: best val_loss, its epoch, the main head's val metrics.

    Args:
      epochs: One logs dict per epoch, each with an ``epoch`` entry (``history.json``).
      main_head: Head whose ``val_<head>_*`` values at the best epoch are reported.
      single_head: The model has only ``main_head``; Keras then names its metrics
        without the head (``val_ua``), and they are renamed ``val_<head>_ua`` (its
        loss ``val_<head>_loss``) so that single- and multi-task runs line up.

    Returns:
      ``{"best_val_loss", "best_epoch", "val_<head>_<metric>"...}``; empty when no
      epoch has a finite ``val_loss``.
    """
    scored = [e for e in epochs if "val_loss" in e and math.isfinite(float(e["val_loss"]))]
    if not scored:
        return {}
    best = min(scored, key=lambda entry: float(entry["val_loss"]))
    metrics = {"best_val_loss": float(best["val_loss"]), "best_epoch": float(best["epoch"])}
    if not main_head:
        return metrics
    prefix = f"val_{main_head}_"
    for key, value in sorted(best.items()):
        if key.startswith(prefix):
            metrics[key] = float(value)
        elif single_head and key.startswith("val_"):
            metrics[prefix + key[len("val_"):]] = float(value)
    return metrics


class ExperimentSummary(keras.callbacks.Callback):
    """Writes the config text and the HParams session of a run, then its metrics.

    At the start of training: the resolved config as Markdown text (tag ``config``) and
    the flattened hyper-parameters (:func:`flatten_hparams`) as an HParams session
    start. At the end: :func:`best_epoch_metrics` as scalars ``hparams/<name>``, over
    all epochs of the run (read from ``history_path`` when given, so that a resumed
    run reports its earlier epochs too).

    Args:
      config: The resolved experiment.
      log_dir: The run's ``logs`` directory (the HParams session directory).
      feature_names: Features the model reads (recorded as an hparam).
      fold_name: The fold's name (recorded beside its index).
      main_head: Head whose validation metrics are reported (default: the first).
      history_path: The run's ``history.json`` (optional).
    """

    def __init__(self, config: ExperimentConfig, log_dir: str,
                 feature_names: Sequence[str] = (), fold_name: Optional[str] = None,
                 main_head: Optional[str] = None, history_path: Optional[str] = None):
        super().__init__()
        self.config = config
        self.log_dir = log_dir
        self.hparams = flatten_hparams(config, feature_names, fold_name)
        self.main_head = main_head or (config.head_names[0] if config.head_names else None)
        self.history_path = history_path
        self.metrics: Dict[str, float] = {}
        self._epochs: Dict[int, Dict[str, float]] = {}
        self._writer = None

    def on_train_begin(self, logs=None):
        self._epochs = {}
        os.makedirs(self.log_dir, exist_ok=True)
        self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            tf.summary.text(CONFIG_TAG, config_markdown(self.config), step=0)
            hparams_api.hparams(self.hparams)
        self._writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        self._epochs[int(epoch)] = {"epoch": int(epoch),
                                    **{key: float(value) for key, value in (logs or {}).items()
                                       if np.ndim(value) == 0}}

    def _all_epochs(self) -> List[Dict[str, float]]:
        epochs: Dict[int, Dict[str, float]] = {}
        if self.history_path and os.path.exists(self.history_path):
            with open(self.history_path, encoding="utf-8") as handle:
                epochs.update({int(entry["epoch"]): entry for entry in json.load(handle)})
        epochs.update(self._epochs)
        return [epochs[key] for key in sorted(epochs)]

    def on_train_end(self, logs=None):
        if self._writer is None:
            return
        epochs = self._all_epochs()
        self.metrics = best_epoch_metrics(epochs, self.main_head,
                                          single_head=len(self.config.head_names) == 1)
        if self.metrics:
            step = int(epochs[-1]["epoch"])
            with self._writer.as_default():
                for name, value in self.metrics.items():
                    tf.summary.scalar(HPARAMS_METRIC_PREFIX + name, value, step=step)
        self._writer.close()
        self._writer = None
