"""Training: experiment configs, the emotion task and the two trainers behind one entry point.

Usage::

    from tfser import training

    config = training.resolve_config("000_mtl", data_dir="build/features/synthetic_000",
                                     smoke=True)
    result = training.run_experiment(config, "runs/000_mtl")

:func:`run_experiment` checks the run directory's fingerprint (resume, skip a finished
run, refuse another one unless ``overwrite``) and trains with Keras ``fit``
(:class:`Trainer`) or, under ``multi_worker``, the custom loop
(:class:`CustomLoopTrainer`). The command-line front end is ``pipelines/train.py``.
"""

from tfser.training.config import (EXPERIMENTS, ExperimentConfig, load_params,
                                   resolve_config, save_params)
from tfser.training.cross_validation import read_folds, select_folds, train_folds
from tfser.training.custom_loop import CustomLoopTrainer
from tfser.training.run_dir import fold_loss_weights, read_history
from tfser.training.runner import RunResult, run_experiment
from tfser.training.runtime import get_strategy
from tfser.training.task import EmotionTask
from tfser.training.trainer import Trainer

__all__ = ["CustomLoopTrainer", "EXPERIMENTS", "EmotionTask", "ExperimentConfig", "RunResult",
           "Trainer", "fold_loss_weights", "get_strategy", "load_params", "read_folds",
           "read_history",
           "resolve_config", "run_experiment", "save_params", "select_folds", "train_folds"]
