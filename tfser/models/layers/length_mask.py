"""Frame mask of right-padded sequences from their true lengths."""

from __future__ import annotations

import keras
from keras import ops


def sequence_mask(lengths, num_frames):
    """Boolean ``[B, num_frames]``: True on the first ``lengths[b]`` frames of row ``b``.

    Args:
      lengths: Integer ``[B]`` frame counts.
      num_frames: Scalar frame count of the padded batch.
    """
    lengths = ops.cast(lengths, "int32")
    return ops.expand_dims(ops.arange(num_frames, dtype="int32"), 0) < ops.expand_dims(
        lengths, 1)


@keras.saving.register_keras_serializable(package="tfser")
class LengthMask(keras.layers.Layer):
    """``(lengths [B], frames [B, T, ...]) -> bool [B, T]``, True on real frames.

    The reader pads each batch to its longest example and passes the true frame counts
    as ``<feature>_length``; this mask is what recurrent layers and attention pooling
    take so that padded frames change nothing. The mask is not attached implicitly
    (no Keras mask propagation): callers pass it explicitly where it matters.
    """

    def call(self, lengths, reference):
        return sequence_mask(lengths, ops.shape(reference)[1])

    def get_config(self):
        # No options of its own; spelled out so the round-trip contract is explicit.
        return super().get_config()
