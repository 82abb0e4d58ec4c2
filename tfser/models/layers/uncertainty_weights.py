"""Learned loss weights of a multi-head model (homoscedastic uncertainty).

Kendall, Gal & Cipolla (2018) weight each task's loss by a learned precision: with
``s_h = log sigma_h^2`` per head, the total loss is ``sum_h exp(-s_h) L_h + s_h``. A
head with a large loss gets a small weight, and the ``+ s_h`` term keeps the weights
from collapsing to zero; the optimum for a fixed loss is ``exp(-s_h) = 1 / L_h``. One
run learns what a sweep over fixed weights would search for.

The same weighting applies inside one head: a CCC head with
``loss_params: {attribute_weights: learned}`` gets one ``s`` per attribute, keyed
``<head>/<attribute>``, and its loss is ``sum_a exp(-s_a) (1 - CCC_a) + s_a`` (paper
003's ``alpha, beta, gamma`` learned instead of searched).
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfser")
class UncertaintyWeights(keras.layers.Layer):
    """Holds ``s_t`` (one trainable scalar per loss term, 0 at start: weight 1) and
    passes its input through unchanged.

    It sits on the trunk's output so that its weights are the model's: trained by the
    same optimizer, saved in the same checkpoints. The losses read them through
    :class:`tfser.models.losses.UncertaintyWeightedLoss`.

    Args:
      heads: The loss terms, one weight each: head names (``loss_weighting:
        uncertainty``) and ``<head>/<attribute>`` (a head's learned attribute weights).
    """

    def __init__(self, heads: Sequence[str], **kwargs):
        super().__init__(**kwargs)
        if not heads or len(set(heads)) != len(heads):
            raise ValueError(f"UncertaintyWeights needs distinct head names, got {heads}")
        self.heads = tuple(str(h) for h in heads)
        # Keras variable names may not hold "/": head/attribute becomes head.attribute.
        self.log_variances = {
            head: self.add_weight(name=f"log_variance_{head.replace('/', '.')}", shape=(),
                                  initializer="zeros", trainable=True)
            for head in self.heads}

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def weight_of(self, head: str):
        """``exp(-s_t)``: the current weight of a loss term (a head or head/attribute)."""
        return ops.exp(-self.log_variances[head])

    def get_config(self):
        config = super().get_config()
        config.update({"heads": list(self.heads)})
        return config
