"""TensorBoard images of a run: dev confusion matrices and attention plots per epoch.

Keras' own ``TensorBoard`` callback logs losses, metrics and the learning rate; the
callbacks here add, in the run's ``logs/validation``::

    confusion/<head>  image per epoch, every class-index head (:class:`ConfusionMatrixImages`)
    attention/<i>     image per epoch, attention trunks only (:class:`AttentionPlots`)

The figures come from :mod:`tfser.training.figures` (the confusion matrix is counted and
drawn by :mod:`tfser.metrics`, as in the evaluation reports).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from tfser import data
from tfser import models
from tfser.training.figures import (attention_figure, confusion_counts, confusion_figure,
                                    figure_to_image, row_normalise)
from tfser.training.task import EmotionTask

_LOG = logging.getLogger("tfser.training")

CONFUSION_TAG = "confusion/{head}"
ATTENTION_TAG = "attention/{index}"
VALIDATION_RUN = "validation"

# Dev batches predicted per epoch for the confusion matrices (a cap for big dev sets).
DEFAULT_MAX_BATCHES = 100
DEFAULT_ATTENTION_EXAMPLES = 4


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
