"""Typed model configuration: the features a model reads, its trunk and its heads.

A model is described by plain data so that an experiment YAML (or a Python dict) can
build it, and the same description can be saved beside the run::

    {"name": "mtl_000",
     "features": [{"name": "egemaps_functionals", "dim": 88}],
     "trunk": {"type": "dnn", "params": {"units": [512, 512]}},
     "heads": [{"name": "primary", "kind": "hard", "units": 8, "loss_weight": 0.44},
               {"name": "secondary", "kind": "secondary", "units": 8,
                "loss": "secondary_kl", "loss_weight": 0.56}]}

A head's ``kind`` is the label view it learns from (the ``kind`` of its
:class:`~tfser.features.example_codec.LabelFieldSpec`); it fixes the head type and the
default loss, so most heads need no more than a name, a kind and a size.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from tfser.config import checks
from tfser.features import example_codec
from tfser.features import spectrogram

# The head type that learns from each label view.
HEAD_TYPE_BY_KIND: Dict[str, str] = {
    "hard": "categorical",
    "soft": "categorical",
    "secondary": "multilabel",
    "existence": "existence",
    "per_rater": "per_rater",
    "dimensional": "regression",
    "speaker": "speaker",
}
HEAD_TYPES = ("categorical", "multilabel", "existence", "per_rater", "regression", "speaker")

# No config name in front: an experiment config reports these with its run directory.
_check = checks.Checks()


@dataclasses.dataclass(frozen=True)
class FeatureInput:
    """One named model input.

    Attributes:
      name: Feature-set name; the key of the features dict the model is fed.
      dim: Size of the last axis (ignored with a ``frontend``, which fixes it).
      sequence: True for ``[T, dim]`` frame matrices, False for ``[dim]`` vectors.
      frontend: Optional spectrogram front-end name
        (:data:`~tfser.features.spectrogram.LOG_POWER_001` or
        :data:`~tfser.features.spectrogram.SPECTROGRAM_004`): the input is then a
        ``[N]`` waveform turned into frames inside the model.
      sample_rate: Waveform rate for a ``frontend``.
    """

    name: str
    dim: Optional[int] = None
    sequence: bool = False
    frontend: Optional[str] = None
    sample_rate: int = 16000

    def __post_init__(self):
        if not self.name:
            _check.fail("feature input", f"needs a name, got {self.name!r}")
        if self.frontend is not None:
            # Raises on an unknown front-end or an unusable rate.
            spectrogram.stft_settings(self.frontend, self.sample_rate)
        elif self.dim is None or int(self.dim) <= 0:
            _check.fail(f"feature '{self.name}'", f"needs a positive dim, got {self.dim}")

    @property
    def frame_dim(self) -> int:
        """Size of the last axis of the frames (or vector) the trunk sees."""
        if self.frontend is not None:
            return spectrogram.output_shape(self.frontend, None, self.sample_rate)[1]
        return int(self.dim)

    @property
    def is_sequence(self) -> bool:
        """True when the trunk sees ``[B, T, D]`` frames (stored or computed)."""
        return self.sequence or self.frontend is not None

    @classmethod
    def from_spec(cls, spec: example_codec.FeatureSpec) -> "FeatureInput":
        """The input of a stored feature set."""
        return cls(name=spec.name, dim=spec.dim, sequence=spec.sequence)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeatureInput":
        return cls(**_check.fields(data, cls, f"feature {_name_of(data)}"))


@dataclasses.dataclass(frozen=True)
class TrunkConfig:
    """A trunk: a registered architecture over some of the model's features.

    Attributes:
      type: Registered trunk name (see :data:`tfser.models.trunks.TRUNKS`).
      features: Names of the inputs it reads (empty = all model features); several
        are concatenated along the last axis (early fusion).
      params: Keyword arguments of the trunk builder (layer sizes, dropout, ...).
      name: Name of the trunk sub-model (what :func:`~tfser.models.factory.get_trunk`
        looks up and what a saved trunk is called).
    """

    type: str
    features: Tuple[str, ...] = ()
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    name: str = "trunk"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrunkConfig":
        data = dict(_check.fields(data, cls, "trunk"))
        data["features"] = tuple(data.get("features", ()))
        data["params"] = dict(data.get("params") or {})
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class HeadConfig:
    """One named output.

    Attributes:
      name: Head name = label key = loss key = metric prefix = output key.
      units: Output size: classes, attributes (regression) or speakers.
      kind: Label view it learns from (``hard``, ``soft``, ``secondary``,
        ``existence``, ``per_rater``, ``dimensional``, ``speaker``); sets the default
        head type and loss.
      type: Head type (:data:`HEAD_TYPES`); defaults from ``kind``.
      hidden: Sizes of ReLU dense layers between the embedding and the output
        (001's classifier: ``(64,)``).
      dropout: Dropout rate after each hidden layer.
      loss: Registered loss name (:data:`tfser.models.losses.LOSSES`); defaults from
        ``kind`` / ``type``.
      loss_weight: Weight of this head's loss in the total loss.
      loss_params: Keyword arguments of the loss (e.g. ``attribute_weights``,
        ``positive_weights``); ``attribute_weights: learned`` makes a CCC head learn one
        weight per attribute (:class:`~tfser.models.layers.UncertaintyWeights`).
      params: Head-specific options (``num_raters``, ``rater_mode``, ...).
      classes: Optional names of the units (classes, attributes, speakers), e.g. for
        TensorBoard images; a head built from a stored label view takes them from the
        view (as evaluation and export do) and refuses a config that changes them.
    """

    name: str
    units: int
    kind: Optional[str] = None
    type: Optional[str] = None
    hidden: Tuple[int, ...] = ()
    dropout: float = 0.0
    loss: Optional[str] = None
    loss_weight: float = 1.0
    loss_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    classes: Tuple[str, ...] = ()

    def __post_init__(self):
        if not self.name:
            _check.fail("head", f"needs a name, got {self.name!r}")
        where = f"head '{self.name}'"
        if self.classes and len(self.classes) != int(self.units):
            _check.fail(where, f"{len(self.classes)} class names for {self.units} units")
        if self.kind is not None and self.kind not in HEAD_TYPE_BY_KIND:
            _check.fail(where, f"unknown label kind {self.kind!r}; "
                               f"choose from {sorted(HEAD_TYPE_BY_KIND)}")
        if self.type is None and self.kind is None:
            _check.fail(where, "needs a kind or a type")
        if self.head_type not in HEAD_TYPES:
            _check.fail(where, f"unknown head type {self.head_type!r}; "
                               f"choose from {list(HEAD_TYPES)}")
        if int(self.units) <= 0:
            _check.fail(where, f"needs positive units, got {self.units}")
        if self.loss_weight < 0:
            _check.fail(where, f"negative loss weight {self.loss_weight}")
        if not 0.0 <= self.dropout < 1.0:
            _check.fail(where, f"dropout must be in [0, 1), got {self.dropout}")
        weights = self.loss_params.get("attribute_weights")
        if isinstance(weights, str):
            if weights != LEARNED:
                _check.fail(where, f"loss_params.attribute_weights must be a list of numbers "
                                   f"or {LEARNED!r}, got {weights!r}")
            loss = self.loss or ("ccc" if self.head_type == "regression" else None)
            if loss != "ccc":
                _check.fail(where, f"loss_params.attribute_weights: {LEARNED} weights the "
                                   f"attributes of the ccc loss; this head's loss is {loss!r}")

    @property
    def learns_attribute_weights(self) -> bool:
        """True with ``loss_params.attribute_weights: learned`` (one weight per unit)."""
        return self.loss_params.get("attribute_weights") == LEARNED

    @property
    def attribute_terms(self) -> Tuple[str, ...]:
        """``<head>/<attribute>`` per unit (the unit's index without class names): the
        keys of its learned attribute weights."""
        names = self.classes or tuple(str(i) for i in range(int(self.units)))
        return tuple(f"{self.name}/{name}" for name in names)

    @property
    def head_type(self) -> str:
        """The head type, given or implied by the label kind."""
        return self.type or HEAD_TYPE_BY_KIND[self.kind]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HeadConfig":
        data = dict(_check.fields(data, cls, f"head {_name_of(data)}"))
        data["hidden"] = tuple(data.get("hidden", ()))
        data["loss_params"] = dict(data.get("loss_params") or {})
        data["params"] = dict(data.get("params") or {})
        data["classes"] = tuple(data.get("classes", ()))
        return cls(**data)

    @classmethod
    def from_label_spec(cls, spec: example_codec.LabelFieldSpec, **overrides) -> "HeadConfig":
        """A head for a stored label view (its size and rater count read from the spec).

        Args:
          spec: The view's spec from ``dataset_info.json``.
          **overrides: Any other :class:`HeadConfig` field (``hidden``, ``loss``, ...).
        """
        if spec.kind not in HEAD_TYPE_BY_KIND:
            _check.fail(f"label '{spec.head}'", f"unknown kind {spec.kind!r}; choose from "
                                                f"{sorted(HEAD_TYPE_BY_KIND)}")
        units = spec.shape[-1] if spec.shape else len(spec.classes)
        params = dict(overrides.pop("params", {}) or {})
        if spec.kind == "per_rater":
            params.setdefault("num_raters", spec.shape[0])
        # Per-rater specs list rater ids as classes; the head's units are the K classes.
        classes = spec.classes if len(spec.classes) == units else ()
        fields = {"name": spec.head, "kind": spec.kind, "units": units, "params": params,
                  "classes": classes}
        for key in ("units", "classes", "kind"):
            # The stored targets are indexed by the view's vocabulary: a config that
            # renamed or reordered it would mislabel every report and export.
            if key in overrides and tuple(_as_tuple(overrides[key])) != tuple(
                    _as_tuple(fields[key])):
                _check.fail(f"head '{spec.head}'", f"{key} come from the stored label view "
                                                   f"({fields[key]!r}); the config gives "
                                                   f"{overrides[key]!r}")
        fields.update(overrides)
        return cls.from_dict(fields)


LOSS_WEIGHTINGS = ("fixed", "uncertainty")
# ``loss_params.attribute_weights`` of a CCC head that learns them.
LEARNED = "learned"


def check_learned_weights(loss_weighting: str, learning_heads: Sequence[str],
                          checker: checks.Checks = _check) -> None:
    """Refuses ``loss_weighting: uncertainty`` beside heads that learn their attribute
    weights (``learning_heads``): each would rescale the same loss twice."""
    if loss_weighting == "uncertainty" and learning_heads:
        checker.fail("model.loss_weighting",
                     f"uncertainty learns a weight per head, and head '{learning_heads[0]}' "
                     f"learns one per attribute (attribute_weights: {LEARNED}); use one")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """A whole model: inputs, one trunk, named heads.

    Attributes:
      features: The model's inputs.
      trunk: The shared trunk.
      heads: The heads, each on the trunk's embedding.
      name: Keras model name.
      loss_weighting: ``fixed`` (each head's ``loss_weight``) or ``uncertainty`` (weights
        learned during training: :class:`~tfser.models.layers.UncertaintyWeights`; the
        heads' ``loss_weight`` values are then not used). Not both ``uncertainty`` and
        a head with ``attribute_weights: learned``.
    """

    features: Tuple[FeatureInput, ...]
    trunk: TrunkConfig
    heads: Tuple[HeadConfig, ...]
    name: str = "tfser_model"
    loss_weighting: str = "fixed"

    def __post_init__(self):
        _check.choice(self.loss_weighting, "model.loss_weighting", LOSS_WEIGHTINGS)
        check_learned_weights(self.loss_weighting,
                              [h.name for h in self.heads if h.learns_attribute_weights])
        names = [feature.name for feature in self.features]
        if not names:
            _check.fail("model", "needs at least one feature input")
        if len(set(names)) != len(names):
            _check.fail("model", f"duplicate feature inputs in {names}")
        check_head_names(self.heads)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        return cls(features=tuple(as_feature_input(f) for f in data["features"]),
                   trunk=as_trunk_config(data["trunk"]),
                   heads=tuple(as_head_config(h) for h in data["heads"]),
                   name=data.get("name", "tfser_model"),
                   loss_weighting=data.get("loss_weighting", "fixed"))

    def to_dict(self) -> Dict[str, Any]:
        """A plain, YAML-ready copy (tuples as lists)."""
        def plain(value):
            if isinstance(value, Mapping):
                return {key: plain(item) for key, item in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(item) for item in value]
            return value
        return plain(dataclasses.asdict(self))


def check_head_names(heads: Sequence[HeadConfig]) -> None:
    """Raises a ``ConfigError`` on an empty head list or duplicate head names."""
    names = [head.name for head in heads]
    if not names:
        _check.fail("model", "needs at least one head")
    if len(set(names)) != len(names):
        _check.fail("model", f"duplicate head names in {names}")


def as_feature_input(value: Union[FeatureInput, example_codec.FeatureSpec, Mapping]
                     ) -> FeatureInput:
    """Accepts a :class:`FeatureInput`, a stored ``FeatureSpec`` or a dict."""
    if isinstance(value, FeatureInput):
        return value
    if isinstance(value, example_codec.FeatureSpec):
        return FeatureInput.from_spec(value)
    return FeatureInput.from_dict(value)


def as_trunk_config(value: Union[TrunkConfig, Mapping]) -> TrunkConfig:
    """Accepts a :class:`TrunkConfig` or a dict."""
    return value if isinstance(value, TrunkConfig) else TrunkConfig.from_dict(value)


def as_head_config(value: Union[HeadConfig, Mapping]) -> HeadConfig:
    """Accepts a :class:`HeadConfig` or a dict."""
    return value if isinstance(value, HeadConfig) else HeadConfig.from_dict(value)


def as_model_config(value: Union[ModelConfig, Mapping]) -> ModelConfig:
    """Accepts a :class:`ModelConfig` or a dict."""
    return value if isinstance(value, ModelConfig) else ModelConfig.from_dict(value)


def _name_of(data: Any) -> str:
    """How a feature or head given as ``data`` is named in a message."""
    return repr(data.get("name", "?")) if isinstance(data, Mapping) else "?"


def _as_tuple(value):
    """``value`` as a tuple for comparing config values (a scalar becomes a 1-tuple)."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)
