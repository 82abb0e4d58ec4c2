"""TensorBoard summaries beyond Keras' scalars: confusion matrices, attention, config, HParams.

Keras' own ``TensorBoard`` callback logs losses, metrics and the learning rate. The
callbacks here add, in the same ``logs`` directory of a run::

    logs/             config (text: the resolved params.yaml), HParams session start,
                      hparams/* scalars (best val_loss and the main head's metrics at
                      that epoch) that the HParams dashboard shows as metric columns
    logs/validation   confusion/<head> (image per epoch, every class-index head),
                      attention/<i>   (image per epoch, attention trunks only)

Build them for an :class:`~tfser.training.task.EmotionTask` with
:func:`build_summary_callbacks` (the :class:`~tfser.training.trainer.Trainer` does).
The pieces they draw with (:func:`confusion_counts`, :func:`confusion_figure`,
:func:`attention_figure`, :func:`figure_to_image`, :func:`flatten_hparams`) are plain
functions usable on their own.

Figures are drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas, so no
GUI backend is needed and pyplot's global state is never touched. This module belongs
to the training stage and computes its confusion matrices itself (numpy); the report
figures of :mod:`tfser.evaluation` are a separate, downstream stage.

Why no experiment-level ``hparams_config`` is written: the HParams plugin reads the
first such summary it finds among all runs under the TensorBoard log directory, so
runs with different trunks would hide each other's hyper-parameters. Without it, the
plugin takes the union of the runs' session starts and lists every scalar tag of a
run (``hparams/*`` here, ``epoch_*`` under ``train`` and ``validation``) as metrics.
"""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from tensorboard.plugins.hparams import api as hparams_api

from tfser import data
from tfser import models
from tfser.training.config import ExperimentConfig
from tfser.training.figures import (  # noqa: F401  (re-exported)
    ATTENTION_FIGSIZE, CONFUSION_FIGSIZE, FIGURE_DPI, attention_figure, confusion_counts,
    confusion_figure, figure_to_image, row_normalise)
from tfser.training.task import EmotionTask

_LOG = logging.getLogger("tfser.training")

HParamValue = Union[bool, int, float, str]

CONFIG_TAG = "config"
CONFUSION_TAG = "confusion/{head}"
ATTENTION_TAG = "attention/{index}"
HPARAMS_METRIC_PREFIX = "hparams/"
VALIDATION_RUN = "validation"

# Dev batches predicted per epoch for the confusion matrices (a cap for big dev sets).
DEFAULT_MAX_BATCHES = 100
DEFAULT_ATTENTION_EXAMPLES = 4
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
    out["model.trunk"] = str(trunk["type"])
    _flatten("model.trunk", dict(trunk.get("params") or {}), out)
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


def class_index_heads(task: EmotionTask) -> Dict[str, Tuple[str, ...]]:
    """Head -> class names, for the categorical heads trained on class indices."""
    heads = {}
    for head in task.model_config.heads:
        spec = task.info.label_specs[head.name]
        if head.head_type == "categorical" and spec.kind == "hard" and not spec.shape \
                and not spec.sequence:
            names = tuple(head.classes or spec.classes) or tuple(
                str(index) for index in range(head.units))
            heads[head.name] = names
    return heads


def _model_inputs(model: keras.Model, features: Mapping[str, Any]) -> Dict[str, Any]:
    """The entries of a features dict that ``model`` takes (the reader yields more)."""
    if isinstance(model.input, dict):
        missing = [key for key in model.input if key not in features]
        if missing:
            raise ValueError(f"model '{model.name}' needs inputs {missing} that the dev "
                             f"data does not have; it has {sorted(features)}")
        return {key: features[key] for key in model.input}
    return features


def _predictor(model: keras.Model):
    """``inputs -> outputs`` of ``model`` in inference mode, traced once.

    The signature leaves batch and time axes open (the shapes of ``model.input``), so
    dev batches of any size or length reuse one graph instead of retracing.
    """
    if not isinstance(model.input, dict):
        return model.predict_on_batch
    signature = [{key: tf.TensorSpec(tensor.shape, tensor.dtype)
                  for key, tensor in model.input.items()}]

    @tf.function(input_signature=signature)
    def predict(inputs):
        return model(inputs, training=False)

    return predict


def _writer(log_dir: str):
    os.makedirs(log_dir, exist_ok=True)
    return tf.summary.create_file_writer(log_dir)


def _write_image(writer, tag: str, figure: Figure, step: int) -> None:
    image = figure_to_image(figure)
    with writer.as_default():
        tf.summary.image(tag, image[np.newaxis], step=step, max_outputs=1)
    writer.flush()


def _due(epoch: int, every_n_epochs: int) -> bool:
    return every_n_epochs > 0 and (epoch + 1) % every_n_epochs == 0


# -- callbacks -------------------------------------------------------------------------
class ConfusionMatrixImages(keras.callbacks.Callback):
    """Logs one confusion-matrix image per class-index head at the end of epochs.

    The dev data is predicted batch by batch (at most ``max_batches``); only examples
    labelled for a head (sample weight > 0) count towards its matrix.

    Args:
      dataset: Unshuffled ``(features, targets, sample_weights[, meta])`` batches.
      class_names: Head -> class names; one image per head, tag ``confusion/<head>``.
      log_dir: Directory of the event file (the run's ``logs/validation``).
      every_n_epochs: Frequency (1 = every epoch, 0 = never).
      max_batches: Cap on predicted batches per epoch (None = the whole dataset).
    """

    def __init__(self, dataset: tf.data.Dataset, class_names: Mapping[str, Sequence[str]],
                 log_dir: str, every_n_epochs: int = 1,
                 max_batches: Optional[int] = DEFAULT_MAX_BATCHES):
        super().__init__()
        if every_n_epochs < 0:
            raise ValueError(f"every_n_epochs must be >= 0, got {every_n_epochs}")
        self.dataset = dataset if max_batches is None else dataset.take(max_batches)
        self.class_names = {head: tuple(names) for head, names in class_names.items()}
        self.log_dir = log_dir
        self.every_n_epochs = int(every_n_epochs)
        self._writer = None
        self._predict = None
        self.last_counts: Dict[str, np.ndarray] = {}

    def on_train_begin(self, logs=None):
        if self.class_names and self.every_n_epochs:
            self._writer = _writer(self.log_dir)
            self._predict = _predictor(self.model)

    def compute_counts(self) -> Dict[str, np.ndarray]:
        """Predicts the (capped) dev data: head -> ``[K, K]`` counts of labelled examples."""
        counts = {head: np.zeros((len(names), len(names)), np.int64)
                  for head, names in self.class_names.items()}
        if self._predict is None:
            self._predict = _predictor(self.model)
        for element in self.dataset:
            features, targets, weights = element[:3]
            outputs = self._predict(_model_inputs(self.model, features))
            for head, names in self.class_names.items():
                if head not in outputs:
                    raise ValueError(f"confusion matrix: the model has no output '{head}'; "
                                     f"outputs: {sorted(outputs)}")
                predicted = np.argmax(np.asarray(outputs[head]), axis=-1)
                try:
                    counts[head] += confusion_counts(targets[head].numpy(), predicted,
                                                     len(names), weights[head].numpy())
                except ValueError as error:
                    raise ValueError(f"confusion matrix of head '{head}' ({len(names)} "
                                     f"classes): {error}") from None
        return counts

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None or not _due(epoch, self.every_n_epochs):
            return
        self.last_counts = self.compute_counts()
        for head, counts in self.last_counts.items():
            total = int(counts.sum())
            recall = row_normalise(counts).diagonal()[counts.sum(axis=1) > 0]
            unweighted = float(recall.mean()) if recall.size else float("nan")
            title = (f"{head}, epoch {epoch + 1}: {total} labelled dev examples, "
                     f"UA {unweighted:.3f}")
            _write_image(self._writer, CONFUSION_TAG.format(head=head),
                         confusion_figure(counts, self.class_names[head], title), epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class AttentionPlots(keras.callbacks.Callback):
    """Logs the attention weights of a few fixed dev examples as images per epoch.

    At the start of training the first ``num_examples`` examples of the (unshuffled)
    dataset are kept; each epoch their attention weights are plotted under their first
    sequence input, titled with the utterance id and the true and predicted class of
    ``head``. Models without an
    :class:`~tfser.models.layers.AttentionPooling` layer are skipped without error
    (:attr:`enabled` is then False).

    Args:
      dataset: Unshuffled ``(features, targets, sample_weights[, meta])`` batches (with
        meta, titles name the utterance).
      log_dir: Directory of the event file (the run's ``logs/validation``).
      num_examples: How many examples (tags ``attention/0`` .. ``attention/<n-1>``).
      head: Class-index head for the true / predicted class in the titles (optional).
      class_names: That head's class names.
      every_n_epochs: Frequency (1 = every epoch).
    """

    def __init__(self, dataset: tf.data.Dataset, log_dir: str,
                 num_examples: int = DEFAULT_ATTENTION_EXAMPLES, head: Optional[str] = None,
                 class_names: Sequence[str] = (), every_n_epochs: int = 1):
        super().__init__()
        if num_examples < 0 or every_n_epochs < 0:
            raise ValueError("num_examples and every_n_epochs must be >= 0")
        self.dataset = dataset
        self.log_dir = log_dir
        self.num_examples = int(num_examples)
        self.head = head
        self.class_names = tuple(class_names)
        self.every_n_epochs = int(every_n_epochs)
        self.enabled = False
        self._attention: Optional[keras.Model] = None
        self._predict_attention = None
        self._predict = None
        self._examples: List[Dict[str, Any]] = []
        self._writer = None

    def on_train_begin(self, logs=None):
        self.enabled = False
        if not self.num_examples or not self.every_n_epochs:
            return
        try:
            self._attention = models.attention_model(self.model)
        except ValueError:
            _LOG.info("attention plots skipped: model '%s' has no attention pooling",
                      self.model.name)
            return
        if not self._examples:
            self._examples = self._collect()
        if not self._examples:
            _LOG.warning("attention plots skipped: the dev data has no examples")
            return
        self._predict_attention = _predictor(self._attention)
        self._predict = _predictor(self.model)
        self.enabled = True
        self._writer = _writer(self.log_dir)

    def _collect(self) -> List[Dict[str, Any]]:
        """The first examples, each as unpadded batch-of-one inputs plus its labels."""
        examples: List[Dict[str, Any]] = []
        for element in self.dataset:
            features, targets, weights = element[:3]
            meta = element[3] if len(element) > 3 else {}
            size = int(next(iter(features.values())).shape[0])
            for row in range(size):
                if len(examples) == self.num_examples:
                    return examples
                examples.append(self._example(features, targets, weights, meta, row))
        return examples

    def _example(self, features, targets, weights, meta, row) -> Dict[str, Any]:
        inputs, frames = {}, None
        for key, value in features.items():
            value = value.numpy()[row:row + 1]
            length_name = data.length_key(key)
            if length_name in features:  # a sequence feature: cut its padding off
                length = int(features[length_name].numpy()[row])
                value = value[:, :length]
                if frames is None:
                    frames = value[0]
            inputs[key] = value
        example = {"inputs": inputs, "frames": frames, "utt_id": "", "label": None}
        if "utt_id" in meta:
            utt_id = meta["utt_id"].numpy()[row]
            example["utt_id"] = utt_id.decode() if isinstance(utt_id, bytes) else str(utt_id)
        if self.head and self.head in targets and float(weights[self.head].numpy()[row]) > 0:
            example["label"] = int(targets[self.head].numpy()[row])
        return example

    def _class_name(self, index: Optional[int]) -> str:
        if index is None:
            return "unlabelled"
        return self.class_names[index] if index < len(self.class_names) else str(index)

    def on_epoch_end(self, epoch, logs=None):
        if not self.enabled or not _due(epoch, self.every_n_epochs):
            return
        for index, example in enumerate(self._examples):
            inputs = example["inputs"]
            weights = np.asarray(self._predict_attention(
                _model_inputs(self._attention, inputs)))[0]
            parts = [example["utt_id"] or f"dev example {index}"]
            if self.head:
                outputs = self._predict(_model_inputs(self.model, inputs))
                probabilities = np.asarray(outputs[self.head])[0]
                predicted = int(np.argmax(probabilities))
                parts.append(f"true {self._class_name(example['label'])}, predicted "
                             f"{self._class_name(predicted)} "
                             f"(p={probabilities[predicted]:.2f})")
            title = f"{', '.join(parts)}; epoch {epoch + 1}"
            _write_image(self._writer, ATTENTION_TAG.format(index=index),
                         attention_figure(weights, example["frames"], title), epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


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
        self._writer = _writer(self.log_dir)
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


def build_summary_callbacks(task: EmotionTask, log_dir: str, confusion_every_n_epochs: int = 1,
                            confusion_max_batches: Optional[int] = DEFAULT_MAX_BATCHES,
                            attention_examples: int = DEFAULT_ATTENTION_EXAMPLES,
                            attention_every_n_epochs: int = 1,
                            history_path: Optional[str] = None
                            ) -> List[keras.callbacks.Callback]:
    """The summary callbacks of a task's run, writing under ``log_dir`` (``<run>/logs``).

    Args:
      task: The task (its dev data, heads and config).
      log_dir: The run's TensorBoard directory (the one Keras' callback writes to).
      confusion_every_n_epochs: Confusion-matrix frequency (0 = off).
      confusion_max_batches: Cap on dev batches predicted for them (None = all).
      attention_examples: Dev examples plotted for attention trunks (0 = off).
      attention_every_n_epochs: Attention-plot frequency (0 = off).
      history_path: The run's ``history.json`` (metrics of resumed runs).

    Returns:
      ``[ExperimentSummary, ConfusionMatrixImages, AttentionPlots]``, the last two only
      when they have something to draw (class-index heads; examples requested).
    """
    config = task.config
    validation = os.path.join(log_dir, VALIDATION_RUN)
    heads = class_index_heads(task)
    callbacks: List[keras.callbacks.Callback] = [ExperimentSummary(
        config, log_dir, feature_names=task.feature_names,
        fold_name=task.info.fold_name(config.fold), history_path=history_path)]
    if heads and confusion_every_n_epochs:
        callbacks.append(ConfusionMatrixImages(
            # Not cached: at most max_batches are read, and fit keeps its own dev copy.
            task.build_dataset("dev", cache=False), heads, validation,
            every_n_epochs=confusion_every_n_epochs, max_batches=confusion_max_batches))
    if attention_examples and attention_every_n_epochs:
        # Its own small read of the dev data, with meta for the utterance ids; no more
        # than the examples' batches are ever read.
        batch_size = max(1, min(config.batch_size, attention_examples))
        dataset = data.build_dataset(task.info, config.fold, "dev",
                                     features=task.feature_names, heads=task.head_names,
                                     batch_size=batch_size, shuffle=False,
                                     deterministic=True, return_meta=True, cache=False)
        main = next(iter(heads), None)
        callbacks.append(AttentionPlots(dataset, validation, num_examples=attention_examples,
                                        head=main, class_names=heads.get(main, ()),
                                        every_n_epochs=attention_every_n_epochs))
    return callbacks
