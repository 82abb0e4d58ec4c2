"""Convolutional-recurrent encoder with attention pooling over spectrograms (paper 001)."""

from __future__ import annotations

from typing import Sequence, Tuple

import keras

from tfser.models.layers import (AttentionPooling, DownsampleLengths, LengthMask,
                                 ZeroMaskedFrames)
from tfser.models.trunks.registry import register_trunk

ATTENTION_LAYER = "attention"


def _split_padding(kernel: int) -> Tuple[int, int]:
    """``k - 1`` zero frames around the input, more of them after it.

    A fixed split (unlike ``padding="same"``, whose split depends on the input length
    for odd kernels with stride 2) keeps every real frame's output independent of how
    far its batch was padded; with stride ``s`` the output has ``ceil(T / s)`` frames.
    """
    before = (kernel - 1) // 2
    return before, kernel - 1 - before


def conv_block(x, lengths, filters: int, kernel: Sequence[int], strides: Sequence[int],
               pool: Sequence[int], index: int):
    """Conv (explicitly padded) -> BatchNorm -> ReLU -> padding zeroed -> max-pool.

    Returns the block output ``[B, T', F', filters]`` and its frame counts.
    """
    x = keras.layers.ZeroPadding2D((_split_padding(kernel[0]), _split_padding(kernel[1])),
                                   name=f"conv{index}_pad")(x)
    x = keras.layers.Conv2D(filters, tuple(kernel), strides=tuple(strides), padding="valid",
                            name=f"conv{index}")(x)
    if strides[0] > 1:
        lengths = DownsampleLengths(strides[0], name=f"conv{index}_lengths")(lengths)
    x = keras.layers.BatchNormalization(name=f"conv{index}_bn")(x)
    x = keras.layers.ReLU(name=f"conv{index}_relu")(x)
    # Padded frames are non-zero after BatchNorm; zero them so the pooling of the last
    # real frame (which may straddle the boundary) sees what an unpadded run sees.
    x = ZeroMaskedFrames(name=f"conv{index}_mask")(x, lengths)
    x = keras.layers.MaxPooling2D(tuple(pool), strides=tuple(pool), padding="same",
                                  name=f"pool{index}")(x)
    if pool[0] > 1:
        lengths = DownsampleLengths(pool[0], name=f"pool{index}_lengths")(lengths)
    return x, lengths


@register_trunk("cnn_blstm_attention", sequence_input=True, uses_lengths=True)
def cnn_blstm_attention(x, lengths, filters: Sequence[int] = (16, 24, 32),
                        kernels: Sequence[Sequence[int]] = ((12, 16), (8, 12), (5, 7)),
                        strides: Sequence[Sequence[int]] = ((2, 2), (1, 1), (1, 1)),
                        pool: Sequence[int] = (2, 2), lstm_units: int = 128,
                        attention_units: int = 128, dropout: float = 0.0):
    """Paper 001's encoder: ``[B, T, F]`` spectrogram -> ``[B, 2 * lstm_units]``.

    Three conv blocks (16 ch 12x16 stride 2x2; 24 ch 8x12; 32 ch 5x7), each with
    BatchNorm, ReLU and 2x2 max-pooling; the maps are flattened per frame, fed to one
    BLSTM and pooled by single-head self-attention (Lin et al., 2017). Kernels and
    strides are ``(time, frequency)``; the paper does not say which axis comes first,
    nor the attention size (``attention_units``, 128 here) or whether the 128 BLSTM
    units are per direction (here: per direction, so the embedding has 256 values).

    Padded frames do not change the output: the lengths follow every time stride,
    padding is zeroed before each pooling and masked in the BLSTM and the attention.
    (In training, BatchNorm's batch statistics still include padded frames.)

    The attention weights are the second output of the layer named
    :data:`ATTENTION_LAYER`; :func:`tfser.models.factory.attention_model` exposes them.

    Args:
      x: ``[B, T, F]`` frames.
      lengths: int32 ``[B]`` frame counts.
      filters: Channels of each conv block.
      kernels: ``(time, freq)`` kernel of each block.
      strides: ``(time, freq)`` stride of each conv.
      pool: ``(time, freq)`` max-pooling size and stride after each conv.
      lstm_units: BLSTM units per direction.
      attention_units: Size of the attention's tanh projection.
      dropout: Dropout on the pooled embedding (0 = none; the paper gives none).
    """
    if not len(filters) == len(kernels) == len(strides):
        raise ValueError("filters, kernels and strides need one entry per conv block")
    x = ZeroMaskedFrames(name="input_mask")(x, lengths)
    x = keras.layers.Reshape((-1, x.shape[-1], 1), name="add_channel")(x)
    for index, (width, kernel, stride) in enumerate(zip(filters, kernels, strides), start=1):
        x, lengths = conv_block(x, lengths, int(width), kernel, stride, pool, index)
    x = keras.layers.Reshape((-1, x.shape[2] * x.shape[3]), name="frames")(x)
    mask = LengthMask(name="frame_mask")(lengths, x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(lstm_units, return_sequences=True),
                                   name="blstm")(x, mask=mask)
    pooled, _ = AttentionPooling(attention_units, name=ATTENTION_LAYER)(x, mask=mask)
    if dropout:
        pooled = keras.layers.Dropout(dropout, name="embedding_dropout")(pooled)
    return pooled
