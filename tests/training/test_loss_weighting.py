"""``model.loss_weighting: uncertainty`` and a CCC head's ``attribute_weights: learned``:
loss weights learned in training, logged per epoch (history.json and TensorBoard)."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from tfser import training
from tfser.config.checks import ConfigError

OVERRIDES = ["model.loss_weighting=uncertainty", "optimizer.learning_rate=0.05"]
LEARNED_003 = ["model.heads.0.loss_params.attribute_weights=learned",
               "optimizer.learning_rate=0.05"]


def _train_and_check_weights(trainer, experiment, overrides, data_dir, model_dir, keys):
    """Trains in smoke mode with ``trainer``; returns the history after checking that
    every logged weight ``keys`` moved from exp(0) = 1 (a step of 0.05 on s shows)."""
    config = training.resolve_config(experiment, overrides=overrides, data_dir=data_dir,
                                     smoke=True)
    if trainer == "fit":
        training.run_experiment(config, model_dir)
    else:
        training.CustomLoopTrainer(training.EmotionTask(config), model_dir).train()
    history = training.read_history(model_dir)
    assert len(history) == 2
    for key in keys:
        weights = [entry[key] for entry in history]
        assert all(np.isfinite(weights)) and all(w > 0 for w in weights)
        assert abs(weights[-1] - 1.0) > 1e-3
    return history


@pytest.mark.parametrize("trainer", ["fit", "custom_loop"])
def test_learned_weights_move_and_are_logged(trainer, data_000, tmp_path):
    model_dir = str(tmp_path / trainer)
    _train_and_check_weights(trainer, "000_mtl", OVERRIDES, data_000, model_dir,
                             ["loss_weight/emotion", "loss_weight/secondary"])
    assert training.load_params(model_dir).model["loss_weighting"] == "uncertainty"


def test_fixed_weights_log_nothing(data_000, tmp_path):
    config = training.resolve_config("000_hard_pe", data_dir=data_000, smoke=True)
    training.run_experiment(config, str(tmp_path / "run"))
    assert not any(k.startswith("loss_weight/")
                   for k in training.read_history(str(tmp_path / "run"))[0])


def test_unknown_weighting_is_a_config_error():
    with pytest.raises(ConfigError, match="model.loss_weighting: must be one of"):
        training.resolve_config("000_mtl", overrides=["model.loss_weighting=learned"])


@pytest.mark.parametrize("trainer", ["fit", "custom_loop"])
def test_learned_attribute_weights_move_and_are_logged(trainer, continuous_run, tmp_path):
    model_dir = str(tmp_path / trainer)
    keys = [f"loss_weight/traces/{a}" for a in ("arousal", "valence", "liking")]
    history = _train_and_check_weights(trainer, "003_mtl_au", LEARNED_003,
                                       continuous_run.out_dir, model_dir, keys)
    assert sorted(k for k in history[0] if k.startswith("loss_weight/")) == sorted(keys)
    tags = set()
    for path in glob.glob(os.path.join(model_dir, "logs", "train", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert {f"epoch_{key}" for key in keys} <= tags


def test_learned_attribute_weights_with_learned_head_weights_is_a_config_error():
    with pytest.raises(ConfigError, match="model.loss_weighting: uncertainty learns a weight "
                                          "per head, and head 'traces' learns one per "
                                          "attribute"):
        training.resolve_config("003_mtl_au", overrides=LEARNED_003 + [
            "model.loss_weighting=uncertainty"])
