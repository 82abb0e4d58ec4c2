"""Dense -> BLSTM with attention -> dense block over frame features (paper 002)."""

from __future__ import annotations

import keras

from tfser.models.layers import AttentionPooling, LengthMask
from tfser.models.trunks.registry import register_trunk

ATTENTION_LAYER = "attention"


@register_trunk("blstm_dnn_attention", sequence_input=True, uses_lengths=True)
def blstm_dnn_attention(x, lengths, input_units: int = 256, lstm_units: int = 128,
                        attention_units: int = 0, output_units: int = 256,
                        dropout: float = 0.5):
    """Paper 002's BLSTM-DNN: ``[B, T, D]`` frames -> ``[B, output_units]``.

    Dense 256 (ReLU) per frame, a BLSTM of 128 units per direction, attention pooling
    over the real frames (Mirsamadi et al., 2017: linear scores, ``attention_units=0``)
    and dense 256 (ReLU), with dropout 0.5 after every layer. The embedding is the
    "last layer representation before softmax" that 002 concatenates across frozen
    components.

    Args:
      x: ``[B, T, D]`` frames (45 emobase LLDs averaged over 5 frames in 002).
      lengths: int32 ``[B]`` frame counts.
      input_units: Width of the frame-wise dense layer.
      lstm_units: BLSTM units per direction.
      attention_units: 0 for linear attention scores, else a tanh projection size.
      output_units: Width of the last dense layer (the embedding).
      dropout: Rate after every layer.
    """
    mask = LengthMask(name="frame_mask")(lengths, x)
    x = keras.layers.Dense(input_units, activation="relu", name="input_dense")(x)
    x = keras.layers.Dropout(dropout, name="input_dropout")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(lstm_units, return_sequences=True),
                                   name="blstm")(x, mask=mask)
    x = keras.layers.Dropout(dropout, name="blstm_dropout")(x)
    pooled, _ = AttentionPooling(attention_units, name=ATTENTION_LAYER)(x, mask=mask)
    x = keras.layers.Dense(output_units, activation="relu", name="output_dense")(pooled)
    return keras.layers.Dropout(dropout, name="output_dropout")(x)
