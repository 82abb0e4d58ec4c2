"""A custom training loop under ``strategy.run``: the multi-worker route.

Keras 3 ``model.fit`` fails under ``tf.distribute.MultiWorkerMirroredStrategy`` on a
real two-process cluster (keras-team/keras#20585), and the failing worker hangs its
peer. :class:`CustomLoopTrainer` trains the same model (``task.build_model()``) with
the same per-head loss objects and loss weights (``task.compile_kwargs()``) on the
same batches (``task.build_dataset(part)``) with its own ``tf.function`` step run by
``strategy.run``. It works with every strategy of
:func:`tfser.training.runtime.get_strategy`;
:func:`~tfser.training.runner.run_experiment` uses it for ``multi_worker``.

Loss scaling (what makes 1 worker and N workers agree)
    Each replica returns its share of the *global* batch's loss, so that the sum over
    replicas (the gradient all-reduce sums) is exactly the loss one device computes on
    the whole batch. For a per-element loss (all of :mod:`tfser.models.losses` but
    CCC) with the default ``mean_with_sample_weight`` reduction, a replica returns
    ``sum_replica(w * loss) / sum_global(w)``: the denominator is the head's *global
    sample-weight sum* (one all-reduce per head), not the global batch size, because
    that is what the loss objects average over (labelled elements only; masked
    examples have weight 0 and class weights scale the rest). ``sum_over_batch_size``
    losses divide by the global element count instead, ``sum`` losses by nothing.
    The tfser loss objects do this themselves in any replica context
    (:func:`tfser.models.losses.reduce_weighted`), so Keras ``fit`` under
    ``MirroredStrategy`` gets the same exact scaling; :func:`replica_loss` applies it
    to other Keras losses too. A CCC head (:class:`~tfser.models.losses.ConcordanceLoss`) is a
    statistic of the whole batch: its weighted moments are all-reduced, so every
    replica computes the CCC of the global batch; it returns ``L / replicas`` as its
    value while its gradient is the one of ``L`` through its own examples, so values
    and gradients both sum to the single-device ones. An empty per-replica batch (a
    final batch smaller than the replica count) contributes zero.

Data
    ``strategy.experimental_distribute_dataset`` over ``task.build_dataset(part)``
    with auto-sharding by DATA: every worker reads the same (seeded, deterministic)
    pipeline and each global batch is split between the replicas. FILE sharding would
    give each worker whole speaker files, i.e. unequal example counts and different
    batches than one worker sees; sharding by data keeps every step's global batch
    identical to the single-device one (the price: each worker parses all records).
    Models with BatchNormalization differ anyway (batch statistics are per replica);
    there, with more than one replica, an incomplete last training batch is dropped,
    as it could leave a replica an empty batch whose NaN statistics would poison the
    moving averages.
    Epochs end together on all workers without dropping a remainder: a pass runs as
    one ``tf.function`` looping over the distributed dataset, where the iterator's
    ``get_next_as_optional`` answer ("is there another global batch?") is agreed on
    by all workers, and a replica without data for the last step gets an empty batch
    (contributing zero) instead of leaving the collective.

Outputs (written by the chief; other workers write to a temporary directory, as the
TensorFlow multi-worker guide advises, removed at the end)::

    params.yaml                  the resolved experiment
    history.json                 loss, <head>_loss, val_loss, val_<head>_loss and
                                 learning_rate per epoch (run_dir.append_history)
    checkpoints/best.keras       lowest val_loss so far (kept across restarts)
    checkpoints/last.keras       end of the latest epoch
    logs/train, logs/validation  TensorBoard scalars epoch_loss, epoch_<head>_loss,
                                 epoch_learning_rate (as Keras' TensorBoard callback)
    backup/                      tf.train.CheckpointManager state: model, optimizer,
                                 epoch counter, early-stopping state; removed at the end

Epoch figures are the example-count-weighted means of the global step losses, as
Keras' ``fit`` reports ``loss`` (under the default strategy ``loss``, ``val_loss``
and the training head losses equal ``fit``'s); per-head losses are weighted the same
way and reported for every head (``fit`` averages per-head losses over batches
unweighted, so its ``val_<head>_loss`` differs slightly when the last batch is
partial, and it has none for a one-head model). Metrics are left to
:mod:`tfser.evaluation`. Dropout masks are drawn per replica, so runs with dropout
match across strategies only in distribution.

Multi-worker use: start the same command on every machine with ``TF_CONFIG`` set
(cluster spec plus this process's task) and ``model_dir`` on storage that every worker
can read (resuming restores all workers from the chief's ``backup/``)::

    TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
                "task": {"type": "worker", "index": 0}}' \\
        tfser-train --experiment=000_mtl --strategy=multi_worker ...
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from tfser.models import losses as losses_lib
from tfser.training.callbacks import loss_weight_logs
from tfser.training.config import ExperimentConfig, save_params
from tfser.training.run_dir import append_history
from tfser.training.runtime import (build_optimizer, check_strategy, get_strategy,
                                    set_seeds, worker_role)
from tfser.training.task import EmotionTask

BACKUP_DIR = "backup"
CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"

# Called after each finished epoch (files written, backup saved) with (epoch, logs).
EpochHook = Callable[[int, Dict[str, float]], None]


# --------------------------------------------------------------------------- losses


def replica_loss(loss: keras.losses.Loss, y_true, y_pred, sample_weight=None) -> tf.Tensor:
    """One head's loss share for this replica (call inside ``strategy.run``).

    The shares of all replicas sum to the loss object's value on the whole global
    batch, and so do their gradients (see the module docstring). Under the default
    strategy (one replica) the result equals ``loss(y_true, y_pred, sample_weight)``.

    Args:
      loss: A loss object of ``task.compile_kwargs()["loss"]``.
      y_true: This replica's targets.
      y_pred: This replica's predictions.
      sample_weight: This replica's sample weights (None = 1).

    Raises:
      ValueError: A loss reduction that does not give a scalar.
    """
    if tf.distribute.get_replica_context() is None:
        raise ValueError("replica_loss must be called in a replica context "
                         "(inside strategy.run)")
    if loss.reduction in (None, "none"):
        raise ValueError(f"loss '{loss.name}': reduction {loss.reduction!r} does not give a "
                         "scalar loss to train on")
    if isinstance(loss, (losses_lib.MaskedLoss, losses_lib.ConcordanceLoss,
                         losses_lib.UncertaintyWeightedLoss)):
        # tfser's losses return this replica's share themselves (global weight sums,
        # all-reduced CCC moments; a learned weight's + s term divided by the replicas).
        return loss(y_true, y_pred, sample_weight)
    # Other Keras losses average over their own replica's batch: reduce their
    # per-element values the same way instead.
    y_pred = tf.cast(tf.convert_to_tensor(y_pred), loss.dtype or "float32")
    values = loss.call(tf.convert_to_tensor(y_true), y_pred)
    weights = losses_lib.broadcast_weights(sample_weight, values)
    return losses_lib.reduce_weighted(values, weights, loss.reduction)


# ------------------------------------------------------------------------- workers


def has_batch_norm(model: keras.Model) -> bool:
    """Whether ``model`` or a nested sub-model has a BatchNormalization layer."""
    pending = list(model.layers)
    while pending:
        layer = pending.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            return True
        pending.extend(getattr(layer, "layers", []))
    return False


class _EpochState:
    """Counters saved in the backup with the model and optimizer."""

    def __init__(self):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.best = tf.Variable(np.inf, dtype=tf.float64, trainable=False, name="best")
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")


# ------------------------------------------------------------------------- trainer


class CustomLoopTrainer:
    """Trains an :class:`EmotionTask` with a ``strategy.run`` step (module docstring).

    Args:
      task: The task (datasets, model, losses).
      model_dir: Run directory (created by the chief).
      strategy: ``default``, ``mirrored`` or ``multi_worker`` (see
        :func:`~tfser.training.runtime.get_strategy`).
      epoch_end_hooks: Callables ``(epoch, logs)`` run on every worker after an epoch
        is fully recorded (history, checkpoints, backup); an exception stops training
        there, and the next run resumes after that epoch.
      verbose: Print one line per epoch (chief only).

    Attributes:
      model: The trained Keras model (after :meth:`train`).
      strategy: The ``tf.distribute.Strategy`` in use (after :meth:`train`).
    """

    def __init__(self, task: EmotionTask, model_dir: str, strategy: str = "default",
                 epoch_end_hooks: Sequence[EpochHook] = (), verbose: bool = True):
        check_strategy(strategy)
        if task.precomputes_trunks:
            # The loop steps the whole model; precomputed embeddings are fit's path.
            raise ValueError("model.trunk.precompute trains with Keras fit (strategies "
                             "default and mirrored), not the custom loop; drop it for "
                             f"strategy {strategy!r}")
        self.task = task
        self.config: ExperimentConfig = task.config
        self.model_dir = os.path.abspath(model_dir)
        self.strategy_name = strategy
        self.epoch_end_hooks = list(epoch_end_hooks)
        self.verbose = verbose
        self.model: Optional[keras.Model] = None
        self.strategy: Optional[tf.distribute.Strategy] = None
        self.heads: List[str] = list(task.head_names)

    # ---------------------------------------------------------------- building

    def _build(self):
        with self.strategy.scope():
            self.model = self.task.build_model()
            # After the model: learned loss weights live in it.
            kwargs = self.task.compile_kwargs(self.model)
            self.optimizer = build_optimizer(self.config.optimizer)
            # Built here, not lazily inside the replica step.
            self.optimizer.build(self.model.trainable_variables)
        self.losses: Dict[str, keras.losses.Loss] = dict(kwargs["loss"])
        self.loss_weights: Dict[str, float] = {
            head: 1.0 if weight is None else float(weight)
            for head, weight in kwargs.get("loss_weights", {}).items()}
        missing = [head for head in self.heads if head not in self.losses]
        if missing:
            raise ValueError(f"task '{self.config.name}' gives no loss for heads {missing}")
        self.state = _EpochState()
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                                              epoch=self.state.epoch, best=self.state.best,
                                              wait=self.state.wait)

    def _distribute(self, part: str):
        dataset = self.task.build_dataset(part)
        replicas = self.strategy.num_replicas_in_sync
        if part == "train" and replicas > 1 and has_batch_norm(self.model):
            # A last batch too small to give every replica an example would run
            # BatchNormalization on an empty batch, whose NaN statistics poison the
            # moving averages; drop the incomplete training batch instead.
            batch_size = self.config.batch_size
            dataset = dataset.filter(lambda features, *rest: tf.equal(
                tf.shape(tf.nest.flatten(features)[0])[0], batch_size))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def _replica_losses(self, targets, outputs, weights):
        """This replica's weighted total and per-head shares (dict)."""
        missing = [head for head in self.heads if head not in targets or head not in weights]
        if missing:
            raise ValueError(f"the {self.config.data_dir} batches have no targets or sample "
                             f"weights for heads {missing}")
        per_head = {head: replica_loss(self.losses[head], targets[head], outputs[head],
                                       weights[head]) for head in self.heads}
        total = tf.add_n([self.loss_weights.get(head, 1.0) * per_head[head]
                          for head in self.heads])
        if self.model.losses:  # regularisers: the same on every replica, counted once
            replicas = tf.distribute.get_replica_context().num_replicas_in_sync
            total += tf.add_n(self.model.losses) / replicas
        return total, per_head

    @staticmethod
    def _batch_size(features) -> tf.Tensor:
        first = tf.nest.flatten(features)[0]
        return tf.cast(tf.shape(first)[0], tf.float32)

    def _train_replica(self, batch):
        features, targets, weights = batch[:3]
        with tf.GradientTape() as tape:
            outputs = self.model(features, training=True)
            total, per_head = self._replica_losses(targets, outputs, weights)
        variables = self.model.trainable_variables
        gradients = tape.gradient(total, variables)
        self.optimizer.apply_gradients(
            [(g, v) for g, v in zip(gradients, variables) if g is not None])
        return self._stack(total, per_head), self._batch_size(features)

    def _eval_replica(self, batch):
        features, targets, weights = batch[:3]
        outputs = self.model(features, training=False)
        total, per_head = self._replica_losses(targets, outputs, weights)
        return self._stack(total, per_head), self._batch_size(features)

    def _stack(self, total, per_head) -> tf.Tensor:
        """``[total, loss of each head]`` (reduced across replicas in one go)."""
        return tf.stack([total] + [per_head[head] for head in self.heads])

    def _epoch_function(self, replica_fn, dataset):
        """A ``tf.function`` running ``replica_fn`` over one pass of ``dataset``.

        It returns the example-weighted sums of the global step losses (total, then
        one per head) and the example count. The whole pass runs in the graph: the
        distributed iterator's end-of-data check is a collective, far cheaper there
        than called eagerly once per step.
        """
        strategy = self.strategy

        def run_epoch():
            sums = tf.zeros([1 + len(self.heads)], tf.float32)
            examples = tf.constant(0.0, tf.float32)
            for batch in dataset:  # agreed on by all workers, partial batches included
                losses, size = strategy.run(replica_fn, args=(batch,))
                losses = strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)
                size = strategy.reduce(tf.distribute.ReduceOp.SUM, size, axis=None)
                sums += losses * size
                examples += size
            return sums, examples

        return tf.function(run_epoch)

    def _epoch_logs(self, run_epoch, part: str) -> Dict[str, float]:
        """Example-weighted mean losses of one pass (as Keras' ``loss`` metric)."""
        sums, examples = run_epoch()
        examples = float(examples.numpy())
        if not examples:
            raise ValueError(f"experiment '{self.config.name}': no {part} examples in "
                             f"{self.config.data_dir}")
        sums = sums.numpy().astype(np.float64) / examples
        return {"loss": float(sums[0]),
                **{f"{head}_loss": float(value) for head, value in zip(self.heads, sums[1:])}}

    def _check_workers_agree(self, epoch: int) -> None:
        """All workers must resume at the same epoch (shared model_dir)."""
        if self.strategy.num_replicas_in_sync == 1:
            return
        strategy = self.strategy

        @tf.function
        def moments(value):
            local = strategy.run(lambda: tf.stack([value, value * value]))
            return strategy.reduce(tf.distribute.ReduceOp.MEAN, local, axis=None)

        # Equal on all replicas <=> the variance of the replicas' values is 0.
        mean, mean_square = moments(tf.constant(float(epoch), tf.float32)).numpy()
        if mean_square - mean ** 2 > 1e-3:
            raise RuntimeError(
                f"workers restored different epochs (mean {mean:.2f}, this one {epoch}) from "
                f"{os.path.join(self.model_dir, BACKUP_DIR)}: model_dir must be on storage "
                "that every worker reads")

    def train(self) -> Dict[str, List[float]]:
        """Builds everything under the strategy, restores a backup, trains.

        Returns:
          ``{key: [value per epoch run by this call]}`` (a resumed run has only the
          remaining epochs; ``history.json`` holds all of them).
        """
        # The strategy first: a multi-worker one configures the collective runtime.
        self.strategy = get_strategy(self.strategy_name)
        is_chief, worker = worker_role(self.strategy)
        write_dir = self.model_dir if is_chief else tempfile.mkdtemp(
            prefix=f"tfser_{worker}_")
        try:
            return self._train(is_chief, write_dir)
        finally:
            if not is_chief:
                shutil.rmtree(write_dir, ignore_errors=True)

    def _train(self, is_chief: bool, write_dir: str) -> Dict[str, List[float]]:
        config = self.config
        if is_chief:
            save_params(config, self.model_dir)
        set_seeds(config.seed)
        self._build()
        checkpoints = os.path.join(write_dir, CHECKPOINT_DIR)
        os.makedirs(checkpoints, exist_ok=True)
        backup = tf.train.CheckpointManager(self.checkpoint, os.path.join(write_dir, BACKUP_DIR),
                                            max_to_keep=1)
        latest = tf.train.latest_checkpoint(os.path.join(self.model_dir, BACKUP_DIR))
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        first_epoch = int(self.state.epoch.numpy())
        self._check_workers_agree(first_epoch)

        train_data = self._distribute("train")
        dev_data = self._distribute("dev")
        train_epoch = self._epoch_function(self._train_replica, train_data)
        eval_epoch = self._epoch_function(self._eval_replica, dev_data)
        writers = self._summary_writers(is_chief)
        history: Dict[str, List[float]] = {}
        patience = config.early_stopping.patience
        if self.verbose and is_chief:
            print(f"custom loop: {self.strategy_name}, "
                  f"{self.strategy.num_replicas_in_sync} replica(s), epochs "
                  f"{first_epoch + 1}..{config.epochs}", flush=True)

        for epoch in range(first_epoch, config.epochs):
            start = time.time()
            self.optimizer.learning_rate.assign(
                config.optimizer.schedule.learning_rate(config.optimizer.learning_rate, epoch))
            logs = self._epoch_logs(train_epoch, "train")
            logs.update({f"val_{key}": value
                         for key, value in self._epoch_logs(eval_epoch, "dev").items()})
            logs["learning_rate"] = float(self.optimizer.learning_rate.numpy())
            logs.update(loss_weight_logs(self.model))
            if not all(np.isfinite(value) for value in logs.values()):
                raise FloatingPointError(f"epoch {epoch}: non-finite losses {logs}")

            improved = logs["val_loss"] < float(self.state.best.numpy())
            if improved:
                self.state.best.assign(logs["val_loss"])
                self.state.wait.assign(0)
            else:
                self.state.wait.assign_add(1)
            # Every worker saves (the chief into model_dir, the others into their
            # temporary directory): saving may take part in collectives.
            if improved:
                self.model.save(os.path.join(checkpoints, "best.keras"))
            self.model.save(os.path.join(checkpoints, "last.keras"))
            if is_chief:
                append_history(write_dir, epoch, logs)
                self._write_summaries(writers, epoch, logs)
            self.state.epoch.assign(epoch + 1)
            backup.save()
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if self.verbose and is_chief:
                print(f"epoch {epoch + 1}/{config.epochs} - {time.time() - start:.1f}s - "
                      + " - ".join(f"{key}: {value:.4g}" for key, value in logs.items()),
                      flush=True)
            for hook in self.epoch_end_hooks:
                hook(epoch, logs)
            if patience and int(self.state.wait.numpy()) >= patience:
                if self.verbose and is_chief:
                    print(f"early stopping: val_loss did not improve for {patience} epochs",
                          flush=True)
                break

        for writer in writers.values():
            writer.close()
        shutil.rmtree(os.path.join(write_dir, BACKUP_DIR), ignore_errors=True)
        return history

    def _summary_writers(self, is_chief: bool) -> Dict[str, tf.summary.SummaryWriter]:
        if not is_chief:
            return {}
        return {part: tf.summary.create_file_writer(os.path.join(self.model_dir, LOG_DIR, part))
                for part in ("train", "validation")}

    @staticmethod
    def _write_summaries(writers: Mapping[str, tf.summary.SummaryWriter], epoch: int,
                         logs: Mapping[str, float]) -> None:
        """Keras' TensorBoard names: ``epoch_<key>``, validation keys without ``val_``."""
        for key, value in logs.items():
            part, name = (("validation", key[len("val_"):]) if key.startswith("val_")
                          else ("train", key))
            with writers[part].as_default():
                tf.summary.scalar(f"epoch_{name}", value, step=epoch)
        for writer in writers.values():
            writer.flush()
