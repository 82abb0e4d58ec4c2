"""Class weights of multi-head models, folded into each head's sample weights.

Keras' ``class_weight`` argument only works for single-output models. With a dict of
heads, a class weight must instead multiply that head's sample weight, which already
carries the label mask; :func:`fold_class_weights` does this inside ``tf.data``.
Existence heads (001) weight positive and negative labels of every class separately;
those weights go to the loss (:func:`existence_weights`, :func:`with_existence_weights`).
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence, Tuple

import dataclasses

import numpy as np
import tensorflow as tf

from tfser.models import losses
from tfser.models.config import HeadConfig


def target_class_weights(targets, class_weights: Sequence[float]) -> tf.Tensor:
    """Weight of each target under per-class weights.

    Args:
      targets: Class indices (``[B]``, any integer dtype) or distributions / one-hot
        vectors ``[..., K]`` (soft labels ``[B, K]``, per-rater ``[B, R, K]``).
      class_weights: ``[K]`` weights (e.g. :func:`tfser.data.class_weights`).

    Returns:
      float32 ``[B]`` (indices) or ``[...]`` (distributions): the weight of the class,
      or for a distribution the expected weight ``sum_k q_k w_k`` (a one-hot target
      gets its class's weight; an all-zero, i.e. unlabelled, target gets 0).
    """
    weights = tf.constant(np.asarray(class_weights, dtype=np.float32))
    targets = tf.convert_to_tensor(targets)
    if targets.dtype.is_integer:
        return tf.gather(weights, tf.cast(targets, tf.int32))
    return tf.reduce_sum(tf.cast(targets, tf.float32) * weights, axis=-1)


def apply_class_weights(targets: Mapping[str, tf.Tensor], sample_weights: Mapping[str, tf.Tensor],
                        class_weights: Mapping[str, Sequence[float]]) -> dict:
    """Sample weights with the class weights of the named heads multiplied in.

    Heads absent from ``class_weights`` keep their weights unchanged.

    Raises:
      ValueError: A class-weighted head without targets or sample weights.
    """
    out = dict(sample_weights)
    for head, weights in class_weights.items():
        if head not in targets or head not in sample_weights:
            raise ValueError(f"class weights for head '{head}', which has no targets "
                             "or sample weights in this dataset")
        factor = target_class_weights(targets[head], weights)
        current = tf.cast(sample_weights[head], tf.float32)
        out[head] = current * tf.reshape(factor, tf.shape(current))
    return out


def fold_class_weights(class_weights: Mapping[str, Sequence[float]]) -> Callable:
    """A ``Dataset.map`` function folding class weights into the sample weights.

    Usage::

        dataset = build_dataset(...).map(fold_class_weights({"primary": weights}))

    Works on ``(features, targets, sample_weights)`` elements and on the
    ``(..., meta)`` elements of ``return_meta=True``.
    """
    class_weights = {head: [float(w) for w in weights]
                     for head, weights in class_weights.items()}

    def fold(features, targets, sample_weights, *rest):
        return (features, targets, apply_class_weights(targets, sample_weights,
                                                       class_weights), *rest)

    return fold


def existence_weights(targets, sample_weights: Optional[np.ndarray] = None
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class weights of existent and non-existent labels (paper 001's MLEE).

    ``w+_k = N / (2 n+_k)`` and ``w-_k = N / (2 n-_k)``: the inverse frequencies of
    the two label values of class ``k``, halved so that a class present in exactly
    half of the examples gets 1 and 1. A value that never occurs gets weight 0.

    Args:
      targets: ``[N, K]`` existence vectors of the training set (> 0.5 = present).
      sample_weights: Optional ``[N]`` label weights (0 = unlabelled, excluded).

    Returns:
      ``(positive_weights [K], negative_weights [K])`` for
      :class:`tfser.models.losses.WeightedBinaryCrossentropy`.
    """
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim != 2:
        raise ValueError(f"targets must be [N, K], got shape {targets.shape}")
    weights = (np.ones(len(targets)) if sample_weights is None
               else np.asarray(sample_weights, dtype=np.float64).reshape(-1))
    present = (targets > 0.5).astype(np.float64)
    total = weights.sum()
    positives = weights @ present
    negatives = total - positives
    positive_weights = np.divide(total, 2 * positives, out=np.zeros_like(positives),
                                 where=positives > 0)
    negative_weights = np.divide(total, 2 * negatives, out=np.zeros_like(negatives),
                                 where=negatives > 0)
    return positive_weights.astype(np.float32), negative_weights.astype(np.float32)


def takes_existence_weights(head: HeadConfig) -> bool:
    """Whether the head's loss is class-wise binary cross-entropy, so that its class
    weights are paper 001's existent / non-existent pair per class (in the loss)
    rather than one inverse frequency per class (in the sample weights)."""
    loss = losses.LOSSES.get(losses.loss_name(head))
    return loss is not None and issubclass(loss, losses.WeightedBinaryCrossentropy)


def with_existence_weights(head: HeadConfig, positive_weights: Sequence[float],
                           negative_weights: Sequence[float]) -> HeadConfig:
    """``head`` with the weights of :func:`existence_weights` in its ``loss_params``.

    Raises:
      ValueError: The head's loss takes no such weights, or its ``loss_params`` already
        set them (two sources for one weight).
    """
    if not takes_existence_weights(head):
        raise ValueError(f"head '{head.name}': loss {losses.loss_name(head)!r} takes no "
                         "existent / non-existent class weights")
    given = sorted({"positive_weights", "negative_weights"} & set(head.loss_params))
    if given:
        raise ValueError(f"head '{head.name}': loss_params set {given} and class weighting "
                         "is on; drop one of them")
    params = dict(head.loss_params, positive_weights=[float(w) for w in positive_weights],
                  negative_weights=[float(w) for w in negative_weights])
    return dataclasses.replace(head, loss_params=params)
