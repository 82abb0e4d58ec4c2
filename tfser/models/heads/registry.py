"""Head registry: head type -> the function that builds its layers on an embedding."""

from __future__ import annotations

from typing import Callable, Dict, Sequence

import keras

from tfser.models.config import HeadConfig, check_head_names

HeadBuilder = Callable[[keras.KerasTensor, HeadConfig], keras.KerasTensor]
HEADS: Dict[str, HeadBuilder] = {}


def register_head(*head_types: str):
    """Decorator registering a builder ``builder(embedding, config) -> output``."""
    def register(builder):
        for head_type in head_types:
            if head_type in HEADS:
                raise ValueError(f"head type {head_type!r} is already registered")
            HEADS[head_type] = builder
        return builder
    return register


def hidden_layers(x, config: HeadConfig):
    """The head's own ReLU dense layers (e.g. 001's 64-unit classifier layer)."""
    for index, width in enumerate(config.hidden, start=1):
        x = keras.layers.Dense(int(width), activation="relu",
                               name=f"{config.name}_hidden_{index}")(x)
        if config.dropout:
            x = keras.layers.Dropout(config.dropout, name=f"{config.name}_dropout_{index}")(x)
    return x


def require_utterance_level(embedding, config: HeadConfig) -> None:
    """Raises ValueError when a per-utterance head gets a frame-level embedding."""
    if len(embedding.shape) != 2:
        raise ValueError(f"head '{config.name}' ({config.head_type}) needs a [B, D] "
                         f"embedding, got shape {tuple(embedding.shape)}; use a pooling "
                         "trunk")


def build_head(config: HeadConfig, embedding) -> keras.KerasTensor:
    """The output of one head; its last layer is named after the head."""
    if config.head_type not in HEADS:
        raise ValueError(f"unknown head type {config.head_type!r}; registered: "
                         f"{sorted(HEADS)}")
    return HEADS[config.head_type](embedding, config)


def build_heads(heads: Sequence[HeadConfig], embedding) -> Dict[str, keras.KerasTensor]:
    """``{head name: output}`` of every head on a shared embedding."""
    check_head_names(heads)
    return {head.name: build_head(head, embedding) for head in heads}
