"""Softmax heads: emotion classes (hard or soft targets) and speaker identity (004)."""

from __future__ import annotations

import keras

from tfser.models.config import HeadConfig
from tfser.models.heads.registry import hidden_layers, register_head, require_utterance_level


@register_head("categorical", "speaker")
def categorical(embedding, config: HeadConfig):
    """``[B, D] -> [B, K]`` class probabilities.

    The same output serves hard targets (class indices, sparse cross-entropy) and soft
    targets (distributions, cross-entropy); the loss follows the head's ``kind``.
    """
    require_utterance_level(embedding, config)
    x = hidden_layers(embedding, config)
    logits = keras.layers.Dense(config.units, name=f"{config.name}_logits")(x)
    return keras.layers.Activation("softmax", name=config.name)(logits)
