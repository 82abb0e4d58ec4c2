"""Training: experiment configs, the emotion task and the generic trainer.

Usage::

    from tfser import training

    config = training.resolve_config("000_mtl", data_dir="build/features/synthetic_000",
                                     smoke=True)
    history = training.Trainer(training.EmotionTask(config), "runs/000_mtl").train()

The command-line front end is ``pipelines/train.py``.
"""

from tfser.training.config import (EXPERIMENTS, ExperimentConfig, load_params,
                                   resolve_config, save_params)
from tfser.training.cross_validation import read_folds, train_folds
from tfser.training.custom_loop import CustomLoopTrainer
from tfser.training.task import EmotionTask
from tfser.training.trainer import Trainer, get_strategy, read_history

__all__ = ["CustomLoopTrainer", "EXPERIMENTS", "EmotionTask", "ExperimentConfig", "Trainer",
           "get_strategy", "load_params", "read_folds", "read_history", "resolve_config",
           "save_params", "train_folds"]
