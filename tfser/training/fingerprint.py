"""A run directory's fingerprint: which config and data it trains, and whether it finished.

Before training starts, :func:`~tfser.training.runner.run_experiment` writes
``<model_dir>/run.json``::

    {"fingerprint": {"config": "<sha256>", "data": "<sha256>"},
     "config": {... the resolved config, as params.yaml holds it ...},
     "data_dir": "...", "finished": false}

``config`` is the SHA-256 of the resolved config as canonical JSON (sorted keys, no
spaces), ``data`` the SHA-256 of the featurized directory's ``dataset_info.json``
(its counts, specs, hashes and normalisation statistics). When training ends the file is
rewritten with ``"finished": true`` and the epoch count. Both writes are atomic.

:func:`plan_run` decides what a new run does with a ``model_dir``:

* nothing there (or no run files): train (``new``);
* same fingerprint, not finished: resume from the last finished epoch (``resume``);
* same fingerprint, finished: nothing to do (``finished``);
* another fingerprint, or run files without ``run.json`` (written by an older tfser):
  refuse with a :class:`~tfser.config.errors.UserError` naming what differs, unless
  ``overwrite``, which trains afresh in ``<model_dir>.staging`` beside it; the caller
  swaps that in when training succeeded (``replace``), so a failed run leaves the old
  one intact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import Any, Dict, List, Mapping, Optional

from tfser.config.errors import UserError
from tfser.fileio import atomic
from tfser.training.config import PARAMS_FILE, ExperimentConfig
from tfser.training.run_dir import (CHECKPOINTS_DIR, DATASET_INFO_FILE, HISTORY_FILE,
                                    read_history)

RUN_FILE = "run.json"
STAGING_SUFFIX = ".staging"
# What any tfser leaves in a run directory once training started (BackupAndRestore's
# and the custom loop's backup folder is "backup").
RUN_FILES = (PARAMS_FILE, HISTORY_FILE, CHECKPOINTS_DIR, "backup")
# The states of :class:`RunPlan`.
NEW, RESUME, FINISHED, REPLACE = "new", "resume", "finished", "replace"
# Differences listed in a refusal before "and N more".
MAX_LISTED = 8
MAX_VALUE_CHARS = 40


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What to do with a run directory (see the module docstring).

    Attributes:
      state: ``new``, ``resume``, ``finished`` or ``replace``.
      model_dir: The run directory asked for.
      train_dir: Where training writes: ``model_dir``, or for ``replace`` the staging
        directory beside it.
      next_epoch: The first epoch (0-based) training runs.
      fingerprint: The new run's fingerprint.
    """

    state: str
    model_dir: str
    train_dir: str
    next_epoch: int
    fingerprint: Dict[str, str]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute(config: ExperimentConfig) -> Dict[str, str]:
    """``{"config": sha256, "data": sha256}`` of a resolved config and its data.

    Raises:
      UserError: The config's featurized directory has no ``dataset_info.json``.
    """
    info = os.path.join(config.data_dir or "", DATASET_INFO_FILE)
    if not os.path.exists(info):
        raise UserError(f"featurized directory '{config.data_dir}' has no "
                        f"{DATASET_INFO_FILE}, in experiment '{config.name}'; pass "
                        "--data_dir (a tfser-featurize --out directory)")
    with open(info, "rb") as handle:
        data_hash = hashlib.sha256(handle.read()).hexdigest()
    config_hash = hashlib.sha256(canonical_json(config.to_dict()).encode()).hexdigest()
    return {"config": config_hash, "data": data_hash}


def read_record(run_dir: str) -> Optional[Dict[str, Any]]:
    """The ``run.json`` of a run directory, or None when it has none.

    Raises:
      UserError: The file is not a run record.
    """
    path = os.path.join(run_dir, RUN_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except ValueError as error:
        raise UserError(f"{RUN_FILE} is not valid JSON ({error}), in {run_dir}; pass "
                        "--overwrite to replace the run, or choose another "
                        "--model_dir") from None
    if not isinstance(record, dict) or not isinstance(record.get("fingerprint"), dict):
        raise UserError(f"{RUN_FILE} has no fingerprint, in {run_dir}; pass --overwrite "
                        "to replace the run, or choose another --model_dir")
    return record


def write_record(run_dir: str, config: ExperimentConfig, fingerprint: Mapping[str, str],
                 finished: bool = False) -> None:
    """Writes ``run.json`` (atomically); a finished record also counts the epochs."""
    record: Dict[str, Any] = {"fingerprint": dict(fingerprint), "config": config.to_dict(),
                              "data_dir": config.data_dir, "finished": bool(finished)}
    if finished:
        record["epochs"] = len(read_history(run_dir))
        record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    os.makedirs(run_dir, exist_ok=True)
    atomic.write_json(os.path.join(run_dir, RUN_FILE), record)


def _flatten(value: Any, prefix: str, out: Dict[str, Any]) -> None:
    """Dotted paths of the leaves; list items that are mappings or lists get indices."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, tuple)) and any(isinstance(item, (Mapping, list, tuple))
                                                 for item in value):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}.{index}", out)
    else:
        out[prefix] = value


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 3] + "..."


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> List[str]:
    """``key.path: old -> new`` for every leaf that differs (``(none)`` when absent)."""
    old_flat: Dict[str, Any] = {}
    new_flat: Dict[str, Any] = {}
    _flatten(old, "", old_flat)
    _flatten(new, "", new_flat)
    keys = list(new_flat) + [key for key in old_flat if key not in new_flat]
    missing = object()
    out = []
    for key in keys:
        before, after = old_flat.get(key, missing), new_flat.get(key, missing)
        if before != after:
            out.append(f"{key}: {'(none)' if before is missing else _shown(before)} -> "
                       f"{'(none)' if after is missing else _shown(after)}")
    return out


def holds_run(run_dir: str) -> bool:
    """Whether a directory holds files of a run (any tfser version)."""
    return os.path.exists(os.path.join(run_dir, RUN_FILE)) or any(
        os.path.exists(os.path.join(run_dir, name)) for name in RUN_FILES)


def next_epoch(run_dir: str) -> int:
    """The first epoch a resumed run trains (after the last one in ``history.json``)."""
    return max((int(entry["epoch"]) + 1 for entry in read_history(run_dir)), default=0)


def staging_dir(model_dir: str) -> str:
    """Where an ``overwrite`` run trains before it replaces ``model_dir``."""
    return os.path.abspath(model_dir) + STAGING_SUFFIX


def _refusal(model_dir: str, record: Mapping[str, Any], config: ExperimentConfig,
             fingerprint: Mapping[str, str]) -> UserError:
    changed = []
    if record["fingerprint"].get("config") != fingerprint["config"]:
        changed = differences(record.get("config") or {}, config.to_dict()) or ["config"]
    if len(changed) > MAX_LISTED:
        changed = changed[:MAX_LISTED] + [f"and {len(changed) - MAX_LISTED} more"]
    if record["fingerprint"].get("data") != fingerprint["data"]:
        changed.append(f"data ({DATASET_INFO_FILE} changed)")
    return UserError(f"run directory {model_dir} holds another run (differs in "
                     f"{'; '.join(changed)}); pass --overwrite to replace it, or choose "
                     "another --model_dir")


def plan_run(model_dir: str, config: ExperimentConfig, overwrite: bool = False,
             fingerprint: Optional[Mapping[str, str]] = None) -> RunPlan:
    """Decides whether a run trains, resumes, is already done, or replaces another.

    Reads only; nothing is written.

    Args:
      model_dir: The run directory.
      config: The resolved experiment to train there.
      overwrite: Replace whatever run the directory holds.
      fingerprint: The config's :func:`compute` result (computed when not given).

    Raises:
      UserError: The directory holds another run (the message lists the differing
        config keys and whether the data changed), or run files without ``run.json``,
        and ``overwrite`` is False.
    """
    model_dir = os.path.abspath(model_dir)
    fingerprint = dict(fingerprint or compute(config))

    def plan(state: str, train_dir: str = model_dir, epoch: int = 0) -> RunPlan:
        return RunPlan(state, model_dir, train_dir, epoch, fingerprint)

    if not holds_run(model_dir):
        return plan(NEW)
    if overwrite:
        return plan(REPLACE, staging_dir(model_dir))
    record = read_record(model_dir)
    if record is None:
        raise UserError(f"run directory {model_dir} holds a run without {RUN_FILE} (written "
                        "by an older tfser), so it cannot be checked against this config; "
                        "pass --overwrite to replace it, or choose another --model_dir")
    if record["fingerprint"] != fingerprint:
        raise _refusal(model_dir, record, config, fingerprint)
    if record.get("finished"):
        return plan(FINISHED, epoch=next_epoch(model_dir))
    return plan(RESUME, epoch=next_epoch(model_dir))
