"""What both trainers share at run time: seeds, the strategy, this worker's role, the optimizer.

:class:`~tfser.training.trainer.Trainer` (Keras ``fit``) and
:class:`~tfser.training.custom_loop.CustomLoopTrainer` (``strategy.run``, the
multi-worker route) both build on this module and on nothing of each other;
:func:`tfser.training.runner.run_experiment` picks one of them.
"""

from __future__ import annotations

from typing import List, Tuple

import keras
import tensorflow as tf

from tfser.training import optimizers
from tfser.training.config import OptimizerConfig

STRATEGIES = ("default", "mirrored", "multi_worker")
# The strategy that Keras fit cannot train under (keras-team/keras#20585): the custom
# loop trains it.
CUSTOM_LOOP_STRATEGY = "multi_worker"
# One MirroredStrategy per process: collective ops of a second one can clash with the
# first one's in the same process. Likewise one MultiWorkerMirroredStrategy.
_MIRRORED: List[tf.distribute.Strategy] = []
_MULTI_WORKER: List[tf.distribute.Strategy] = []


def set_seeds(seed: int) -> None:
    """Seeds Python, NumPy and TensorFlow (weights, dropout, shuffling)."""
    keras.utils.set_random_seed(seed)


def check_strategy(name: str) -> None:
    """Raises ValueError for a strategy name not in :data:`STRATEGIES`."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {list(STRATEGIES)}")


def get_strategy(name: str) -> tf.distribute.Strategy:
    """``default`` (one device), ``mirrored`` (all local GPUs, or logical CPUs) or
    ``multi_worker`` (``MultiWorkerMirroredStrategy``: one process per worker, cluster
    and task read from the ``TF_CONFIG`` environment variable; without it, a
    single-worker cluster). Keras ``fit`` fails under ``multi_worker``, so
    :func:`~tfser.training.runner.run_experiment` trains with
    :mod:`tfser.training.custom_loop` there.

    Raises:
      ValueError: Unknown name.
    """
    check_strategy(name)
    if name == "mirrored":
        if not _MIRRORED:
            _MIRRORED.append(tf.distribute.MirroredStrategy())
        return _MIRRORED[0]
    if name == "multi_worker":
        if not _MULTI_WORKER:
            _MULTI_WORKER.append(tf.distribute.MultiWorkerMirroredStrategy())
        return _MULTI_WORKER[0]
    return tf.distribute.get_strategy()


def worker_role(strategy: tf.distribute.Strategy) -> Tuple[bool, str]:
    """``(is_chief, name)`` of this process in the strategy's cluster.

    The chief is the task of type ``chief``, or worker 0 when the cluster has no
    chief; a single-process strategy is its own chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    task_id = getattr(resolver, "task_id", None)
    if task_type is None:
        return True, "chief"
    cluster = resolver.cluster_spec().as_dict()
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0
                                     and "chief" not in cluster)
    return chief, f"{task_type}{task_id}"


def is_chief(strategy_name: str) -> bool:
    """Whether this process writes the shared files of a run under ``strategy_name``.

    Only ``multi_worker`` has other workers; asking it creates that strategy (which
    configures the collective runtime, as training would anyway).
    """
    return strategy_name != CUSTOM_LOOP_STRATEGY or worker_role(get_strategy(strategy_name))[0]


def build_optimizer(config: OptimizerConfig) -> keras.optimizers.Optimizer:
    """The Keras optimizer of ``config`` (create it inside the strategy scope).

    ``weight_decay`` is Keras' decoupled decay by default; with ``weight_decay_mode:
    coupled`` it is an L2 term of the gradient instead (:mod:`tfser.training.optimizers`).
    """
    common = {"learning_rate": config.learning_rate}
    if config.name in ("rmsprop", "sgd"):
        common["momentum"] = config.momentum
    if config.weight_decay and config.weight_decay_mode == "coupled":
        return optimizers.COUPLED[config.name](l2=config.weight_decay, **common)
    if config.weight_decay:
        common["weight_decay"] = config.weight_decay
    return {"adam": keras.optimizers.Adam, "adamax": keras.optimizers.Adamax,
            "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}[config.name](
                **common)
