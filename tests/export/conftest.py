"""Smoke-trained runs of 000_mtl and 001_hard and their exports, made once per package."""

import os

import pytest

from tfser import export
from tfser import training


EXPERIMENTS = ("000_mtl", "001_hard")


@pytest.fixture(scope="package")
def runs(data_000, data_001, tmp_path_factory):
    """Experiment -> run directory, each trained in smoke mode (2 epochs of 2 steps)."""
    data_dirs = {"000_mtl": data_000, "001_hard": data_001}
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for experiment in EXPERIMENTS:
        model_dir = str(root / experiment)
        config = training.resolve_config(experiment, data_dir=data_dirs[experiment],
                                         smoke=True)
        training.Trainer(training.EmotionTask(config), model_dir).train()
        out[experiment] = model_dir
    return out


@pytest.fixture(scope="package")
def exports(runs, tmp_path_factory):
    """Experiment -> export directory (best checkpoint)."""
    root = tmp_path_factory.mktemp("exports")
    return {experiment: export.export_saved_model(model_dir, os.path.join(root, experiment))
            for experiment, model_dir in runs.items()}
