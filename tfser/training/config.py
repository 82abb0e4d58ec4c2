"""ExperimentConfig: what one training run reads, builds and optimises.

Resolved in a fixed order by :func:`resolve_config`: a registered base experiment
(:data:`EXPERIMENTS`) -> YAML delta files (``configs/experiments/*.yaml``, applied in
turn, mappings merged key by key) -> ``key.path=value`` overrides (the
``--params_override`` flag, parsed by :mod:`tfser.config.overrides`) -> ``data_dir`` /
``fold`` given directly -> the ``smoke`` shrink -> validation (unknown keys and bad
values raise :class:`~tfser.config.checks.ConfigError`, a ``ValueError``, naming the
key) -> a frozen :class:`ExperimentConfig`, saved as ``params.yaml`` in the run
directory by :func:`save_params`.

A trunk may also be restored from earlier runs (two-stage training, papers 001 and
002): ``trunk: {init_from: <run, cross-validation dir or trunk .keras>, freeze: true}``
takes that run's trained trunk (of the same fold, for a cross-validation), and
``trunk: {fuse: [<run>, <run>], freeze: true}`` concatenates several under new heads.
With ``precompute: true`` as well, the frozen trunks run once per example (inference
mode: no dropout) and only the new heads train on their stored embeddings, instead of
the trunks running forward on every batch of every epoch.

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
import os
import types
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

import yaml

from tfser.config import checks
from tfser.config import overrides as overrides_lib
from tfser.fileio import atomic
from tfser.training.experiments import EXPERIMENTS, shrink_for_smoke

PARAMS_FILE = "params.yaml"
OPTIMIZERS = ("adam", "adamax", "rmsprop", "sgd")
WEIGHT_DECAY_MODES = ("decoupled", "coupled")
SCHEDULES = ("none", "step_decay")
MODEL_KEYS = ("name", "trunk", "heads", "loss_weighting")
TRUNK_KEYS = ("type", "features", "params", "name", "init_from", "fuse", "freeze",
              "precompute")


_check = checks.Checks("experiment config")


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
        _check.fields(data, cls, "optimizer.schedule")
        merged = {**dataclasses.asdict(cls()), **data}
        return cls(type=_check.choice(merged["type"], "optimizer.schedule.type", SCHEDULES),
                   every_epochs=_check.integer(merged["every_epochs"],
                                               "optimizer.schedule.every_epochs", 1),
                   factor=_check.number(merged["factor"], "optimizer.schedule.factor",
                                        strict=True))

    def learning_rate(self, base: float, epoch: int) -> float:
        """The rate of a 0-based ``epoch`` given the base rate."""
        if self.type == "step_decay":
            return base * self.factor ** (epoch // self.every_epochs)
        return base


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer name and settings (``momentum`` is used by rmsprop and sgd only).

    ``weight_decay_mode``: ``decoupled`` (Keras' ``weight_decay``: the variables shrink
    after each update) or ``coupled`` (an L2 term added to the gradient, through the
    momentum, as Caffe / MatConvNet and paper 004 apply it).
    """

    name: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    weight_decay_mode: str = "decoupled"
    schedule: ScheduleConfig = ScheduleConfig()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OptimizerConfig":
        _check.fields(data, cls, "optimizer")
        return cls(name=_check.choice(data.get("name", cls.name), "optimizer.name",
                                      OPTIMIZERS),
                   learning_rate=_check.number(data.get("learning_rate", cls.learning_rate),
                                               "optimizer.learning_rate", strict=True),
                   momentum=_check.number(data.get("momentum", 0.0), "optimizer.momentum"),
                   weight_decay=_check.number(data.get("weight_decay", 0.0),
                                              "optimizer.weight_decay"),
                   weight_decay_mode=_check.choice(
                       data.get("weight_decay_mode", cls.weight_decay_mode),
                       "optimizer.weight_decay_mode", WEIGHT_DECAY_MODES),
                   schedule=ScheduleConfig.from_dict(data.get("schedule") or {}))


@dataclasses.dataclass(frozen=True)
class EarlyStoppingConfig:
    """Stop when ``monitor`` has not improved for ``patience`` epochs (0 = never stop)."""

    monitor: str = "val_loss"
    patience: int = 10

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EarlyStoppingConfig":
        _check.keys(data, ("monitor", "patience"), "early_stopping")
        monitor = data.get("monitor", cls.monitor)
        if monitor != "val_loss":
            _check.fail("early_stopping.monitor",
                        f"only val_loss is supported, got {monitor!r}")
        return cls(monitor=monitor,
                   patience=_check.integer(data.get("patience", cls.patience),
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
      class_weighting: Head -> whether its inverse class frequencies weight its loss:
        one weight per class in the sample weights, or for a class-wise binary
        cross-entropy head (existence, multi-label) paper 001's existent /
        non-existent weights per class in the loss.
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
        _check.fields(data, cls, "top level")
        name = _check.string(data.get("name"), "name")
        fold = data.get("fold", 0)
        if isinstance(fold, bool) or not isinstance(fold, (int, str)) or \
                (isinstance(fold, int) and fold < 0):
            _check.fail("fold", f"must be a fold index >= 0 or a fold name, got {fold!r}")
        features = data.get("features") or []
        if isinstance(features, str) or not isinstance(features, (list, tuple)) or \
                not all(isinstance(f, str) and f for f in features):
            _check.fail("features",
                        f"must be a list of feature-set names, got {features!r}")
        model = _check_model(data.get("model"))
        heads = [head["name"] for head in model["heads"]]
        class_weighting = data.get("class_weighting") or {}
        _check.keys(class_weighting, heads, "class_weighting")
        for head, value in class_weighting.items():
            _check.boolean(value, f"class_weighting.{head}")
        for key in ("smoke", "shuffle"):
            _check.boolean(data.get(key, False), key)
        return cls(
            name=name, description=str(data.get("description", "")),
            data_dir=str(data.get("data_dir") or ""), fold=fold, features=tuple(features),
            model=_freeze(model),
            optimizer=OptimizerConfig.from_dict(data.get("optimizer") or {}),
            batch_size=_check.integer(data.get("batch_size", cls.batch_size), "batch_size",
                                      1),
            epochs=_check.integer(data.get("epochs", cls.epochs), "epochs", 1),
            max_steps_per_epoch=_check.integer(data.get("max_steps_per_epoch", 0),
                                               "max_steps_per_epoch", 0),
            early_stopping=EarlyStoppingConfig.from_dict(data.get("early_stopping") or {}),
            seed=_check.integer(data.get("seed", 0), "seed", 0),
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
    _check.keys(model, MODEL_KEYS, "model")
    _check.keys(model.get("trunk"), TRUNK_KEYS, "model.trunk")
    trunk = model["trunk"]
    if "freeze" in trunk:
        _check.boolean(trunk["freeze"], "model.trunk.freeze")
    if trunk.get("init_from") is not None or trunk.get("fuse") is not None:
        _check_restored_trunk(trunk)
        _check_heads(model.get("heads"))
        return _thaw(model)
    if "init_from" in trunk or "fuse" in trunk:
        # A registered two-stage experiment (e.g. 001_mlee_pretrain_hard) leaves its
        # first stage to the command line.
        key = "init_from" if "init_from" in trunk else "fuse"
        example = "<run dir>" if key == "init_from" else "[<run dir>, <run dir>]"
        _check.fail(f"model.trunk.{key}", f"names no first-stage run; pass "
                                          f"--params_override=model.trunk.{key}={example}")
    for key in ("freeze", "precompute"):
        if key in trunk:
            _check.fail(f"model.trunk.{key}", "applies to a restored trunk (init_from or fuse)")
    trunk_type = trunk.get("type")
    # Imported here: the trunk registry loads Keras, which --help should not need.
    from tfser.models.config import (  # pylint: disable=import-outside-toplevel
        LEARNED, LOSS_WEIGHTINGS, check_learned_weights)
    from tfser.models.trunks import TRUNKS  # pylint: disable=import-outside-toplevel
    _check.choice(model.get("loss_weighting", "fixed"), "model.loss_weighting", LOSS_WEIGHTINGS)
    if trunk_type not in TRUNKS:
        _check.fail("model.trunk.type", f"unknown trunk {trunk_type!r}; registered: "
                                        f"{sorted(TRUNKS)}")
    if not isinstance(model["trunk"].get("params") or {}, Mapping):
        _check.fail("model.trunk.params",
                    "must be a mapping of the trunk builder's arguments")
    _check_heads(model.get("heads"))
    check_learned_weights(model.get("loss_weighting", "fixed"), [
        head["name"] for head in model["heads"]
        if isinstance(head.get("loss_params"), Mapping)
        and head["loss_params"].get("attribute_weights") == LEARNED], _check)
    return _thaw(model)


def _check_restored_trunk(trunk: Mapping[str, Any]) -> None:
    """A trunk restored from earlier runs: ``init_from`` (one) or ``fuse`` (several)."""
    if trunk.get("init_from") is not None and trunk.get("fuse") is not None:
        _check.fail("model.trunk", "give init_from (one trunk) or fuse (several), not both")
    extra = sorted(set(trunk) - {"init_from", "fuse", "freeze", "precompute", "name"})
    if extra:
        _check.fail("model.trunk", f"{extra} describe a new trunk; a restored one (init_from "
                                   "or fuse) takes only its source(s), freeze and precompute")
    if "precompute" in trunk:
        _check.boolean(trunk["precompute"], "model.trunk.precompute")
        if trunk["precompute"] and not trunk.get("freeze", True):
            _check.fail("model.trunk.precompute", "needs frozen trunks (freeze: true): "
                                                  "fine-tuned trunks change every step")
    if trunk.get("init_from") is not None:
        _check.string(trunk["init_from"], "model.trunk.init_from")
    else:
        _check.names(trunk["fuse"], "model.trunk.fuse")


def _check_heads(heads: Any) -> None:
    if not isinstance(heads, (list, tuple)) or not heads:
        _check.fail("model.heads", f"must be a non-empty list of heads, got {heads!r}")
    for index, head in enumerate(heads):
        if not isinstance(head, Mapping) or not isinstance(head.get("name"), str):
            _check.fail(f"model.heads.{index}",
                        f"must be a mapping with a name, got {head!r}")
    names = [head["name"] for head in heads]
    if len(set(names)) != len(names):
        _check.fail("model.heads", f"duplicate head names {names}")


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
        raise checks.ConfigError(f"{path}: an experiment config must be a YAML mapping")
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
        raise checks.ConfigError(f"unknown experiment {experiment!r}; registered: "
                         f"{sorted(EXPERIMENTS)}")
    data = copy.deepcopy(EXPERIMENTS[experiment])
    where = experiment
    for path in config_files:
        data = _merge(data, read_yaml(path))
        where += f" + {path}"

    def build(merged: Dict[str, Any]) -> ExperimentConfig:
        merged = copy.deepcopy(merged)
        if data_dir is not None:
            merged["data_dir"] = os.fspath(data_dir)
        if fold is not None:
            merged["fold"] = fold
        return ExperimentConfig.from_dict(shrink_for_smoke(merged) if smoke else merged)

    return overrides_lib.build_with_overrides(data, overrides, build, where)


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
