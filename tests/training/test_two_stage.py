"""Two-stage training: a trunk restored from earlier runs (init_from), frozen or fine-tuned,
and several fused under new heads (papers 001 and 002)."""

import keras
import numpy as np
import pytest

from tfser import models
from tfser import training
from tfser.config.errors import UserError


@pytest.fixture(scope="module")
def first_stage(data_000, tmp_path_factory):
    """A smoke cross-validation of 000_hard_pe (one fold: the official split)."""
    model_dir = str(tmp_path_factory.mktemp("stage1") / "pe")
    training.train_folds("000_hard_pe", model_dir, data_dir=data_000, smoke=True)
    return model_dir


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def test_a_frozen_restored_trunk_keeps_its_weights(first_stage, data_000, tmp_path):
    trunk_before = _weights(training.task.restored_trunk(first_stage, "official"))
    config = training.resolve_config(
        "000_mtl", data_dir=data_000, smoke=True,
        overrides=[f"model.trunk={{init_from: {first_stage}, freeze: true}}"])
    task = training.EmotionTask(config)
    assert task.feature_names == ["egemaps_functionals"]
    result = training.run_experiment(config, str(tmp_path / "stage2"))
    assert result.history["loss"]
    model = training.EmotionTask(config).build_model()
    assert sorted(model.output) == ["emotion", "secondary"]
    trained = keras.saving.load_model(
        str(tmp_path / "stage2" / "checkpoints" / "last.keras"), compile=False)
    for got, want in zip(_weights(models.get_trunk(trained)), trunk_before):
        np.testing.assert_array_equal(got, want)


def test_fuse_concatenates_restored_trunks(first_stage, data_000):
    config = training.resolve_config(
        "000_hard_pe", data_dir=data_000, smoke=True,
        overrides=[f"model.trunk={{fuse: [{first_stage}, {first_stage}/folds/official]}}"])
    model = training.EmotionTask(config).build_model()
    assert model.get_layer("fused_embedding") is not None
    trunks = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert len(trunks) == 2 and not any(t.trainable for t in trunks)
    # Only the new head trains.
    frozen = {id(w) for trunk in trunks for w in trunk.weights}
    assert model.trainable_weights and not any(id(w) in frozen
                                               for w in model.trainable_weights)


def test_sources_that_do_not_exist_are_user_errors(first_stage, data_000, tmp_path):
    with pytest.raises(UserError, match="no checkpoint"):
        training.task.restored_trunk(str(tmp_path), "official")
    with pytest.raises(UserError, match="has no fold 'loso:x'"):
        training.task.restored_trunk(first_stage, "loso:x")
    with pytest.raises(UserError, match="no trunk file"):
        training.task.restored_trunk(str(tmp_path / "t.keras"), "official")
