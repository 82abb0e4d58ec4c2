"""Linear heads for dimensional attributes, per utterance or per frame (003)."""

from __future__ import annotations

import keras

from tfser.models.config import HeadConfig
from tfser.models.heads.registry import hidden_layers, register_head


@register_head("regression")
def regression(embedding, config: HeadConfig):
    """``[B, D] -> [B, A]`` or, on a frame-level trunk, ``[B, T, D] -> [B, T, A]``.

    ``params.activation`` (default linear; e.g. ``tanh`` for targets in [-1, 1]).
    """
    x = hidden_layers(embedding, config)
    values = keras.layers.Dense(config.units, name=f"{config.name}_values")(x)
    return keras.layers.Activation(config.params.get("activation", "linear"),
                                   name=config.name)(values)
