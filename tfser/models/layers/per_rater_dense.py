"""One linear classifier per rater, computed as one batched layer."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfser")
class PerRaterDense(keras.layers.Layer):
    """``embedding [B, D] -> logits [B, R, K]``: R independent dense layers of K units.

    Paper 002 models each rater with a classifier of its own; stacking the R kernels in
    one ``[D, R, K]`` tensor gives exactly that (no parameter is shared between raters)
    in a single matrix product, and the output lines up with the reader's per-rater
    targets ``[B, R, K]`` and weights ``[B, R]``.

    Args:
      num_raters: R.
      units: K, classes per rater.
    """

    def __init__(self, num_raters: int, units: int, **kwargs):
        super().__init__(**kwargs)
        if num_raters < 1 or units < 1:
            raise ValueError("num_raters and units must be positive")
        self.num_raters = int(num_raters)
        self.units = int(units)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel",
                                      shape=(input_shape[-1], self.num_raters, self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.num_raters, self.units),
                                    initializer="zeros")

    def call(self, inputs):
        return ops.einsum("bd,drk->brk", inputs, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_raters, self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"num_raters": self.num_raters, "units": self.units})
        return config
