"""VGG-M / VGGVox-style CNN over fixed-length spectrogram segments (paper 004)."""

from __future__ import annotations

from typing import Sequence

import keras

from tfser.models.trunks.registry import register_trunk


def _conv(x, filters, kernel, strides, batch_norm, name, padding="same"):
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, name=name)(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


@register_trunk("vggm", sequence_input=True, uses_lengths=False)
def vggm(x, lengths=None, filters: Sequence[int] = (96, 256, 256, 256, 256),
         fc6_units: int = 4096, fc7_units: int = 1024, batch_norm: bool = True,
         dropout: float = 0.0):
    """Paper 004's shared layers (conv1 .. fc7): ``[B, T, F]`` -> ``[B, fc7_units]``.

    conv1 7x7/96 stride 2, max-pool 3x3 stride 2, conv2 5x5/256 stride 2, max-pool 3x3
    stride 2, conv3-5 3x3/256, max-pool 5x3 (frequency x time) stride 3x2, fc6 as a
    convolution spanning all remaining frequency bins (9x1 in the paper) with 4096
    filters, average pooling over time, fc7 1024. Each conv is followed by BatchNorm
    (as in VGGVox; the paper's table does not list it) and ReLU. Convolutions and
    pools use ``"same"`` padding, so any input size works (tests use tiny ones); on
    004's 398 x 512 segments the map before fc6 is 13 (time) x 11 (frequency) instead
    of the paper's 11 x 9.

    Segments have a fixed length (4 s), so there is no length masking; padding of a
    shorter-than-4 s utterance is part of the segment, as in the paper.

    Args:
      x: ``[B, T, F]`` spectrogram (time first, as the featurizer stores it).
      lengths: Unused.
      filters: Channels of conv1 .. conv5.
      fc6_units: Filters of fc6.
      fc7_units: Units of fc7 (the embedding).
      batch_norm: BatchNorm after each conv and fc6.
      dropout: Dropout after fc7 (0 = none).
    """
    if len(filters) != 5:
        raise ValueError(f"vggm needs 5 conv widths, got {list(filters)}")
    x = keras.layers.Reshape((-1, x.shape[-1], 1), name="add_channel")(x)
    x = _conv(x, filters[0], (7, 7), (2, 2), batch_norm, "conv1")
    x = keras.layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name="pool1")(x)
    x = _conv(x, filters[1], (5, 5), (2, 2), batch_norm, "conv2")
    x = keras.layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name="pool2")(x)
    for index, width in enumerate(filters[2:], start=3):
        x = _conv(x, width, (3, 3), (1, 1), batch_norm, f"conv{index}")
    # Paper: 5 (frequency) x 3 (time), stride 3 x 2; here axes are (time, frequency).
    x = keras.layers.MaxPooling2D((3, 5), strides=(2, 3), padding="same", name="pool5")(x)
    x = _conv(x, fc6_units, (1, x.shape[2]), (1, 1), batch_norm, "fc6", padding="valid")
    x = keras.layers.GlobalAveragePooling2D(name="apool6")(x)
    x = keras.layers.Dense(fc7_units, activation="relu", name="fc7")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="fc7_dropout")(x)
    return x
