"""Sigmoid heads: secondary emotions (000) and emotion existence (001)."""

from __future__ import annotations

import keras

from tfser.models.config import HeadConfig
from tfser.models.heads.registry import hidden_layers, register_head, require_utterance_level


@register_head("multilabel", "existence")
def multilabel(embedding, config: HeadConfig):
    """``[B, D] -> [B, K]`` independent per-class probabilities.

    ``multilabel`` learns 000's secondary vectors (binary cross-entropy, or 000's KL
    divergence with ``loss="secondary_kl"``, which normalises these outputs first);
    ``existence`` learns 001's presence vectors with per-class positive / negative
    weights in its loss.
    """
    require_utterance_level(embedding, config)
    x = hidden_layers(embedding, config)
    logits = keras.layers.Dense(config.units, name=f"{config.name}_logits")(x)
    return keras.layers.Activation("sigmoid", name=config.name)(logits)
