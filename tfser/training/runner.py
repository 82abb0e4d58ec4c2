"""One entry point for a training run: check the run directory, pick the trainer, train.

:func:`run_experiment` is what ``tfser-train`` and the cross-validation driver call.
It checks ``model_dir`` against the run's fingerprint
(:mod:`tfser.training.fingerprint`: train, resume, report a finished run, refuse
another run, or replace it with ``overwrite``), then trains with Keras ``fit``
(:class:`~tfser.training.trainer.Trainer`) or, for the ``multi_worker`` strategy, the
custom loop (:class:`~tfser.training.custom_loop.CustomLoopTrainer`), and marks the run
finished. Under ``multi_worker`` only the chief writes ``run.json`` and swaps a
replacement in.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from typing import Dict, List, Sequence

import keras

from tfser.fileio.atomic import replace_dir
from tfser.training import fingerprint as fingerprint_lib
from tfser.training.config import ExperimentConfig
from tfser.training.custom_loop import CustomLoopTrainer
from tfser.training.run_dir import read_history
from tfser.training.runtime import CUSTOM_LOOP_STRATEGY, check_strategy, is_chief
from tfser.training.task import EmotionTask
from tfser.training.trainer import Trainer

_LOG = logging.getLogger("tfser.training")


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What :func:`run_experiment` did.

    Attributes:
      state: The :class:`~tfser.training.fingerprint.RunPlan` state: ``new``,
        ``resume``, ``finished`` (nothing trained) or ``replace``.
      model_dir: The run directory (absolute).
      history: ``{key: [value per epoch run by this call]}`` (empty for ``finished``;
        ``history.json`` holds all epochs).
    """

    state: str
    model_dir: str
    history: Dict[str, List[float]]


def _say(message: str) -> None:
    """To the log and to stdout (binaries keep library logs quiet)."""
    _LOG.info(message)
    print(message, flush=True)


def _finished_message(model_dir: str) -> str:
    history = read_history(model_dir)
    losses = [entry["val_loss"] for entry in history if "val_loss" in entry]
    best = f", best val_loss {min(losses):.4f}" if losses else ""
    return (f"{model_dir}: this run finished before ({len(history)} epochs{best}); results "
            f"in {os.path.join(model_dir, 'checkpoints')} and history.json; nothing to "
            "train (pass --overwrite to train it again)")


def run_experiment(config: ExperimentConfig, model_dir: str, strategy: str = "default",
                   callbacks: Sequence[keras.callbacks.Callback] = (),
                   overwrite: bool = False, **trainer_options) -> RunResult:
    """Trains ``config`` in ``model_dir`` under the run-directory rules.

    Args:
      config: The resolved experiment.
      model_dir: Run directory.
      strategy: ``default``, ``mirrored`` or ``multi_worker`` (the custom loop).
      callbacks: Extra Keras callbacks (Keras ``fit`` only).
      overwrite: Replace a run the directory holds: train in a staging directory
        beside it and swap it in at the end (the old run stays if training fails).
      **trainer_options: Further :class:`~tfser.training.trainer.Trainer` arguments
        (``confusion_every_n_epochs``, ``attention_examples``) or
        :class:`~tfser.training.custom_loop.CustomLoopTrainer` ones
        (``epoch_end_hooks``, ``verbose``).

    Returns:
      A :class:`RunResult`.

    Raises:
      UserError: ``model_dir`` holds another run (or one without a fingerprint) and
        ``overwrite`` is False.
      ValueError: Unknown strategy; extra callbacks with ``multi_worker``; a config the
        data does not fit.
    """
    check_strategy(strategy)
    if strategy == CUSTOM_LOOP_STRATEGY and callbacks:
        raise ValueError(f"the {CUSTOM_LOOP_STRATEGY} strategy trains with a custom loop, "
                         "which runs no Keras callbacks")
    task = EmotionTask(config)
    plan = fingerprint_lib.plan_run(model_dir, config, overwrite=overwrite)
    if plan.state == fingerprint_lib.FINISHED:
        _say(_finished_message(plan.model_dir))
        return RunResult(plan.state, plan.model_dir, {})
    if plan.state == fingerprint_lib.RESUME:
        _say(f"{plan.model_dir}: resuming at epoch {plan.next_epoch + 1} of {config.epochs}")
    elif plan.state == fingerprint_lib.REPLACE:
        _say(f"{plan.model_dir}: replacing the run there (--overwrite); training in "
             f"{plan.train_dir} until it finishes")
    chief = is_chief(strategy)
    if chief:
        if plan.state == fingerprint_lib.REPLACE and os.path.lexists(plan.train_dir):
            shutil.rmtree(plan.train_dir)  # a killed earlier replacement: start afresh
        fingerprint_lib.write_record(plan.train_dir, config, plan.fingerprint)
    if strategy == CUSTOM_LOOP_STRATEGY:
        trainer = CustomLoopTrainer(task, plan.train_dir, strategy, **trainer_options)
    else:
        trainer = Trainer(task, plan.train_dir, strategy, callbacks=callbacks,
                          **trainer_options)
    history = trainer.train()
    if chief:
        fingerprint_lib.write_record(plan.train_dir, config, plan.fingerprint, finished=True)
        if plan.train_dir != plan.model_dir:
            replace_dir(plan.train_dir, plan.model_dir)
    return RunResult(plan.state, plan.model_dir, history)
