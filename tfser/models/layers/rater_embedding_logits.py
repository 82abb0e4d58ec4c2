"""A classifier shared by all raters and conditioned on a learned rater embedding."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfser")
class RaterEmbeddingLogits(keras.layers.Layer):
    """``embedding [B, D] -> logits [B, R, K]`` through one rater-conditioned classifier.

    For corpora with many raters (crowd-sourced MSP-Podcast has thousands), one
    classifier per rater has too many parameters for the few labels each rater gives.
    Here every rater ``r`` has a learned vector ``e_r``; the logits of rater ``r`` are
    ``V relu(W h + U e_r + b) + c``, so raters share ``W, V`` and differ only through
    ``e_r``: ``D*H + E*H + H*K`` parameters instead of ``D*R*K``.

    Args:
      num_raters: R.
      units: K, classes per rater.
      embedding_dim: E, size of a rater vector.
      hidden_units: H, size of the shared hidden layer.
    """

    def __init__(self, num_raters: int, units: int, embedding_dim: int = 16,
                 hidden_units: int = 64, **kwargs):
        super().__init__(**kwargs)
        if min(num_raters, units, embedding_dim, hidden_units) < 1:
            raise ValueError("num_raters, units, embedding_dim and hidden_units must be "
                             "positive")
        self.num_raters = int(num_raters)
        self.units = int(units)
        self.embedding_dim = int(embedding_dim)
        self.hidden_units = int(hidden_units)

    def build(self, input_shape):
        hidden = self.hidden_units
        self.rater_embeddings = self.add_weight(
            name="rater_embeddings", shape=(self.num_raters, self.embedding_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.1))
        self.input_kernel = self.add_weight(name="input_kernel",
                                            shape=(input_shape[-1], hidden),
                                            initializer="glorot_uniform")
        self.rater_kernel = self.add_weight(name="rater_kernel",
                                            shape=(self.embedding_dim, hidden),
                                            initializer="glorot_uniform")
        self.hidden_bias = self.add_weight(name="hidden_bias", shape=(hidden,),
                                           initializer="zeros")
        self.output_kernel = self.add_weight(name="output_kernel", shape=(hidden, self.units),
                                             initializer="glorot_uniform")
        self.output_bias = self.add_weight(name="output_bias", shape=(self.units,),
                                           initializer="zeros")

    def call(self, inputs):
        from_input = ops.matmul(inputs, self.input_kernel)                    # [B, H]
        from_rater = ops.matmul(self.rater_embeddings, self.rater_kernel)     # [R, H]
        hidden = ops.relu(ops.expand_dims(from_input, 1) + ops.expand_dims(from_rater, 0)
                          + self.hidden_bias)                                 # [B, R, H]
        return ops.einsum("brh,hk->brk", hidden, self.output_kernel) + self.output_bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_raters, self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"num_raters": self.num_raters, "units": self.units,
                       "embedding_dim": self.embedding_dim,
                       "hidden_units": self.hidden_units})
        return config
