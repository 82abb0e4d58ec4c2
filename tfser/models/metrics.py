"""Streaming Keras metrics for training-time monitoring, chosen per head type.

These accumulate over a whole epoch (not a mean of per-batch values), which matters
for UA and CCC. Pass them as ``weighted_metrics`` so that masked examples (sample
weight 0) are left out; :func:`tfser.models.factory.compile_kwargs` does. Final
numbers for reports come from :mod:`tfser.evaluation` on the written predictions.

Traps avoided here: soft or secondary targets are binarised (or argmax-ed) before
counting, since ``keras.metrics.F1Score`` / ``AUC`` give 0 on soft targets; and CCC
reduces explicitly over every axis but the attribute axis (the built-in
``ConcordanceCorrelation`` returned 0 on a ``(B, 1)`` head with its default axis).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

import keras
from keras import ops

from tfser.models.config import HeadConfig
from tfser.models.losses import broadcast_weights

# Sums of the CCC moments drift in float32 over a long epoch.
_ACCUMULATOR_DTYPE = "float64"


def _flat_classes(y_true, y_pred):
    """True and predicted class indices with all leading axes flattened.

    ``y_true`` is either class indices (one axis fewer than ``y_pred``) or a target
    distribution / one-hot of ``y_pred``'s shape, whose argmax is the class.
    """
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] != 1:
        y_true = ops.argmax(y_true, axis=-1)
    elif len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, -1)
    predicted = ops.argmax(y_pred, axis=-1)
    return (ops.reshape(ops.cast(y_true, "int32"), (-1,)),
            ops.reshape(ops.cast(predicted, "int32"), (-1,)))


class _ConfusionMetric(keras.metrics.Metric):
    """Accumulates a weighted ``[K, K]`` confusion matrix (rows = true class)."""

    def __init__(self, num_classes: int, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if num_classes < 1:
            raise ValueError("num_classes must be positive")
        self.num_classes = int(num_classes)
        self.confusion = self.add_variable(shape=(self.num_classes, self.num_classes),
                                           initializer="zeros", name="confusion",
                                           dtype=_ACCUMULATOR_DTYPE)

    def update_state(self, y_true, y_pred, sample_weight=None):
        true, predicted = _flat_classes(y_true, y_pred)
        # One weight per classified element: the leading axes of y_pred.
        elements = ops.cast(ops.argmax(ops.convert_to_tensor(y_pred), axis=-1),
                            _ACCUMULATOR_DTYPE)
        weights = ops.reshape(broadcast_weights(
            None if sample_weight is None else ops.cast(sample_weight, _ACCUMULATOR_DTYPE),
            elements), (-1,))
        true_onehot = ops.one_hot(true, self.num_classes, dtype=_ACCUMULATOR_DTYPE)
        predicted_onehot = ops.one_hot(predicted, self.num_classes,
                                       dtype=_ACCUMULATOR_DTYPE)
        update = ops.matmul(ops.transpose(true_onehot * ops.expand_dims(weights, -1)),
                            predicted_onehot)
        self.confusion.assign(self.confusion + update)

    def per_class_recall(self):
        """Recall of each class (0 for a class without examples)."""
        support = ops.sum(self.confusion, axis=1)
        return ops.divide_no_nan(ops.diagonal(self.confusion), support)

    def reset_state(self):
        self.confusion.assign(ops.zeros_like(self.confusion))

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes})
        return config


@keras.saving.register_keras_serializable(package="tfser")
class UnweightedAccuracy(_ConfusionMetric):
    """UA / UAR: mean per-class recall over the classes present so far.

    Targets may be class indices or distributions (their argmax is the class);
    per-rater outputs ``[B, R, K]`` count every labelled (rater, example) pair.
    """

    def __init__(self, num_classes: int, name="ua", dtype=None):
        super().__init__(num_classes, name=name, dtype=dtype)

    def result(self):
        present = ops.cast(ops.sum(self.confusion, axis=1) > 0, _ACCUMULATOR_DTYPE)
        recall = ops.divide_no_nan(ops.sum(self.per_class_recall() * present),
                                   ops.sum(present))
        return ops.cast(recall, self.dtype)


@keras.saving.register_keras_serializable(package="tfser")
class WeightedAccuracy(_ConfusionMetric):
    """WA: plain accuracy (trace of the confusion matrix over its total)."""

    def __init__(self, num_classes: int, name="wa", dtype=None):
        super().__init__(num_classes, name=name, dtype=dtype)

    def result(self):
        return ops.cast(ops.divide_no_nan(ops.trace(self.confusion),
                                          ops.sum(self.confusion)), self.dtype)


@keras.saving.register_keras_serializable(package="tfser")
class ConcordanceCorrelation(keras.metrics.Metric):
    """Lin's CCC accumulated over an epoch, per attribute, from weighted moment sums.

    Works on ``[B, A]`` and frame-level ``[B, T, A]`` outputs (reducing every axis but
    the last) with ``[B]``, ``[B, A]`` or ``[B, T]`` weights.

    Args:
      num_attributes: A.
      attribute: Index of the attribute to report (None = mean over attributes).
      name: Metric name.
      dtype: Result dtype.
    """

    def __init__(self, num_attributes: int, attribute: Optional[int] = None, name="ccc",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if attribute is not None and not 0 <= attribute < num_attributes:
            raise ValueError(f"attribute {attribute} out of range for {num_attributes}")
        self.num_attributes = int(num_attributes)
        self.attribute = attribute
        # Weight, sums of x, y, x^2, y^2, xy per attribute (x = target, y = prediction).
        self.sums = self.add_variable(shape=(6, self.num_attributes), initializer="zeros",
                                      name="sums", dtype=_ACCUMULATOR_DTYPE)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), _ACCUMULATOR_DTYPE)
        y_true = ops.cast(ops.convert_to_tensor(y_true), _ACCUMULATOR_DTYPE)
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = ops.expand_dims(y_true, -1)
        weights = broadcast_weights(
            None if sample_weight is None else ops.cast(sample_weight, _ACCUMULATOR_DTYPE),
            y_pred)
        axes = tuple(range(len(y_pred.shape) - 1))
        update = ops.stack([ops.sum(weights * term, axis=axes) for term in (
            ops.ones_like(y_pred), y_true, y_pred, ops.square(y_true), ops.square(y_pred),
            y_true * y_pred)])
        self.sums.assign(self.sums + update)

    def per_attribute(self):
        """CCC of every attribute (0 where nothing was seen)."""
        total, sum_x, sum_y, sum_xx, sum_yy, sum_xy = [self.sums[i] for i in range(6)]
        mean_x = ops.divide_no_nan(sum_x, total)
        mean_y = ops.divide_no_nan(sum_y, total)
        var_x = ops.divide_no_nan(sum_xx, total) - ops.square(mean_x)
        var_y = ops.divide_no_nan(sum_yy, total) - ops.square(mean_y)
        covariance = ops.divide_no_nan(sum_xy, total) - mean_x * mean_y
        return ops.divide_no_nan(2.0 * covariance,
                                 var_x + var_y + ops.square(mean_x - mean_y))

    def result(self):
        ccc = self.per_attribute()
        value = ccc[self.attribute] if self.attribute is not None else ops.mean(ccc)
        return ops.cast(value, self.dtype)

    def reset_state(self):
        self.sums.assign(ops.zeros_like(self.sums))

    def get_config(self):
        config = super().get_config()
        config.update({"num_attributes": self.num_attributes, "attribute": self.attribute})
        return config


@keras.saving.register_keras_serializable(package="tfser")
class MultilabelAccuracy(keras.metrics.Metric):
    """Per-class binary accuracy averaged over classes (000's secondary-task measure).

    Targets are binarised with ``target > target_threshold`` (so normalised secondary
    vectors and soft existence scores count as presence) and predictions with
    ``prediction > threshold``.

    Args:
      num_classes: K.
      threshold: Decision threshold on the sigmoid outputs.
      target_threshold: A target above it counts as present.
      name: Metric name.
      dtype: Result dtype.
    """

    def __init__(self, num_classes: int, threshold: float = 0.5,
                 target_threshold: float = 0.0, name="binary_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.threshold = float(threshold)
        self.target_threshold = float(target_threshold)
        self.correct = self.add_variable(shape=(self.num_classes,), initializer="zeros",
                                         name="correct", dtype=_ACCUMULATOR_DTYPE)
        self.total = self.add_variable(shape=(self.num_classes,), initializer="zeros",
                                       name="total", dtype=_ACCUMULATOR_DTYPE)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        present = ops.convert_to_tensor(y_true) > self.target_threshold
        predicted = y_pred > self.threshold
        hits = ops.cast(present == predicted, _ACCUMULATOR_DTYPE)
        weights = broadcast_weights(
            None if sample_weight is None else ops.cast(sample_weight, _ACCUMULATOR_DTYPE),
            hits)
        axes = tuple(range(len(hits.shape) - 1))
        self.correct.assign(self.correct + ops.sum(hits * weights, axis=axes))
        self.total.assign(self.total + ops.sum(weights, axis=axes))

    def result(self):
        return ops.cast(ops.mean(ops.divide_no_nan(self.correct, self.total)), self.dtype)

    def reset_state(self):
        self.correct.assign(ops.zeros_like(self.correct))
        self.total.assign(ops.zeros_like(self.total))

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "threshold": self.threshold,
                       "target_threshold": self.target_threshold})
        return config


def _classification(head: HeadConfig) -> List[keras.metrics.Metric]:
    return [WeightedAccuracy(head.units), UnweightedAccuracy(head.units)]


def _multilabel(head: HeadConfig) -> List[keras.metrics.Metric]:
    return [MultilabelAccuracy(head.units)]


def _regression(head: HeadConfig) -> List[keras.metrics.Metric]:
    names = head.classes or [str(index) for index in range(head.units)]
    metrics: List[keras.metrics.Metric] = [ConcordanceCorrelation(head.units)]
    if head.units > 1:
        metrics += [ConcordanceCorrelation(head.units, attribute=index, name=f"ccc_{name}")
                    for index, name in enumerate(names)]
    return metrics


METRICS: Dict[str, Callable[[HeadConfig], List[keras.metrics.Metric]]] = {
    "categorical": _classification,
    "speaker": _classification,
    "per_rater": _classification,
    "multilabel": _multilabel,
    "existence": _multilabel,
    "regression": _regression,
}


def build_metrics(head: HeadConfig) -> List[keras.metrics.Metric]:
    """Fresh metric objects for one head (Keras prefixes them with the head name)."""
    return METRICS[head.head_type](head)
