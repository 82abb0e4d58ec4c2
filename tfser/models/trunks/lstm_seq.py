"""Stacked LSTMs with frame-level outputs for time-continuous regression (paper 003)."""

from __future__ import annotations

from typing import Sequence

import keras

from tfser.models.layers import LengthMask, ZeroMaskedFrames
from tfser.models.trunks.registry import register_trunk


@register_trunk("lstm_seq", sequence_input=True, uses_lengths=True)
def lstm_seq(x, lengths, units: Sequence[int] = (256, 128, 64), dropout: float = 0.4):
    """Paper 003's network: ``[B, T, D]`` frames -> ``[B, T, units[-1]]`` frames.

    LSTM 256 -> 128 -> 64, each returning its sequence and followed by dropout 0.4.
    The recurrences skip padded frames and the output's padded frames are zero; the
    reader's ``[B, T]`` sample weights keep them out of the loss.

    Args:
      x: ``[B, T, D]`` frames (one or several early-fused feature sets).
      lengths: int32 ``[B]`` frame counts.
      units: Units of each LSTM layer.
      dropout: Rate after each LSTM layer.
    """
    if not units:
        raise ValueError("lstm_seq needs at least one LSTM layer")
    mask = LengthMask(name="frame_mask")(lengths, x)
    for index, width in enumerate(units, start=1):
        x = keras.layers.LSTM(int(width), return_sequences=True, name=f"lstm_{index}")(
            x, mask=mask)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return ZeroMaskedFrames(name="output_mask")(x, lengths)
