"""Sets padded frames of a right-padded batch to exactly zero."""

from __future__ import annotations

import keras
from keras import ops

from tfser.models.layers.length_mask import sequence_mask


@keras.saving.register_keras_serializable(package="tfser")
class ZeroMaskedFrames(keras.layers.Layer):
    """``(frames [B, T, ...], lengths [B]) -> frames`` with frames ``t >= length`` zeroed.

    Convolutions see neighbouring frames, and batch normalisation turns zero padding
    into non-zero values; zeroing the padding before each such step makes every real
    frame's output identical to that of the same sequence run alone (with zero
    padding at its end). The layer also ends any implicit Keras mask, so model outputs
    carry none and losses see only the explicit sample weights.
    """

    def call(self, inputs, lengths):
        mask = ops.cast(sequence_mask(lengths, ops.shape(inputs)[1]), inputs.dtype)
        # Broadcast the [B, T] mask over the feature axes of [B, T, ...].
        for _ in range(len(inputs.shape) - 2):
            mask = ops.expand_dims(mask, -1)
        return inputs * mask

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return super().get_config()
