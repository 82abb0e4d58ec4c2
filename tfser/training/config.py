"""ExperimentConfig: what one training run reads, builds and optimises.

Resolved in a fixed order by :func:`resolve_config`: a registered base experiment
(:data:`EXPERIMENTS`) -> YAML delta files (``configs/experiments/*.yaml``, applied in
turn, mappings merged key by key) -> ``key.path=value`` overrides (the
``--params_override`` flag, parsed by :mod:`tfser.config.overrides`) -> ``data_dir`` /
``fold`` given directly -> the ``smoke`` shrink -> validation (unknown keys and bad
values raise ``ValueError`` naming the key) -> a frozen :class:`ExperimentConfig`,
saved as ``params.yaml`` in the run directory by :func:`save_params`.

The ``model`` entry is the :mod:`tfser.models` description without what the data
already says: features and head sizes come from ``dataset_info.json`` (see
:mod:`tfser.training.task`), so a head needs only its name (= the stored label view)
plus any :class:`~tfser.models.HeadConfig` field to change::

    model:
      trunk: {type: dnn, params: {units: [512, 512]}}
      heads:
        - {name: emotion, loss_weight: 0.44}
        - {name: secondary, loss: secondary_kl, loss_weight: 0.56}
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
import os
import types
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

import yaml

from tfser.config import overrides as overrides_lib
from tfser.fileio import atomic
from tfser.training.experiments import EXPERIMENTS, shrink_for_smoke

PARAMS_FILE = "params.yaml"
OPTIMIZERS = ("adam", "adamax", "rmsprop", "sgd")
SCHEDULES = ("none", "step_decay")
MODEL_KEYS = ("name", "trunk", "heads")
TRUNK_KEYS = ("type", "features", "params", "name")


def _fail(where: str, message: str):
    raise ValueError(f"experiment config: {where}: {message}")


def _check_keys(data: Any, allowed: Iterable[str], where: str) -> None:
    if not isinstance(data, Mapping):
        _fail(where, f"must be a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        _fail(where, f"unknown keys {unknown}; allowed: {sorted(allowed)}")


def _number(value: Any, where: str, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, str):
        # YAML 1.1 reads "1e-4" (no dot) as a string; accept what float() reads.
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value \
            or value < minimum or (strict and value == minimum) or value == float("inf"):
        _fail(where, f"must be a finite number {'>' if strict else '>='} {minimum}, "
                     f"got {value!r}")
    return float(value)


def _integer(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        _fail(where, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _freeze(value: Any) -> Any:
    """Read-only copy of plain data: mappings become proxies, lists tuples."""
    if isinstance(value, Mapping):
        return types.MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """Plain, YAML-ready copy of data made by :func:`_freeze`."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """Learning-rate schedule: ``none`` or ``step_decay`` (x ``factor`` every N epochs)."""

    type: str = "none"
    every_epochs: int = 10
    factor: float = 0.5

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ScheduleConfig":
        _check_keys(data, [f.name for f in dataclasses.fields(cls)], "optimizer.schedule")
        merged = {**dataclasses.asdict(cls()), **data}
        if merged["type"] not in SCHEDULES:
            _fail("optimizer.schedule.type", f"must be one of {list(SCHEDULES)}, got "
                                             f"{merged['type']!r}")
        return cls(type=merged["type"],
                   every_epochs=_integer(merged["every_epochs"],
                                         "optimizer.schedule.every_epochs", 1),
                   factor=_number(merged["factor"], "optimizer.schedule.factor", strict=True))

    def learning_rate(self, base: float, epoch: int) -> float:
        """The rate of a 0-based ``epoch`` given the base rate."""
        if self.type == "step_decay":
            return base * self.factor ** (epoch // self.every_epochs)
        return base


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer name and settings (``momentum`` is used by rmsprop and sgd only)."""

    name: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: ScheduleConfig = ScheduleConfig()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OptimizerConfig":
        _check_keys(data, [f.name for f in dataclasses.fields(cls)], "optimizer")
        name = data.get("name", cls.name)
        if name not in OPTIMIZERS:
            _fail("optimizer.name", f"must be one of {list(OPTIMIZERS)}, got {name!r}")
        return cls(name=name,
                   learning_rate=_number(data.get("learning_rate", cls.learning_rate),
                                         "optimizer.learning_rate", strict=True),
                   momentum=_number(data.get("momentum", 0.0), "optimizer.momentum"),
                   weight_decay=_number(data.get("weight_decay", 0.0),
                                        "optimizer.weight_decay"),
                   schedule=ScheduleConfig.from_dict(data.get("schedule") or {}))


@dataclasses.dataclass(frozen=True)
class EarlyStoppingConfig:
    """Stop when ``monitor`` has not improved for ``patience`` epochs (0 = never stop)."""

    monitor: str = "val_loss"
    patience: int = 10

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EarlyStoppingConfig":
        _check_keys(data, ("monitor", "patience"), "early_stopping")
        monitor = data.get("monitor", cls.monitor)
        if monitor != "val_loss":
            _fail("early_stopping.monitor", f"only val_loss is supported, got {monitor!r}")
        return cls(monitor=monitor, patience=_integer(data.get("patience", cls.patience),
                                                      "early_stopping.patience", 0))


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """A validated, frozen training configuration (build with :func:`resolve_config`).

    Attributes:
      name: Experiment name (the registered base it started from).
      description: Free text.
      data_dir: Featurized directory (``tfser-featurize --out``).
      fold: Fold of the split protocol (index or name).
      features: Feature sets the model reads (empty = all stored).
      model: ``{name, trunk, heads}`` as described in the module docstring (read-only).
      optimizer: Optimizer settings.
      batch_size: Examples per training batch (global, over all replicas).
      epochs: Maximum number of epochs.
      max_steps_per_epoch: Cap on training batches per epoch (0 = a full pass).
      early_stopping: Early-stopping settings.
      seed: Seed of weights, shuffling and dropout.
      shuffle: Shuffle the training data. Keras' ``fit`` under a distribution
        strategy opens one extra pass over the data to build the model, so shuffled
        orders differ from a default-strategy run; compare strategies unshuffled.
      class_weighting: Head -> whether its inverse class frequencies weight its loss.
      smoke: True when the run was shrunk to seconds (recorded, not re-applied).
    """

    name: str
    data_dir: str = ""
    fold: Any = 0
    features: Tuple[str, ...] = ()
    model: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    optimizer: OptimizerConfig = OptimizerConfig()
    batch_size: int = 32
    epochs: int = 100
    max_steps_per_epoch: int = 0
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()
    seed: int = 0
    shuffle: bool = True
    class_weighting: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    smoke: bool = False
    description: str = ""

    @property
    def head_names(self) -> Tuple[str, ...]:
        return tuple(head["name"] for head in self.model["heads"])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ExperimentConfig":
        """Validates a plain dict (e.g. a loaded ``params.yaml``).

        Raises:
          ValueError: Unknown keys or bad values (the message names the key).
        """
        _check_keys(data, [f.name for f in dataclasses.fields(cls)], "top level")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            _fail("name", f"must be a non-empty string, got {name!r}")
        fold = data.get("fold", 0)
        if isinstance(fold, bool) or not isinstance(fold, (int, str)) or \
                (isinstance(fold, int) and fold < 0):
            _fail("fold", f"must be a fold index >= 0 or a fold name, got {fold!r}")
        features = data.get("features") or []
        if isinstance(features, str) or not isinstance(features, (list, tuple)) or \
                not all(isinstance(f, str) and f for f in features):
            _fail("features", f"must be a list of feature-set names, got {features!r}")
        model = _check_model(data.get("model"))
        heads = [head["name"] for head in model["heads"]]
        class_weighting = data.get("class_weighting") or {}
        _check_keys(class_weighting, heads, "class_weighting")
        for head, value in class_weighting.items():
            if not isinstance(value, bool):
                _fail(f"class_weighting.{head}", f"must be true or false, got {value!r}")
        for key in ("smoke", "shuffle"):
            if not isinstance(data.get(key, False), bool):
                _fail(key, f"must be true or false, got {data.get(key)!r}")
        return cls(
            name=name, description=str(data.get("description", "")),
            data_dir=str(data.get("data_dir") or ""), fold=fold, features=tuple(features),
            model=_freeze(model),
            optimizer=OptimizerConfig.from_dict(data.get("optimizer") or {}),
            batch_size=_integer(data.get("batch_size", cls.batch_size), "batch_size", 1),
            epochs=_integer(data.get("epochs", cls.epochs), "epochs", 1),
            max_steps_per_epoch=_integer(data.get("max_steps_per_epoch", 0),
                                         "max_steps_per_epoch", 0),
            early_stopping=EarlyStoppingConfig.from_dict(data.get("early_stopping") or {}),
            seed=_integer(data.get("seed", 0), "seed", 0),
            shuffle=data.get("shuffle", True),
            class_weighting=_freeze(dict(class_weighting)), smoke=data.get("smoke", False))

    def to_dict(self) -> Dict[str, Any]:
        """Plain-dict form; ``from_dict(to_dict())`` gives an equal config."""
        return {
            "name": self.name, "description": self.description, "data_dir": self.data_dir,
            "fold": self.fold, "features": list(self.features), "model": _thaw(self.model),
            "optimizer": dataclasses.asdict(self.optimizer), "batch_size": self.batch_size,
            "epochs": self.epochs, "max_steps_per_epoch": self.max_steps_per_epoch,
            "early_stopping": dataclasses.asdict(self.early_stopping), "seed": self.seed,
            "shuffle": self.shuffle,
            "class_weighting": _thaw(self.class_weighting), "smoke": self.smoke,
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _check_model(model: Any) -> Dict[str, Any]:
    _check_keys(model, MODEL_KEYS, "model")
    _check_keys(model.get("trunk"), TRUNK_KEYS, "model.trunk")
    trunk_type = model["trunk"].get("type")
    # Imported here: the trunk registry loads Keras, which --help should not need.
    from tfser.models.trunks import TRUNKS  # pylint: disable=import-outside-toplevel
    if trunk_type not in TRUNKS:
        _fail("model.trunk.type", f"unknown trunk {trunk_type!r}; registered: "
                                  f"{sorted(TRUNKS)}")
    if not isinstance(model["trunk"].get("params") or {}, Mapping):
        _fail("model.trunk.params", "must be a mapping of the trunk builder's arguments")
    heads = model.get("heads")
    if not isinstance(heads, (list, tuple)) or not heads:
        _fail("model.heads", f"must be a non-empty list of heads, got {heads!r}")
    for index, head in enumerate(heads):
        if not isinstance(head, Mapping) or not isinstance(head.get("name"), str):
            _fail(f"model.heads.{index}", f"must be a mapping with a name, got {head!r}")
    names = [head["name"] for head in heads]
    if len(set(names)) != len(names):
        _fail("model.heads", f"duplicate head names {names}")
    return _thaw(model)


def _merge(base: Dict[str, Any], delta: Mapping[str, Any]) -> Dict[str, Any]:
    """``base`` updated by ``delta``; mappings merge key by key, other values replace."""
    out = dict(base)
    for key, value in delta.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_yaml(path: str) -> Dict[str, Any]:
    """Reads one delta file (a YAML mapping; an empty file is an empty delta)."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: an experiment config must be a YAML mapping")
    return dict(data)


def resolve_config(experiment: str, config_files: Iterable[str] = (),
                   overrides: Iterable[str] = (), data_dir: Optional[str] = None,
                   fold: Any = None, smoke: bool = False) -> ExperimentConfig:
    """Registered base <- delta files <- overrides <- data_dir/fold <- smoke, validated.

    Args:
      experiment: A name of :data:`EXPERIMENTS`.
      config_files: YAML deltas, applied in order.
      overrides: ``key.path=value`` items (each may hold several, comma-separated).
      data_dir: Replaces the config's data directory when given.
      fold: Replaces the config's fold when given.
      smoke: Shrink the run to seconds (:func:`shrink_for_smoke`).

    Raises:
      ValueError: Unknown experiment, bad files, overrides, keys or values.
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; registered: "
                         f"{sorted(EXPERIMENTS)}")
    data = copy.deepcopy(EXPERIMENTS[experiment])
    where = experiment
    for path in config_files:
        data = _merge(data, read_yaml(path))
        where += f" + {path}"
    data = overrides_lib.apply_overrides(data, overrides)
    if data_dir is not None:
        data["data_dir"] = os.fspath(data_dir)
    if fold is not None:
        data["fold"] = fold
    if smoke:
        data = shrink_for_smoke(data)
    try:
        return ExperimentConfig.from_dict(data)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def save_params(config: ExperimentConfig, model_dir: str) -> str:
    """Writes ``params.yaml`` into ``model_dir`` (created) and returns its path."""
    os.makedirs(model_dir, exist_ok=True)
    path = os.path.join(model_dir, PARAMS_FILE)
    atomic.write_text(path, config.to_yaml())
    return path


def load_params(model_dir: str) -> ExperimentConfig:
    """Reads back the ``params.yaml`` of a run directory."""
    with open(os.path.join(model_dir, PARAMS_FILE), encoding="utf-8") as handle:
        return ExperimentConfig.from_dict(yaml.safe_load(handle))
