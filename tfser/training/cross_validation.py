"""Cross-validation: one training run per fold of the featurized directory's protocol.

The folds are the split protocol's (leave one speaker out, leave one session out,
speaker k-fold or the official partition), named in ``dataset_info.json``.
:func:`train_folds` trains each selected fold into its own run directory::

    <model_dir>/folds.json                 experiment, data dir, protocol, and per fold:
                                           index, name, run dir, test speakers, done
    <model_dir>/folds/<fold>/              a normal run directory (params.yaml,
                                           history.json, checkpoints/, logs/)
    <model_dir>/folds/<fold>/DONE          written when the fold's training finished

Each fold is one :func:`~tfser.training.runner.run_experiment` under the run-directory
rules of :mod:`tfser.training.fingerprint`: run again with the same arguments, finished
folds are skipped and a fold that was interrupted resumes from its last finished epoch;
a fold directory that holds another run (another config, or other data) is refused,
before any fold trains, unless ``overwrite``, which replaces each selected fold's run
atomically.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import keras

from tfser import data
from tfser.fileio import atomic
from tfser.training import fingerprint as fingerprint_lib
from tfser.training.config import ExperimentConfig, resolve_config
# FOLDS_FILE and read_folds live with the other run-directory files (re-exported here).
from tfser.training.run_dir import FOLDS_FILE, read_folds, read_history  # noqa: F401
from tfser.training.runner import run_experiment
from tfser.training.runtime import check_strategy, is_chief

FOLDS_DIR = "folds"
DONE_FILE = "DONE"

FoldSelection = Union[str, int, Sequence[Union[int, str]]]


def fold_dir_name(name: str) -> str:
    """A directory name for a fold name (``loso:corpus:S01F`` -> ``loso_corpus_S01F``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._")
    return cleaned or "fold"


def _dir_names(names: Sequence[str]) -> Dict[str, str]:
    """Fold name -> distinct directory name (an index suffix resolves clashes)."""
    out: Dict[str, str] = {}
    used = set()  # case-folded: S01f and S01F must not share a folder on macOS/Windows
    for index, name in enumerate(names):
        base = candidate = fold_dir_name(name)
        suffix = index
        while candidate.casefold() in used:
            candidate = f"{base}_{suffix}"
            suffix += 1
        used.add(candidate.casefold())
        out[name] = candidate
    return out


def select_folds(info: data.DatasetInfo, folds: FoldSelection = "all") -> List[str]:
    """Fold names chosen by ``folds``, in protocol order.

    Args:
      info: The featurized directory's sidecar.
      folds: ``"all"``, one fold (index or name), a comma-separated string of them, or
        a list of indices and names.

    Raises:
      ValueError: An unknown fold (the message lists the valid ones) or an empty
        selection.
    """
    if isinstance(folds, str):
        if folds.strip() == "all":
            return list(info.fold_names)
        folds = [part.strip() for part in folds.split(",") if part.strip()]
    elif isinstance(folds, int):
        folds = [folds]
    chosen = set()
    for fold in folds:
        if isinstance(fold, str) and fold.isdigit() and fold not in info.fold_names:
            fold = int(fold)
        chosen.add(info.fold_name(fold))
    if not chosen:
        raise ValueError(f"no folds selected; {info.data_dir} has {info.fold_names}")
    return [name for name in info.fold_names if name in chosen]


def is_done(run_dir: str) -> bool:
    """True when the run directory's training finished (its ``DONE`` marker exists)."""
    return os.path.exists(os.path.join(run_dir, DONE_FILE))


def _write_folds_file(model_dir: str, config: ExperimentConfig, info: data.DatasetInfo,
                      dirs: Mapping[str, str]) -> None:
    """Writes ``folds.json``: every fold trained so far in this directory, in order."""
    path = os.path.join(model_dir, FOLDS_FILE)
    previous = {}
    if os.path.exists(path):
        previous = {entry["name"]: entry for entry in read_folds(model_dir)["folds"]}
    entries = []
    for index, name in enumerate(info.fold_names):
        if name not in dirs and name not in previous:
            continue
        relative = os.path.join(FOLDS_DIR, dirs[name]) if name in dirs else \
            previous[name]["dir"]
        entries.append({"index": index, "name": name, "dir": relative,
                        "test_speakers": info.speakers(name, "test"),
                        "done": is_done(os.path.join(model_dir, relative))})
    atomic.write_json(path, {
        "experiment": config.name, "data_dir": config.data_dir,
        "protocol": info.raw.get("split", {}).get("protocol"),
        "num_folds_in_protocol": info.num_folds, "folds": entries})


def _summary(run_dir: str, seconds: float) -> Dict[str, Any]:
    history = read_history(run_dir)
    losses = [entry["val_loss"] for entry in history if "val_loss" in entry]
    return {"epochs": len(history), "best_val_loss": min(losses) if losses else None,
            "seconds": round(seconds, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def train_folds(experiment: str, model_dir: str, config_files: Iterable[str] = (),
                overrides: Iterable[str] = (), data_dir: Optional[str] = None,
                folds: FoldSelection = "all", strategy: str = "default",
                smoke: bool = False,
                callbacks: Sequence[keras.callbacks.Callback] = (),
                overwrite: bool = False) -> List[str]:
    """Trains every selected fold of the protocol, each in ``model_dir/folds/<fold>/``.

    Args:
      experiment: Registered base experiment.
      model_dir: Cross-validation directory (created).
      config_files: YAML deltas, as for :func:`~tfser.training.resolve_config`.
      overrides: ``key.path=value`` overrides.
      data_dir: Featurized directory (default: the experiment's).
      folds: ``"all"``, or the folds to train (indices or names; a list or a
        comma-separated string).
      strategy: Distribution strategy of each run.
      smoke: Shrink every run to seconds.
      callbacks: Extra Keras callbacks of every run.
      overwrite: Replace the runs the selected fold directories hold.

    Returns:
      The run directories of the selected folds, in protocol order.

    Raises:
      ValueError: Bad experiment, config, strategy or fold selection.
      UserError: A fold directory holds another run and ``overwrite`` is False.
    """
    check_strategy(strategy)
    config_files, overrides = list(config_files), list(overrides)
    base = resolve_config(experiment, config_files, overrides, data_dir=data_dir,
                          smoke=smoke)
    if not base.data_dir:
        raise ValueError(f"experiment '{experiment}' has no data_dir (pass --data_dir)")
    info = data.load_info(base.data_dir)
    selected = select_folds(info, folds)
    dirs = _dir_names(info.fold_names)
    model_dir = os.path.abspath(model_dir)
    run_dirs = [os.path.join(model_dir, FOLDS_DIR, dirs[name]) for name in selected]
    configs = {name: resolve_config(experiment, config_files, overrides, data_dir=data_dir,
                                    fold=name, smoke=smoke) for name in selected}
    # Every fold's directory is checked before any fold trains.
    plans = {name: fingerprint_lib.plan_run(run_dir, configs[name], overwrite=overwrite)
             for name, run_dir in zip(selected, run_dirs)}
    # Under multi_worker every worker trains each fold; only the chief writes the
    # shared bookkeeping files (model_dir is on storage all workers read).
    chief = is_chief(strategy)
    os.makedirs(model_dir, exist_ok=True)
    chosen = {name: dirs[name] for name in selected}
    if chief:
        _write_folds_file(model_dir, base, info, chosen)

    total = len(selected)
    started = time.perf_counter()
    print(f"cross-validation: {total} of {info.num_folds} folds of "
          f"{info.raw.get('split', {}).get('protocol', 'the protocol')} in {model_dir}",
          flush=True)
    for position, (name, run_dir) in enumerate(zip(selected, run_dirs), start=1):
        tag = f"fold {position}/{total} ({name})"
        state = plans[name].state
        if state == fingerprint_lib.FINISHED and is_done(run_dir):
            print(f"{tag}: finished before, skipped ({run_dir})", flush=True)
            continue
        test = ", ".join(info.speakers(name, "test"))
        verb = {fingerprint_lib.RESUME: "resuming",
                fingerprint_lib.REPLACE: "replacing"}.get(state, "training")
        print(f"{tag}: {verb}, test speakers {test}", flush=True)
        fold_start = time.perf_counter()
        run_experiment(configs[name], run_dir, strategy=strategy, callbacks=callbacks,
                       overwrite=overwrite)
        summary = _summary(run_dir, time.perf_counter() - fold_start)
        if chief:
            atomic.write_json(os.path.join(run_dir, DONE_FILE), summary)
            _write_folds_file(model_dir, base, info, chosen)
        best = summary["best_val_loss"]
        print(f"{tag}: done in {summary['seconds']:.1f} s, {summary['epochs']} epochs, "
              f"best val_loss {'n/a' if best is None else f'{best:.4f}'}; "
              f"{time.perf_counter() - started:.1f} s elapsed", flush=True)
        # Each fold builds a fresh model; drop the previous one's graph state.
        keras.utils.clear_session()
    return run_dirs
