"""The files of a run directory: the history both trainers write, what later stages read.

Both trainers (:mod:`~tfser.training.trainer`, :mod:`~tfser.training.custom_loop`)
append each finished epoch to ``history.json`` here and write
``checkpoints/<best|last>.keras`` and ``params.yaml`` (whose ``data_dir`` is kept as
given to tfser-train). The stages that read a run (evaluate, export) find them again
with these helpers, which fail with the reason when something is missing.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional

from tfser.fileio import atomic
from tfser.training.config import PARAMS_FILE

CHECKPOINTS = ("best", "last")
CHECKPOINTS_DIR = "checkpoints"
HISTORY_FILE = "history.json"
# History keys of learned loss weights: loss_weight/<head> or loss_weight/<head>/<attribute>.
LOSS_WEIGHT_PREFIX = "loss_weight/"
# A cross-validation directory lists its fold runs here (tfser-train --fold=all).
FOLDS_FILE = "folds.json"
# The featurized directory's sidecar (tfser.features.dataset_info.DATASET_INFO_FILE).
DATASET_INFO_FILE = "dataset_info.json"


def read_history(model_dir: str) -> List[Dict[str, Any]]:
    """The ``history.json`` entries of a run directory (empty when there is none)."""
    path = os.path.join(model_dir, HISTORY_FILE)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def append_history(model_dir: str, epoch: int, logs: Optional[Mapping[str, Any]]) -> None:
    """Records a finished epoch's logs in ``history.json`` (kept across restarts).

    Entries of epochs at or after ``epoch`` (left by a run that was killed and
    restarted) are replaced, so the file always holds one entry per epoch in order.
    """
    entries = [e for e in read_history(model_dir) if e["epoch"] < epoch]
    entries.append({"epoch": int(epoch),
                    **{key: float(value) for key, value in (logs or {}).items()}})
    atomic.write_text(os.path.join(model_dir, HISTORY_FILE), json.dumps(entries, indent=1))


def final_loss_weights(model_dir: str) -> Dict[str, float]:
    """The learned loss weights of a run's last recorded epoch, ``{term: exp(-s)}`` with
    terms ``<head>`` or ``<head>/<attribute>``; empty for fixed weights or no history."""
    history = read_history(model_dir)
    if not history:
        return {}
    return {key[len(LOSS_WEIGHT_PREFIX):]: value for key, value in history[-1].items()
            if key.startswith(LOSS_WEIGHT_PREFIX)}


def fold_loss_weights(model_dir: str) -> Dict[str, Dict[str, float]]:
    """:func:`final_loss_weights` of each fold run of a cross-validation directory that
    learned its weights, by fold name (empty when none did)."""
    weights = {entry["name"]: final_loss_weights(os.path.join(model_dir, entry["dir"]))
               for entry in read_folds(model_dir)["folds"]}
    return {fold: terms for fold, terms in weights.items() if terms}


def checkpoint_path(run_dir: str, checkpoint: str = "best") -> str:
    """``<run_dir>/checkpoints/<checkpoint>.keras``, checked to exist.

    Raises:
      ValueError: ``checkpoint`` is not ``best`` or ``last``.
      FileNotFoundError: The run has no such checkpoint (the message lists those present).
    """
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {list(CHECKPOINTS)}, got "
                         f"{checkpoint!r}")
    path = os.path.join(run_dir, CHECKPOINTS_DIR, f"{checkpoint}.keras")
    if not os.path.exists(path):
        folder = os.path.dirname(path)
        present = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        raise FileNotFoundError(
            f"{run_dir}: no checkpoint {CHECKPOINTS_DIR}/{checkpoint}.keras (present: "
            f"{present or 'none'}); has this run trained at least one epoch?")
    return path


def resolve_data_dir(run_dir: str, configured: Optional[str],
                     given: Optional[str] = None) -> str:
    """The featurized directory of a run, as an absolute path.

    ``given`` (a ``--data_dir`` flag) is taken as it is. Otherwise ``configured`` (the
    ``data_dir`` of ``params.yaml``, often relative to where training ran, e.g. the
    repository with the run in ``runs/x``) is tried as it is, then against the run
    directory and each of its parents, so a run is found from any working directory.

    Raises:
      ValueError: Neither is set.
      FileNotFoundError: No candidate holds a ``dataset_info.json``.
    """
    if given is not None:
        if not os.path.exists(os.path.join(given, DATASET_INFO_FILE)):
            raise FileNotFoundError(
                f"featurized directory '{given}' (given data_dir) not found or has no "
                f"{DATASET_INFO_FILE}")
        return os.path.abspath(given)
    if not configured:
        raise ValueError(f"{os.path.join(run_dir, PARAMS_FILE)} names no data_dir; pass "
                         "data_dir (--data_dir)")
    candidates = [configured]
    if not os.path.isabs(configured):
        folder = os.path.abspath(run_dir)
        while True:
            candidates.append(os.path.join(folder, configured))
            if os.path.dirname(folder) == folder:
                break
            folder = os.path.dirname(folder)
    for candidate in candidates:
        if os.path.exists(os.path.join(candidate, DATASET_INFO_FILE)):
            return os.path.abspath(candidate)
    raise FileNotFoundError(
        f"featurized directory of run {run_dir} not found ('{configured}' from "
        f"{PARAMS_FILE}, as it is and relative to the run and its parents); pass data_dir "
        "(--data_dir) when the data moved")


def read_folds(model_dir: str) -> Dict[str, Any]:
    """The ``folds.json`` of a cross-validation directory.

    Raises:
      FileNotFoundError: The directory has none.
    """
    path = os.path.join(model_dir, FOLDS_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found; is {model_dir} a cross-validation "
                                "directory (written by train_folds / tfser-train "
                                "--fold=all)?")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
