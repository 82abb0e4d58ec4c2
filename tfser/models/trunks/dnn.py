"""Fully connected trunk over utterance-level feature vectors (paper 000)."""

from __future__ import annotations

from typing import Sequence

import keras

from tfser.models.trunks.registry import register_trunk


@register_trunk("dnn", sequence_input=False, uses_lengths=False)
def dnn(x, lengths=None, units: Sequence[int] = (512, 512), dropout: float = 0.0,
        activation: str = "relu"):
    """Stacked dense layers: ``[B, D] -> [B, units[-1]]``.

    Paper 000 shares two ReLU layers of 512 units between its primary and secondary
    heads; it does not report dropout, so the default is none.

    Args:
      x: ``[B, D]`` features (eGeMAPS functionals in 000).
      lengths: Unused (vector input).
      units: Width of each dense layer.
      dropout: Rate of the dropout after each layer (0 = none).
      activation: Activation of each layer.
    """
    if not units:
        raise ValueError("dnn needs at least one layer")
    for index, width in enumerate(units, start=1):
        x = keras.layers.Dense(int(width), activation=activation, name=f"dense_{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return x
