"""The ``keras.Input`` layers of a model and the frames a trunk sees.

Inputs are named after the feature sets the reader yields (see
:mod:`tfser.data.reader`): ``[B, D]`` vectors, ``[B, T, D]`` frame matrices padded to
the longest example of the batch, and ``<feature>_length`` int32 ``[B]`` frame counts.
A feature with a spectrogram ``frontend`` is a ``[B, N]`` waveform turned into frames
in the model (its length input then counts samples).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import keras

from tfser.features import spectrogram
from tfser.features.example_codec import length_key
from tfser.models.config import FeatureInput
from tfser.models.layers import FrameCount


def select_features(features: Sequence[FeatureInput], names: Sequence[str]
                    ) -> List[FeatureInput]:
    """The features named in ``names`` (all when empty), in that order.

    Raises:
      ValueError: A name the model does not declare.
    """
    by_name = {feature.name: feature for feature in features}
    if not names:
        return list(features)
    missing = [name for name in names if name not in by_name]
    if missing:
        raise ValueError(f"trunk reads undeclared features {missing}; declared: "
                         f"{sorted(by_name)}")
    return [by_name[name] for name in names]


def make_inputs(features: Sequence[FeatureInput], with_lengths: bool
                ) -> Dict[str, keras.KerasTensor]:
    """One ``keras.Input`` per feature, plus length inputs of sequence features."""
    inputs: Dict[str, keras.KerasTensor] = {}
    for feature in features:
        if feature.frontend is not None:
            shape: Tuple[Optional[int], ...] = (None,)
        elif feature.sequence:
            shape = (None, feature.frame_dim)
        else:
            shape = (feature.frame_dim,)
        inputs[feature.name] = keras.Input(shape=shape, name=feature.name)
        if with_lengths and feature.is_sequence:
            key = length_key(feature.name)
            inputs[key] = keras.Input(shape=(), dtype="int32", name=key)
    return inputs


def _frames(inputs: Dict[str, keras.KerasTensor], feature: FeatureInput):
    """``(x, lengths)`` of one feature; a waveform goes through its front-end."""
    x = inputs[feature.name]
    lengths = inputs.get(length_key(feature.name))
    if feature.frontend is None:
        return x, lengths
    x = spectrogram.SpectrogramLayer(feature.frontend, sample_rate=feature.sample_rate,
                                     name=f"{feature.name}_frontend")(x)
    if lengths is not None:
        settings = spectrogram.stft_settings(feature.frontend, feature.sample_rate)
        lengths = FrameCount(settings.frame_length, settings.frame_step,
                             name=f"{feature.name}_frames")(lengths)
    return x, lengths


def trunk_features(inputs: Dict[str, keras.KerasTensor], features: Sequence[FeatureInput]):
    """``(x, lengths)``: the features concatenated on the last axis (early fusion).

    Sequence features of one example share their frame count (the featurizer aligns
    streams of one rate), so the lengths of the first one serve for all.
    """
    pairs = [_frames(inputs, feature) for feature in features]
    tensors = [x for x, _ in pairs]
    x = tensors[0] if len(tensors) == 1 else keras.layers.Concatenate(
        axis=-1, name="early_fusion")(tensors)
    return x, pairs[0][1]
