"""``model.loss_weighting: uncertainty``: loss weights learned in training, logged per epoch."""

import numpy as np
import pytest

from tfser import training
from tfser.config.checks import ConfigError

OVERRIDES = ["model.loss_weighting=uncertainty", "optimizer.learning_rate=0.05"]


@pytest.mark.parametrize("trainer", ["fit", "custom_loop"])
def test_learned_weights_move_and_are_logged(trainer, data_000, tmp_path):
    config = training.resolve_config("000_mtl", overrides=OVERRIDES, data_dir=data_000,
                                     smoke=True)
    model_dir = str(tmp_path / trainer)
    if trainer == "fit":
        training.run_experiment(config, model_dir)
    else:
        training.CustomLoopTrainer(training.EmotionTask(config), model_dir).train()
    history = training.read_history(model_dir)
    assert len(history) == 2
    for head in ("emotion", "secondary"):
        weights = [entry[f"loss_weight/{head}"] for entry in history]
        assert all(np.isfinite(weights)) and all(w > 0 for w in weights)
        # Both start at exp(0) = 1; a step of 0.05 on s moves them visibly.
        assert abs(weights[-1] - 1.0) > 1e-3
    assert training.load_params(model_dir).model["loss_weighting"] == "uncertainty"


def test_fixed_weights_log_nothing(data_000, tmp_path):
    config = training.resolve_config("000_hard_pe", data_dir=data_000, smoke=True)
    training.run_experiment(config, str(tmp_path / "run"))
    assert not any(k.startswith("loss_weight/")
                   for k in training.read_history(str(tmp_path / "run"))[0])


def test_unknown_weighting_is_a_config_error():
    with pytest.raises(ConfigError, match="model.loss_weighting: must be one of"):
        training.resolve_config("000_mtl", overrides=["model.loss_weighting=learned"])
