"""Trunk registry: a trunk name -> the function that builds its layers.

A trunk maps named feature inputs to an embedding and knows no loss or head. Each
architecture registers a builder ``builder(x, lengths, **params) -> embedding`` with
:func:`register_trunk`; :func:`build_trunk` makes the model's ``keras.Input`` layers,
hands the builder the (concatenated) features and wraps the result in its own
``keras.Model``, so a trunk can be saved, restored, frozen and reused alone.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable, Dict, Sequence

import keras

from tfser.models.config import FeatureInput, TrunkConfig
from tfser.models.trunks import inputs as inputs_lib


@dataclasses.dataclass(frozen=True)
class TrunkEntry:
    """A registered trunk.

    Attributes:
      builder: ``builder(x, lengths, **params) -> embedding``. ``x`` is ``[B, T, D]``
        frames for a sequence trunk (``lengths`` int32 ``[B]``, or None when the trunk
        does not use them) and ``[B, D]`` for a vector trunk.
      sequence_input: True when the trunk reads frame matrices.
      uses_lengths: True when it masks padded frames (it then gets a
        ``<feature>_length`` input per sequence feature).
    """

    builder: Callable[..., keras.KerasTensor]
    sequence_input: bool
    uses_lengths: bool


TRUNKS: Dict[str, TrunkEntry] = {}


def register_trunk(name: str, *, sequence_input: bool, uses_lengths: bool):
    """Decorator registering a trunk builder under ``name``."""
    def register(builder):
        if name in TRUNKS:
            raise ValueError(f"trunk {name!r} is already registered")
        TRUNKS[name] = TrunkEntry(builder, sequence_input, uses_lengths)
        return builder
    return register


def build_trunk(config: TrunkConfig, features: Sequence[FeatureInput]) -> keras.Model:
    """Builds a trunk as a functional model from named inputs to its embedding.

    Args:
      config: Trunk type, the features it reads and its hyper-parameters.
      features: All inputs the model declares (the trunk takes ``config.features``
        of them, or all).

    Returns:
      ``keras.Model`` named ``config.name`` whose input is a dict keyed by feature
      name (plus ``<feature>_length`` for masked sequence features) and whose output
      is the embedding.

    Raises:
      ValueError: Unknown trunk, feature or hyper-parameter, or features of the
        wrong kind.
    """
    if config.type not in TRUNKS:
        raise ValueError(f"unknown trunk {config.type!r}; registered: {sorted(TRUNKS)}")
    entry = TRUNKS[config.type]
    _check_params(config.type, entry.builder, config.params)
    selected = inputs_lib.select_features(features, config.features)
    for feature in selected:
        if feature.is_sequence != entry.sequence_input:
            wanted = "[T, D] frames" if entry.sequence_input else "[D] vectors"
            raise ValueError(f"trunk {config.type!r} reads {wanted}; feature "
                             f"'{feature.name}' is not one")
    model_inputs = inputs_lib.make_inputs(selected, with_lengths=entry.uses_lengths)
    x, lengths = inputs_lib.trunk_features(model_inputs, selected)
    embedding = entry.builder(x, lengths if entry.uses_lengths else None,
                              **dict(config.params))
    return keras.Model(model_inputs, embedding, name=config.name)


def _check_params(name: str, builder: Callable, params: Dict) -> None:
    """Raises ValueError naming the unknown hyper-parameters of a trunk."""
    accepted = list(inspect.signature(builder).parameters)[2:]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"trunk {name!r}: bad params {unknown}; it accepts {accepted}")
