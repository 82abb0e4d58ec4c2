"""The generic fit driver: seeds, strategy, optimizer, callbacks, checkpoints, resume.

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

import json
import os
from typing import Any, Dict, List, Optional, Sequence

import keras
import tensorflow as tf

from tfser.training import summaries
from tfser.training.config import ExperimentConfig, OptimizerConfig, save_params
from tfser.training.task import EmotionTask

STRATEGIES = ("default", "mirrored", "multi_worker")
# One MirroredStrategy per process: collective ops of a second one can clash with the
# first one's in the same process. Likewise one MultiWorkerMirroredStrategy.
_MIRRORED: List[tf.distribute.Strategy] = []
_MULTI_WORKER: List[tf.distribute.Strategy] = []
HISTORY_FILE = "history.json"


def set_seeds(seed: int) -> None:
    """Seeds Python, NumPy and TensorFlow (weights, dropout, shuffling)."""
    keras.utils.set_random_seed(seed)


def get_strategy(name: str) -> tf.distribute.Strategy:
    """``default`` (one device), ``mirrored`` (all local GPUs, or logical CPUs) or
    ``multi_worker`` (``MultiWorkerMirroredStrategy``: one process per worker, cluster
    and task read from the ``TF_CONFIG`` environment variable; without it, a
    single-worker cluster). Keras ``fit`` fails under ``multi_worker``, so
    :class:`Trainer` trains with :mod:`tfser.training.custom_loop` there.

    Raises:
      ValueError: Unknown name.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not _MIRRORED:
            _MIRRORED.append(tf.distribute.MirroredStrategy())
        return _MIRRORED[0]
    if name == "multi_worker":
        if not _MULTI_WORKER:
            _MULTI_WORKER.append(tf.distribute.MultiWorkerMirroredStrategy())
        return _MULTI_WORKER[0]
    raise ValueError(f"unknown strategy {name!r}; choose from {list(STRATEGIES)}")


def build_optimizer(config: OptimizerConfig) -> keras.optimizers.Optimizer:
    """The Keras optimizer of ``config`` (create it inside the strategy scope)."""
    common = {"learning_rate": config.learning_rate}
    if config.weight_decay:
        common["weight_decay"] = config.weight_decay
    if config.name == "adam":
        return keras.optimizers.Adam(**common)
    if config.name == "adamax":
        return keras.optimizers.Adamax(**common)
    if config.name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=config.momentum, **common)
    return keras.optimizers.SGD(momentum=config.momentum, **common)


class LearningRateLogger(keras.callbacks.Callback):
    """Sets the epoch's rate from the schedule and adds ``learning_rate`` to the logs."""

    def __init__(self, config: OptimizerConfig):
        super().__init__()
        self.config = config

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(
            self.config.schedule.learning_rate(self.config.learning_rate, epoch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class HistoryWriter(keras.callbacks.Callback):
    """Appends each finished epoch's logs to ``history.json`` (kept across restarts).

    Entries of epochs at or after a restarted epoch are replaced, so the file always
    holds one entry per epoch in order.
    """

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        entries = [e for e in read_history(os.path.dirname(self.path)) if e["epoch"] < epoch]
        entries.append({"epoch": int(epoch),
                        **{key: float(value) for key, value in (logs or {}).items()}})
        with open(self.path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(entries, handle, indent=1)
        os.replace(self.path + ".tmp", self.path)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on a loss (lower is better) that counts the epochs of earlier runs.

    Args:
      previous: ``history.json`` entries of the epochs a killed run already finished;
        their ``monitor`` values set the best value and the epochs waited since, so a
        resumed run stops where the uninterrupted one would.
      **kwargs: Keras ``EarlyStopping`` arguments.
    """

    def __init__(self, previous: Sequence[Dict[str, Any]] = (), **kwargs):
        super().__init__(mode="min", **kwargs)
        self.previous = list(previous)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for entry in self.previous:
            value = entry.get(self.monitor)
            if value is None:
                continue
            if self.best is None or value < self.best - abs(self.min_delta):
                self.best, self.best_epoch, self.wait = value, int(entry["epoch"]), 0
            else:
                self.wait += 1


def read_history(model_dir: str) -> List[Dict[str, Any]]:
    """The ``history.json`` entries of a run directory (empty when there is none)."""
    path = os.path.join(model_dir, HISTORY_FILE)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class Trainer:
    """Trains the model of an :class:`~tfser.training.task.EmotionTask` in a run directory.

    Args:
      task: The task (datasets, model, losses, metrics).
      model_dir: Run directory (created).
      strategy: ``default`` or ``mirrored``.
      callbacks: Extra Keras callbacks, run after the built-in ones.
      confusion_every_n_epochs: Log dev confusion-matrix images of the class-index
        heads every N epochs (0 = never); see :mod:`tfser.training.summaries`.
      attention_examples: Dev examples whose attention weights are plotted each epoch
        (attention trunks only; 0 = none).
    """

    def __init__(self, task: EmotionTask, model_dir: str, strategy: str = "default",
                 callbacks: Sequence[keras.callbacks.Callback] = (),
                 confusion_every_n_epochs: int = 1,
                 attention_examples: int = summaries.DEFAULT_ATTENTION_EXAMPLES):
        self.task = task
        self.config: ExperimentConfig = task.config
        self.model_dir = os.path.abspath(model_dir)
        self.strategy_name = strategy
        self.extra_callbacks = list(callbacks)
        self.confusion_every_n_epochs = confusion_every_n_epochs
        self.attention_examples = attention_examples
        self.model: Optional[keras.Model] = None

    def build_callbacks(self) -> List[keras.callbacks.Callback]:
        """Learning rate, history, backup, checkpoints, early stopping, TensorBoard
        (Keras' scalars plus :mod:`~tfser.training.summaries`: config, HParams,
        confusion matrices, attention plots)."""
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
        callbacks = [
            LearningRateLogger(self.config.optimizer),
            # Epoch frequency: a restart resumes at the next epoch with optimizer state
            # (a step frequency would restart the epoch from batch 0).
            keras.callbacks.BackupAndRestore(os.path.join(self.model_dir, "backup"),
                                             save_freq="epoch"),
            keras.callbacks.ModelCheckpoint(os.path.join(checkpoints, "best.keras"),
                                            monitor="val_loss", save_best_only=True,
                                            initial_value_threshold=best_so_far),
            keras.callbacks.ModelCheckpoint(os.path.join(checkpoints, "last.keras")),
            keras.callbacks.TensorBoard(log_dir),
            HistoryWriter(os.path.join(self.model_dir, HISTORY_FILE)),
            *summaries.build_summary_callbacks(
                self.task, log_dir, confusion_every_n_epochs=self.confusion_every_n_epochs,
                attention_examples=self.attention_examples,
                history_path=os.path.join(self.model_dir, HISTORY_FILE)),
        ]
        if self.config.early_stopping.patience:
            callbacks.insert(1, ResumableEarlyStopping(
                previous, monitor=self.config.early_stopping.monitor,
                patience=self.config.early_stopping.patience))
        return callbacks + self.extra_callbacks

    def train(self) -> Dict[str, List[float]]:
        """Saves ``params.yaml``, builds everything under the strategy and fits.

        Under ``multi_worker`` the run goes through
        :class:`~tfser.training.custom_loop.CustomLoopTrainer` (same model, losses,
        data and run-directory files; no extra callbacks or image summaries).

        Returns:
          The Keras history of the epochs run by this call (a resumed run has only
          the remaining epochs; ``history.json`` holds all of them).

        Raises:
          ValueError: Extra callbacks given with ``multi_worker``.
        """
        if self.strategy_name == "multi_worker":
            if self.extra_callbacks:
                raise ValueError("the multi_worker strategy trains with a custom loop, "
                                 "which runs no Keras callbacks")
            # Imported here: custom_loop builds on this module.
            from tfser.training import custom_loop  # pylint: disable=import-outside-toplevel
            loop = custom_loop.CustomLoopTrainer(self.task, self.model_dir,
                                                 self.strategy_name)
            history = loop.train()
            self.model = loop.model
            return history
        save_params(self.config, self.model_dir)
        set_seeds(self.config.seed)
        strategy = get_strategy(self.strategy_name)
        with strategy.scope():
            self.model = self.task.build_model()
            self.model.compile(optimizer=build_optimizer(self.config.optimizer),
                               **self.task.compile_kwargs())
        history = self.model.fit(
            self.task.build_dataset("train"), validation_data=self.task.build_dataset("dev"),
            epochs=self.config.epochs, callbacks=self.build_callbacks(), verbose=2,
            shuffle=False)  # the task shuffles (with its seed) in tf.data
        return history.history
