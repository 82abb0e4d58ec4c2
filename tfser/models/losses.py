"""Masked losses for every head, chosen by name from a registry.

Each head's examples (or raters, or frames) without a label carry sample weight 0
(see :mod:`tfser.data.reader`). Two rules follow:

* Per-example losses (cross-entropy, KL, BCE) return one value per weighted element
  and are averaged over the *labelled* elements: ``sum(w * loss) / sum(w)``
  (``reduction="mean_with_sample_weight"``, the default here), so adding unlabelled
  examples to a batch changes nothing.
* Batch statistics (CCC) cannot be masked by multiplying their result by a weight;
  :class:`ConcordanceLoss` computes the *weighted* means, variances and covariance,
  so it equals the plain CCC loss of the labelled subset.

Sample weights may have the shape of the per-element losses (``[B]``, ``[B, R]``,
``[B, T]``) or fewer trailing axes (then broadcast), e.g. a ``[B]`` weight on a
per-rater head masks whole examples.

Under a ``tf.distribute`` strategy with several replicas (Keras ``fit`` under
``MirroredStrategy``, the custom loop of :mod:`tfser.training.custom_loop`), each
replica returns its *share* of the loss of the global batch, so the replicas' values
and gradients add up to what one device computes on the whole batch: a mean divides
the replica's weighted sum by the *global* weight sum (one all-reduce), not by its
own, which would weight replicas with fewer labelled or class-weighted examples too
much; CCC is computed from all-reduced weighted moments, i.e. it is the statistic of
the global batch, not of each replica's half.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Type

import keras
import tensorflow as tf
from keras import ops

from tfser.models.config import HeadConfig

EPSILON = 1e-7
_REDUCTIONS = (None, "none", "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")


def broadcast_weights(sample_weight, values):
    """``sample_weight`` shaped like ``values`` (ones when None).

    Trailing axes of size 1 are dropped and missing trailing axes are added, so
    ``[B]`` or ``[B, 1]`` weights apply to ``[B]``, ``[B, R]`` or ``[B, T, A]`` values.
    """
    if sample_weight is None:
        return ops.ones_like(values)
    weights = ops.cast(ops.convert_to_tensor(sample_weight), values.dtype)
    while len(weights.shape) > len(values.shape) and weights.shape[-1] == 1:
        weights = ops.squeeze(weights, -1)
    while len(weights.shape) < len(values.shape):
        weights = ops.expand_dims(weights, -1)
    return ops.broadcast_to(weights, ops.shape(values))


def replica_context() -> Optional[tf.distribute.ReplicaContext]:
    """The replica context of a step of a multi-replica strategy, else None."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def _all_reduce_constant(replica: tf.distribute.ReplicaContext, value):
    """Sum over replicas of a value treated as a constant (no gradient flows)."""
    return replica.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(value))


def _global_sums(replica: tf.distribute.ReplicaContext, local):
    """Global sums whose gradient is that of this replica's own ``local`` sums.

    The value is the sum over replicas; the other replicas' part enters as a
    constant, so ``d f(global) / d theta`` on this replica is the gradient of the
    global statistic through this replica's examples, and the replicas' gradients add
    up to the single-device gradient of ``f``.
    """
    return local + tf.stop_gradient(_all_reduce_constant(replica, local) - local)


def reduce_weighted(values, weights, reduction: str):
    """The scalar loss of per-element ``values`` and their ``weights``.

    ``mean_with_sample_weight``: ``sum(w * v) / sum(w)``; ``sum_over_batch_size`` /
    ``mean``: divided by the element count; ``sum``: not divided. Inside a step of a
    multi-replica strategy the denominator is the global one (all-reduced), so the
    result is this replica's share of the global batch's loss.
    """
    total = ops.sum(values * weights)
    if reduction == "sum":
        return total  # the replicas' sums add up to the global one
    if reduction == "mean_with_sample_weight":
        denominator = ops.sum(weights)
    elif reduction in ("sum_over_batch_size", "mean"):
        denominator = ops.cast(ops.size(values), total.dtype)
    else:
        raise ValueError(f"reduction {reduction!r} does not give a scalar loss")
    replica = replica_context()
    if replica is not None:
        denominator = _all_reduce_constant(replica, denominator)
    return ops.divide_no_nan(total, denominator)


def _clip(probabilities):
    return ops.clip(probabilities, EPSILON, 1.0 - EPSILON)


class MaskedLoss(keras.losses.Loss):
    """Base of the per-element losses: weights broadcast, then a weighted reduction.

    Subclasses implement ``call(y_true, y_pred)`` returning one loss per element
    (the target's leading axes).

    Args:
      reduction: ``"mean_with_sample_weight"`` (default; mean over labelled
        elements), ``"sum_over_batch_size"`` / ``"mean"`` (divide by all elements),
        ``"sum"`` or ``"none"``.
      name: Loss name.
      dtype: Computation dtype (float32 by default).
    """

    def __init__(self, reduction="mean_with_sample_weight", name=None, dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), self.dtype)
        values = self.call(ops.convert_to_tensor(y_true), y_pred)
        weights = broadcast_weights(sample_weight, values)
        if self.reduction in (None, "none"):
            return values * weights
        return reduce_weighted(values, weights, self.reduction)


@keras.saving.register_keras_serializable(package="tfser")
class HardTargetCrossentropy(MaskedLoss):
    """``-log p[y]`` for class-index targets ``[B]`` against probabilities ``[B, K]``.

    Used by hard (majority) emotion heads and speaker heads.
    """

    def call(self, y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, -1)
        indices = ops.expand_dims(ops.cast(y_true, "int32"), -1)
        chosen = ops.take_along_axis(_clip(y_pred), indices, axis=-1)
        return -ops.log(ops.squeeze(chosen, -1))


@keras.saving.register_keras_serializable(package="tfser")
class SoftTargetCrossentropy(MaskedLoss):
    """``-sum_k q_k log p_k`` over the last axis, for distribution targets.

    Soft-label heads (``[B, K]``) and per-rater heads (``[B, R, K]``, one value per
    rater, masked by ``[B, R]`` weights).
    """

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        return -ops.sum(y_true * ops.log(_clip(y_pred)), axis=-1)


@keras.saving.register_keras_serializable(package="tfser")
class SecondaryKLDivergence(MaskedLoss):
    """Paper 000's secondary-emotion loss: ``KL(q || p)`` of two normalised vectors.

    ``q = y / sum(y)`` is the multi-hot secondary vector made a distribution and
    ``p = s / sum(s)`` the sigmoid outputs made one, then
    ``KL = sum_k q_k (log q_k - log p_k)`` with ``0 log 0 = 0``. Normalising ``p`` is
    what keeps the divergence non-negative: ``keras.losses.KLDivergence`` on raw
    sigmoid outputs goes negative when they sum to more than 1. An all-zero target
    (no secondary label) gives 0.
    """

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        q = ops.divide_no_nan(y_true, ops.sum(y_true, axis=-1, keepdims=True))
        p = _clip(y_pred)
        p = p / ops.sum(p, axis=-1, keepdims=True)
        log_ratio = ops.log(ops.maximum(q, EPSILON)) - ops.log(p)
        return ops.sum(ops.where(q > 0, q * log_ratio, ops.zeros_like(q)), axis=-1)


@keras.saving.register_keras_serializable(package="tfser")
class WeightedBinaryCrossentropy(MaskedLoss):
    """Class-wise binary cross-entropy summed over classes, with per-class weights.

    ``-sum_k [w+_k y_k log p_k + w-_k (1 - y_k) log(1 - p_k)]``: paper 001's MLEE
    loss (its eq. 6 sums over classes) with the inverse frequencies of existent /
    non-existent labels as ``w+`` / ``w-`` (see
    :func:`tfser.models.class_weighting.existence_weights`); without weights it is
    plain multi-label BCE.

    Args:
      positive_weights: ``w+``, one per class (None = 1).
      negative_weights: ``w-``, one per class (None = 1).
      **kwargs: :class:`MaskedLoss` arguments.
    """

    def __init__(self, positive_weights: Optional[Sequence[float]] = None,
                 negative_weights: Optional[Sequence[float]] = None, **kwargs):
        super().__init__(**kwargs)
        self.positive_weights = None if positive_weights is None else [
            float(w) for w in positive_weights]
        self.negative_weights = None if negative_weights is None else [
            float(w) for w in negative_weights]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        p = _clip(y_pred)
        positive = y_true * ops.log(p)
        negative = (1.0 - y_true) * ops.log(1.0 - p)
        if self.positive_weights is not None:
            positive = positive * ops.convert_to_tensor(self.positive_weights, p.dtype)
        if self.negative_weights is not None:
            negative = negative * ops.convert_to_tensor(self.negative_weights, p.dtype)
        return -ops.sum(positive + negative, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"positive_weights": self.positive_weights,
                       "negative_weights": self.negative_weights})
        return config


def weighted_ccc(y_true, y_pred, sample_weight=None):
    """Lin's CCC per attribute (last axis) from weighted moments over all other axes.

    Args:
      y_true: ``[B, A]`` or ``[B, T, A]`` targets.
      y_pred: Predictions of the same shape.
      sample_weight: Weights broadcastable as in :func:`broadcast_weights` (``[B]``,
        ``[B, A]``, ``[B, T]``, ...); 0 excludes an element from every statistic.

    Returns:
      ``(ccc [A], total_weight [A])``; an attribute without weight has CCC 0.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    weights = broadcast_weights(sample_weight, y_pred)
    axes = tuple(range(len(y_pred.shape) - 1))
    total = ops.sum(weights, axis=axes)

    def mean(values):
        return ops.divide_no_nan(ops.sum(weights * values, axis=axes), total)

    mean_true, mean_pred = mean(y_true), mean(y_pred)
    centred_true, centred_pred = y_true - mean_true, y_pred - mean_pred
    var_true = mean(ops.square(centred_true))
    var_pred = mean(ops.square(centred_pred))
    covariance = mean(centred_true * centred_pred)
    ccc = ops.divide_no_nan(2.0 * covariance,
                            var_true + var_pred + ops.square(mean_true - mean_pred))
    return ccc, total


def _replica_weighted_ccc(replica: tf.distribute.ReplicaContext, y_true, y_pred,
                          sample_weight=None):
    """:func:`weighted_ccc` of the global batch, from all-reduced weighted moments.

    Targets and predictions are first centred on their global weighted means
    (constants, so gradients are unchanged; the means are added back for the
    mean-difference term), which keeps the one-pass moments as accurate as the
    two-pass ones of :func:`weighted_ccc`.
    """
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = tf.expand_dims(y_true, -1)
    weights = broadcast_weights(sample_weight, y_pred)
    axes = list(range(len(y_pred.shape) - 1))

    def weighted_sum(values):
        return tf.reduce_sum(weights * values, axis=axes)

    shift = _all_reduce_constant(replica, tf.stack(
        [weighted_sum(tf.ones_like(y_pred)), weighted_sum(y_true), weighted_sum(y_pred)]))
    shift_true = tf.math.divide_no_nan(shift[1], shift[0])
    shift_pred = tf.stop_gradient(tf.math.divide_no_nan(shift[2], shift[0]))
    y_true, y_pred = y_true - shift_true, y_pred - shift_pred
    total, s_true, s_pred, s_tt, s_pp, s_tp = tf.unstack(_global_sums(replica, tf.stack([
        weighted_sum(tf.ones_like(y_pred)), weighted_sum(y_true), weighted_sum(y_pred),
        weighted_sum(y_true * y_true), weighted_sum(y_pred * y_pred),
        weighted_sum(y_true * y_pred)])))
    mean_true = tf.math.divide_no_nan(s_true, total)
    mean_pred = tf.math.divide_no_nan(s_pred, total)
    var_true = tf.math.divide_no_nan(s_tt, total) - tf.square(mean_true)
    var_pred = tf.math.divide_no_nan(s_pp, total) - tf.square(mean_pred)
    covariance = tf.math.divide_no_nan(s_tp, total) - mean_true * mean_pred
    mean_difference = (mean_true + shift_true) - (mean_pred + shift_pred)
    ccc = tf.math.divide_no_nan(2.0 * covariance,
                                var_true + var_pred + tf.square(mean_difference))
    return ccc, total


@keras.saving.register_keras_serializable(package="tfser")
class ConcordanceLoss(keras.losses.Loss):
    """Paper 003's ``CCCL_tot = sum_a w_a (1 - CCC_a)`` from weighted batch moments.

    CCC is a statistic of the whole batch, so masked elements are excluded from the
    means, variances and covariance (:func:`weighted_ccc`) rather than multiplied out
    afterwards; the result equals the CCC loss of the labelled elements alone. An
    attribute without any labelled element in the batch contributes 0 (and no
    gradient). STL = one weight 1, the others 0; MTL1 = ``(a, b, 1 - a - b)``; MTL2
    (003's best) = ``(0.7, 0.2, 1.0)``.

    Args:
      attribute_weights: ``w_a`` per attribute (None = 1 each).
      name: Loss name.
      reduction: Accepted for Keras compatibility; the statistic is always the
        weighted one.
      dtype: Computation dtype.
    """

    def __init__(self, attribute_weights: Optional[Sequence[float]] = None, name=None,
                 reduction="mean_with_sample_weight", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.attribute_weights = None if attribute_weights is None else [
            float(w) for w in attribute_weights]

    def __call__(self, y_true, y_pred, sample_weight=None):
        per_attribute = self.attribute_losses(y_true, y_pred, sample_weight)
        if self.attribute_weights is not None:
            if len(self.attribute_weights) != per_attribute.shape[-1]:
                raise ValueError(f"{len(self.attribute_weights)} attribute weights for "
                                 f"{per_attribute.shape[-1]} attributes")
            per_attribute = per_attribute * ops.convert_to_tensor(self.attribute_weights,
                                                                  per_attribute.dtype)
        return ops.sum(per_attribute)

    def attribute_losses(self, y_true, y_pred, sample_weight=None):
        """``1 - CCC_a`` per attribute ``[A]``, unweighted (0 for an attribute without
        labelled elements); under a multi-replica strategy this replica's share."""
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), self.dtype)
        replica = replica_context()
        if replica is None:
            ccc, total = weighted_ccc(y_true, y_pred, sample_weight)
        else:
            ccc, total = _replica_weighted_ccc(replica, y_true, y_pred, sample_weight)
        per_attribute = (1.0 - ccc) * ops.cast(total > 0, ccc.dtype)
        if replica is None:
            return per_attribute
        # Value: this replica's 1/N share; gradient: the global statistic's through
        # this replica's examples (the sum over replicas is the single-device one).
        share = per_attribute / ops.cast(replica.num_replicas_in_sync, per_attribute.dtype)
        return per_attribute + tf.stop_gradient(share - per_attribute)

    def call(self, y_true, y_pred):
        # CCC is a statistic of the whole (weighted) batch, so there is no per-sample
        # loss for Keras to weight: __call__ above is the only entry point.
        raise TypeError("ConcordanceLoss is a batch statistic; call the loss object itself")

    def get_config(self):
        config = super().get_config()
        config.update({"attribute_weights": self.attribute_weights})
        return config


LOSSES: Dict[str, Type[keras.losses.Loss]] = {
    "hard_crossentropy": HardTargetCrossentropy,
    "soft_crossentropy": SoftTargetCrossentropy,
    "per_rater_crossentropy": SoftTargetCrossentropy,
    "secondary_kl": SecondaryKLDivergence,
    "binary_crossentropy": WeightedBinaryCrossentropy,
    "weighted_binary_crossentropy": WeightedBinaryCrossentropy,
    "ccc": ConcordanceLoss,
}

# The default loss of a head learning from each label view ...
DEFAULT_LOSS_BY_KIND: Dict[str, str] = {
    "hard": "hard_crossentropy",
    "soft": "soft_crossentropy",
    "secondary": "binary_crossentropy",
    "existence": "weighted_binary_crossentropy",
    "per_rater": "per_rater_crossentropy",
    "dimensional": "ccc",
    "speaker": "hard_crossentropy",
}
# ... and of a head given only its type.
DEFAULT_LOSS_BY_HEAD_TYPE: Dict[str, str] = {
    "categorical": "hard_crossentropy",
    "speaker": "hard_crossentropy",
    "multilabel": "binary_crossentropy",
    "existence": "weighted_binary_crossentropy",
    "per_rater": "per_rater_crossentropy",
    "regression": "ccc",
}


def loss_name(head: HeadConfig) -> str:
    """The head's loss: explicit, else by label kind, else by head type."""
    if head.loss is not None:
        return head.loss
    if head.kind is not None:
        return DEFAULT_LOSS_BY_KIND[head.kind]
    return DEFAULT_LOSS_BY_HEAD_TYPE[head.head_type]


def build_loss(head: HeadConfig) -> keras.losses.Loss:
    """A fresh loss object for ``head`` (named ``<head>_loss``).

    A head with ``attribute_weights: learned`` gets its loss unweighted: the learned
    weights are applied around it (:class:`UncertaintyWeightedLoss`, built by
    :func:`tfser.models.compile_kwargs` with the model that holds them).

    Raises:
      ValueError: Unknown loss name or bad ``loss_params``.
    """
    name = loss_name(head)
    if name not in LOSSES:
        raise ValueError(f"head '{head.name}': unknown loss {name!r}; registered: "
                         f"{sorted(LOSSES)}")
    params = dict(head.loss_params)
    if head.learns_attribute_weights:
        del params["attribute_weights"]
    try:
        return LOSSES[name](name=f"{head.name}_loss", **params)
    except TypeError as error:
        raise ValueError(f"head '{head.name}': bad loss_params {dict(head.loss_params)} "
                         f"for {name!r}: {error}") from error


class UncertaintyWeightedLoss(keras.losses.Loss):
    """``exp(-s) * L + s`` of a head's loss ``L`` and its learned ``s``
    (:class:`~tfser.models.layers.UncertaintyWeights`), or with ``attributes`` the sum
    over attributes ``sum_a exp(-s_a) * L_a + s_a`` of the loss's per-attribute terms
    (a CCC head with ``attribute_weights: learned``: ``L_a = 1 - CCC_a``).

    The ``+ s`` term enters once per step: under a multi-replica strategy each replica
    adds its share ``s / replicas``, as the inner loss returns its share of the global
    batch's loss.

    Args:
      inner: The head's own loss (reduced to a scalar; with ``attributes`` it must
        also give ``attribute_losses(y_true, y_pred, sample_weight) -> [A]``, as
        :class:`ConcordanceLoss` does).
      weights: The model's :class:`~tfser.models.layers.UncertaintyWeights` layer.
      head: The head name.
      attributes: The keys of the per-attribute weights in ``weights``, one per
        attribute in output order (``<head>/<attribute>``); None: one weight, ``head``.
    """

    def __init__(self, inner: keras.losses.Loss, weights, head: str,
                 attributes: Optional[Sequence[str]] = None):
        super().__init__(name=f"uncertainty_{getattr(inner, 'name', head)}")
        self.inner = inner
        self.weights = weights
        self.head = head
        self.attributes = None if attributes is None else tuple(attributes)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.attributes is None:
            loss = self.inner(y_true, y_pred, sample_weight=sample_weight)
            keys = [self.head]
        else:
            loss = self.inner.attribute_losses(y_true, y_pred, sample_weight=sample_weight)
            keys = list(self.attributes)
            if loss.shape[-1] != len(keys):
                raise ValueError(f"head '{self.head}': {len(keys)} learned attribute weights "
                                 f"for {loss.shape[-1]} attributes")
        log_variance = ops.reshape(ops.stack(
            [ops.cast(self.weights.log_variances[key], loss.dtype) for key in keys]),
            ops.shape(loss))
        replica = replica_context()
        share = 1.0 if replica is None else 1.0 / replica.num_replicas_in_sync
        return ops.sum(ops.exp(-log_variance) * loss + share * log_variance)

    def call(self, y_true, y_pred):
        raise TypeError("UncertaintyWeightedLoss is called as a whole (its + s term is "
                        "added once per batch), not per element")

    def get_config(self):
        return {"name": self.name, "head": self.head, "attributes": self.attributes}
