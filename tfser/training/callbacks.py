"""The Keras callbacks of a ``fit`` run: learning rate, history, resumable early stopping,
and the TensorBoard summaries of :mod:`~tfser.training.hparams` and
:mod:`~tfser.training.image_summaries` (:func:`build_summary_callbacks`).

:class:`~tfser.training.trainer.Trainer` assembles them with Keras' own
(BackupAndRestore, ModelCheckpoint, TensorBoard).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from tfser import data
from tfser import models
from tfser.training.config import OptimizerConfig
from tfser.training.hparams import ExperimentSummary
from tfser.training.image_summaries import (DEFAULT_ATTENTION_EXAMPLES, DEFAULT_MAX_BATCHES,
                                            VALIDATION_RUN, AttentionPlots,
                                            ConfusionMatrixImages, class_index_heads)
from tfser.training.run_dir import LOSS_WEIGHT_PREFIX, append_history
from tfser.training.task import EmotionTask


class LearningRateLogger(keras.callbacks.Callback):
    """Sets the epoch's rate from the schedule and adds ``learning_rate`` to the logs."""

    def __init__(self, config: OptimizerConfig):
        super().__init__()
        self.config = config

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(
            self.config.schedule.learning_rate(self.config.learning_rate, epoch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


def loss_weight_logs(model: keras.Model) -> Dict[str, float]:
    """``{"loss_weight/<head>": exp(-s_h)}`` of a model that learns its loss weights
    (``loss_weighting: uncertainty``), ``{"loss_weight/<head>/<attribute>": exp(-s_a)}``
    of a head that learns its attribute weights (``attribute_weights: learned``); empty
    for fixed weights."""
    layer = models.uncertainty_weights(model)
    if layer is None:
        return {}
    return {f"{LOSS_WEIGHT_PREFIX}{term}": float(keras.ops.convert_to_numpy(
        layer.weight_of(term))) for term in layer.heads}


class LossWeightLogger(keras.callbacks.Callback):
    """Adds the learned loss weights to each epoch's logs (history.json, TensorBoard)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(loss_weight_logs(self.model))


class HistoryWriter(keras.callbacks.Callback):
    """Appends each finished epoch's logs to ``history.json`` (kept across restarts;
    see :func:`tfser.training.run_dir.append_history`).

    Args:
      path: The run's ``history.json``.
    """

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        append_history(os.path.dirname(self.path), epoch, logs)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on a loss (lower is better) that counts the epochs of earlier runs.

    Args:
      previous: ``history.json`` entries of the epochs a killed run already finished;
        their ``monitor`` values set the best value and the epochs waited since, so a
        resumed run stops where the uninterrupted one would.
      **kwargs: Keras ``EarlyStopping`` arguments.
    """

    def __init__(self, previous: Sequence[Dict[str, Any]] = (), **kwargs):
        super().__init__(mode="min", **kwargs)
        self.previous = list(previous)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for entry in self.previous:
            value = entry.get(self.monitor)
            if value is None:
                continue
            if self.best is None or value < self.best - abs(self.min_delta):
                self.best, self.best_epoch, self.wait = value, int(entry["epoch"]), 0
            else:
                self.wait += 1


class OnModel(keras.callbacks.Callback):
    """Runs ``inner`` on a fixed model instead of the one being fitted.

    With precomputed trunk embeddings (``model.trunk.precompute``), ``fit`` trains only
    the heads half of the fused model; checkpoints must still hold the whole model
    and the summaries read the raw features, so those callbacks see the whole model
    (which shares the heads' layers and weights).

    Args:
      inner: The callback.
      model: The model it sees.
    """

    def __init__(self, inner: keras.callbacks.Callback, model: keras.Model):
        super().__init__()
        self.inner = inner
        inner.set_model(model)

    def set_model(self, model):
        """Keeps the pinned model (``fit`` passes the one it trains)."""

    def set_params(self, params):
        self.inner.set_params(params)


def _forward(hook: str):
    def forward(self, *args, **kwargs):
        return getattr(self.inner, hook)(*args, **kwargs)
    forward.__name__ = hook
    return forward


# Every hook Keras calls on a callback, forwarded to the inner one.
_HOOKS = tuple(f"on_{stage}_{edge}" for stage in ("train", "test", "predict", "epoch",
                                                  "train_batch", "test_batch",
                                                  "predict_batch")
               for edge in ("begin", "end"))
for _hook in _HOOKS:
    setattr(OnModel, _hook, _forward(_hook))


def build_summary_callbacks(task: EmotionTask, log_dir: str, confusion_every_n_epochs: int = 1,
                            confusion_max_batches: Optional[int] = DEFAULT_MAX_BATCHES,
                            attention_examples: int = DEFAULT_ATTENTION_EXAMPLES,
                            attention_every_n_epochs: int = 1,
                            history_path: Optional[str] = None,
                            precomputed: Optional[Tuple[tf.data.Dataset, keras.Model]] = None
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
      precomputed: ``(embedded dev data, whole model)`` when ``fit`` trains the heads
        half of a fused model on precomputed trunk embeddings
        (``model.trunk.precompute``): the confusion matrices then predict the
        embedded dev data with the fitted heads, and the attention plots run the raw
        dev data through the whole model.

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
            task.build_dataset("dev", cache=False) if precomputed is None else precomputed[0],
            heads, validation,
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
        plots = AttentionPlots(dataset, validation, num_examples=attention_examples,
                               head=main, class_names=heads.get(main, ()),
                               every_n_epochs=attention_every_n_epochs)
        callbacks.append(plots if precomputed is None else OnModel(plots, precomputed[1]))
    return callbacks
