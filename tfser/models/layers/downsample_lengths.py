"""Frame counts after a strided convolution or pooling step."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfser")
class DownsampleLengths(keras.layers.Layer):
    """``lengths [B] -> ceil(lengths / factor)``, the real frames after a time stride.

    Matches a strided step whose output has ``ceil(T / stride)`` frames: a convolution
    with ``k - 1`` frames of zero padding split around the input, or a ``"same"``
    pooling. A sequence of one frame or more keeps at least one frame.

    Args:
      factor: The time stride (a positive integer).
    """

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        if int(factor) != factor or factor < 1:
            raise ValueError(f"factor must be a positive integer, got {factor}")
        self.factor = int(factor)

    def call(self, lengths):
        lengths = ops.cast(lengths, "int32")
        return (lengths + self.factor - 1) // self.factor

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor})
        return config
