"""Single-head attention pooling over the frames of a masked sequence."""

from __future__ import annotations

import keras
from keras import ops

# Score of padded frames before the softmax: exp() of it underflows to exactly 0 in
# float32, so padding gets zero weight without a NaN-prone -inf.
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="tfser")
class AttentionPooling(keras.layers.Layer):
    """``frames [B, T, D] (+ mask [B, T]) -> (pooled [B, D], weights [B, T])``.

    Each frame gets a scalar score, a softmax over the real frames turns the scores
    into weights, and the output is the weighted mean of the frames:

    * ``units > 0``: ``score_t = v . tanh(W h_t + b)``, the one-head structured
      self-attention of Lin et al. (2017) used by paper 001;
    * ``units == 0``: ``score_t = u . h_t``, the local attention of Mirsamadi et al.
      (2017) used by paper 002's BLSTM-DNN.

    Padded frames (``mask`` False) get weight exactly 0, so padding a sequence does
    not change its output; a row without any real frame pools to zeros. The weights
    are the second output so that they can be plotted (see
    :func:`tfser.models.factory.attention_model`).

    Args:
      units: Size of the tanh projection (0 = linear scores).
    """

    def __init__(self, units: int = 0, **kwargs):
        super().__init__(**kwargs)
        if int(units) != units or units < 0:
            raise ValueError(f"units must be a non-negative integer, got {units}")
        self.units = int(units)

    def build(self, input_shape):
        dim = input_shape[-1]
        if self.units:
            self.projection = self.add_weight(name="projection", shape=(dim, self.units),
                                              initializer="glorot_uniform")
            self.projection_bias = self.add_weight(name="projection_bias",
                                                   shape=(self.units,), initializer="zeros")
            score_dim = self.units
        else:
            score_dim = dim
        self.context = self.add_weight(name="context", shape=(score_dim,),
                                       initializer="glorot_uniform")

    def call(self, inputs, mask=None):
        hidden = inputs
        if self.units:
            hidden = ops.tanh(ops.einsum("btd,du->btu", inputs, self.projection)
                              + self.projection_bias)
        scores = ops.einsum("btu,u->bt", hidden, self.context)
        if mask is not None:
            mask = ops.cast(mask, "bool")
            scores = ops.where(mask, scores, ops.cast(_MASKED_SCORE, scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            # Only matters for rows that are all padding (uniform softmax otherwise).
            weights = weights * ops.cast(mask, weights.dtype)
        pooled = ops.einsum("bt,btd->bd", weights, inputs)
        return pooled, weights

    def compute_output_shape(self, input_shape):
        batch, frames, dim = input_shape
        return (batch, dim), (batch, frames)

    def compute_mask(self, inputs, mask=None):
        # Pooling removes the time axis, so no mask survives it.
        return None, None

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
