"""Two-stage training: a trunk restored from earlier runs (init_from), frozen or fine-tuned,
and several fused under new heads (papers 001 and 002)."""

import keras
import numpy as np
import pytest

from tfser import models
from tfser import training
from tfser.config.errors import UserError
from tfser.training.custom_loop import CustomLoopTrainer


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


def _fusion_config(first_stage, data_000, *extra):
    return training.resolve_config(
        "000_hard_pe", data_dir=data_000, smoke=True,
        overrides=[f"model.trunk={{fuse: [{first_stage}, {first_stage}/folds/official]"
                   f"{''.join(', ' + e for e in extra)}}}", "shuffle=false"])


def test_the_embedded_dataset_is_the_frozen_trunks_output_on_the_same_examples(
        first_stage, data_000):
    task = training.EmotionTask(_fusion_config(first_stage, data_000, "precompute: true"))
    assert task.precomputes_trunks
    embedder, _ = models.split_at_embedding(task.build_model())
    raw = list(task.build_dataset("dev", cache=False))
    embedded = list(task.embedded_dataset("dev", embedder))
    assert [len(e[0]) for e in embedded] == [len(r[1]["emotion"]) for r in raw]
    for (features, targets, weights), (embedding, e_targets, e_weights) in zip(raw, embedded):
        want = embedder({key: features[key] for key in embedder.input}, training=False)
        np.testing.assert_allclose(embedding.numpy(), np.asarray(want), rtol=1e-6)
        np.testing.assert_array_equal(e_targets["emotion"], targets["emotion"])
        np.testing.assert_array_equal(e_weights["emotion"], weights["emotion"])


def test_precomputed_trunks_train_the_same_heads_as_the_whole_model(first_stage, data_000,
                                                                    tmp_path):
    # The smoke DNN trunks have no dropout: inference and training mode agree, so the
    # heads trained on stored embeddings equal those trained through the trunks.
    trunk_before = _weights(training.task.restored_trunk(first_stage, "official"))
    got = {}
    for name, extra in (("whole", ()), ("precomputed", ("precompute: true",))):
        config = _fusion_config(first_stage, data_000, *extra)
        result = training.run_experiment(config, str(tmp_path / name))
        assert len(result.history["val_loss"]) == config.epochs
        got[name] = keras.saving.load_model(
            str(tmp_path / name / "checkpoints" / "last.keras"), compile=False)
        assert (tmp_path / name / "checkpoints" / "best.keras").is_file()
    # The checkpoint of a precomputed run is the whole fused model, trunks unchanged.
    whole, precomputed = got["whole"], got["precomputed"]
    assert sorted(layer.name for layer in precomputed.layers) == sorted(
        layer.name for layer in whole.layers)
    trunks = [layer for layer in precomputed.layers if isinstance(layer, keras.Model)]
    for got_weights, want in zip(_weights(trunks[0]), trunk_before):
        np.testing.assert_array_equal(got_weights, want)
    for a, b in zip(_weights(whole), _weights(precomputed)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_precompute_needs_frozen_restored_trunks(first_stage, data_000):
    with pytest.raises(ValueError, match="model.trunk.precompute.*freeze: true"):
        _fusion_config(first_stage, data_000, "freeze: false", "precompute: true")
    with pytest.raises(ValueError, match="model.trunk.precompute.*restored trunk"):
        training.resolve_config("000_hard_pe", data_dir=data_000, smoke=True,
                                overrides=["model.trunk.precompute=true"])
    with pytest.raises(ValueError, match="only a model of restored trunks"):
        models.split_at_embedding(models.build_model({
            "features": [{"name": "x", "dim": 3}], "trunk": {"type": "dnn"},
            "heads": [{"name": "y", "kind": "hard", "units": 2}]}))
    task = training.EmotionTask(_fusion_config(first_stage, data_000, "precompute: true"))
    with pytest.raises(ValueError, match="precompute trains with Keras fit"):
        CustomLoopTrainer(task, "unused", strategy="default")
