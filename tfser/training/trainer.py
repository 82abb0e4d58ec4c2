"""The generic Keras ``fit`` driver: callbacks, checkpoints, resume.

Seeds, strategy and optimizer come from :mod:`tfser.training.runtime`; the
multi-worker strategy trains with :mod:`tfser.training.custom_loop` instead, and
:func:`tfser.training.runner.run_experiment` picks between the two (and checks the run
directory's fingerprint first).

A run directory (``model_dir``) receives::

    params.yaml                 the resolved experiment
    history.json                one entry per finished epoch, across restarts
    checkpoints/best.keras      lowest validation loss so far
    checkpoints/last.keras      end of the latest epoch
    backup/                     BackupAndRestore state (removed when training ends)
    logs/train, logs/validation TensorBoard: total and per-head losses and metrics,
                                learning rate; dev confusion matrices and attention
                                plots (logs/validation); config text and HParams (logs)

A run killed mid-way resumes from the last finished epoch (weights, optimizer state
and epoch counter) when started again with the same ``model_dir``.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

import keras

from tfser import models
from tfser.training.callbacks import (HistoryWriter, LearningRateLogger,  # noqa: F401
                                      LossWeightLogger, OnModel,
                                      ResumableEarlyStopping, build_summary_callbacks)
from tfser.training.config import ExperimentConfig, save_params
from tfser.training.image_summaries import DEFAULT_ATTENTION_EXAMPLES
from tfser.training.run_dir import HISTORY_FILE, read_history  # noqa: F401
from tfser.training.runtime import (CUSTOM_LOOP_STRATEGY, STRATEGIES,  # noqa: F401
                                    build_optimizer, get_strategy, set_seeds)
from tfser.training.task import EmotionTask


class Trainer:
    """Trains the model of an :class:`~tfser.training.task.EmotionTask` in a run directory.

    Args:
      task: The task (datasets, model, losses, metrics).
      model_dir: Run directory (created).
      strategy: ``default`` or ``mirrored`` (``multi_worker`` trains with
        :class:`~tfser.training.custom_loop.CustomLoopTrainer`).
      callbacks: Extra Keras callbacks, run after the built-in ones.
      confusion_every_n_epochs: Log dev confusion-matrix images of the class-index
        heads every N epochs (0 = never); see :mod:`tfser.training.image_summaries`.
      attention_examples: Dev examples whose attention weights are plotted each epoch
        (attention trunks only; 0 = none).
    """

    def __init__(self, task: EmotionTask, model_dir: str, strategy: str = "default",
                 callbacks: Sequence[keras.callbacks.Callback] = (),
                 confusion_every_n_epochs: int = 1,
                 attention_examples: int = DEFAULT_ATTENTION_EXAMPLES):
        self.task = task
        self.config: ExperimentConfig = task.config
        self.model_dir = os.path.abspath(model_dir)
        self.strategy_name = strategy
        self.extra_callbacks = list(callbacks)
        self.confusion_every_n_epochs = confusion_every_n_epochs
        self.attention_examples = attention_examples
        self.model: Optional[keras.Model] = None
        # What fit trains: the model, or its heads half (model.trunk.precompute), and
        # the development data it validates on.
        self.fit_model: Optional[keras.Model] = None
        self.dev = None

    def build_callbacks(self) -> List[keras.callbacks.Callback]:
        """Learning rate, history, backup, checkpoints, early stopping, TensorBoard
        (Keras' scalars plus :func:`~tfser.training.callbacks.build_summary_callbacks`:
        config, HParams, confusion matrices, attention plots)."""
        checkpoints = os.path.join(self.model_dir, "checkpoints")
        os.makedirs(checkpoints, exist_ok=True)
        log_dir = os.path.join(self.model_dir, "logs")
        # Resuming (a backup exists): BackupAndRestore brings back weights, optimizer and
        # epoch, not the callbacks' own state. The best checkpoint and early stopping
        # continue from the epochs the killed process finished, as history.json has them.
        resuming = os.path.isdir(os.path.join(self.model_dir, "backup"))
        previous = read_history(self.model_dir) if resuming else []
        best_so_far = min((entry["val_loss"] for entry in previous if "val_loss" in entry),
                          default=None)
        # Checkpoints hold the whole model, also when fit trains only its heads half
        # on precomputed trunk embeddings (model.trunk.precompute).
        precomputed = self.fit_model is not self.model
        whole = (lambda callback: OnModel(callback, self.model)) if precomputed else (
            lambda callback: callback)
        callbacks = [
            LearningRateLogger(self.config.optimizer),
            LossWeightLogger(),
            # Epoch frequency: a restart resumes at the next epoch with optimizer state
            # (a step frequency would restart the epoch from batch 0).
            keras.callbacks.BackupAndRestore(os.path.join(self.model_dir, "backup"),
                                             save_freq="epoch"),
            whole(keras.callbacks.ModelCheckpoint(os.path.join(checkpoints, "best.keras"),
                                                  monitor="val_loss", save_best_only=True,
                                                  initial_value_threshold=best_so_far)),
            whole(keras.callbacks.ModelCheckpoint(os.path.join(checkpoints, "last.keras"))),
            keras.callbacks.TensorBoard(log_dir),
            HistoryWriter(os.path.join(self.model_dir, HISTORY_FILE)),
            *build_summary_callbacks(
                self.task, log_dir, confusion_every_n_epochs=self.confusion_every_n_epochs,
                attention_examples=self.attention_examples,
                history_path=os.path.join(self.model_dir, HISTORY_FILE),
                precomputed=(self.dev, self.model) if precomputed else None),
        ]
        if self.config.early_stopping.patience:
            callbacks.insert(1, ResumableEarlyStopping(
                previous, monitor=self.config.early_stopping.monitor,
                patience=self.config.early_stopping.patience))
        return callbacks + self.extra_callbacks

    def train(self) -> Dict[str, List[float]]:
        """Saves ``params.yaml``, builds everything under the strategy and fits.

        Returns:
          The Keras history of the epochs run by this call (a resumed run has only
          the remaining epochs; ``history.json`` holds all of them).

        Raises:
          ValueError: The ``multi_worker`` strategy (Keras ``fit`` fails there; use
            :func:`~tfser.training.runner.run_experiment`, which trains it with the
            custom loop).
        """
        if self.strategy_name == CUSTOM_LOOP_STRATEGY:
            raise ValueError(f"the {CUSTOM_LOOP_STRATEGY} strategy trains with the custom "
                             "loop (CustomLoopTrainer), not Keras fit; "
                             "training.run_experiment picks it")
        save_params(self.config, self.model_dir)
        set_seeds(self.config.seed)
        strategy = get_strategy(self.strategy_name)
        with strategy.scope():
            self.model = self.fit_model = self.task.build_model()
            if self.task.precomputes_trunks:
                embedder, self.fit_model = models.split_at_embedding(self.model)
            self.fit_model.compile(optimizer=build_optimizer(self.config.optimizer),
                                   **self.task.compile_kwargs(self.fit_model))
        if self.task.precomputes_trunks:
            train, self.dev = (self.task.embedded_dataset(part, embedder)
                               for part in ("train", "dev"))
        else:
            train, self.dev = self.task.build_dataset("train"), self.task.build_dataset("dev")
        history = self.fit_model.fit(
            train, validation_data=self.dev, epochs=self.config.epochs,
            callbacks=self.build_callbacks(), verbose=2,
            shuffle=False)  # the task shuffles (with its seed) in tf.data
        return history.history
