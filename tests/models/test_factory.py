"""Model assembly: multi-head training with masked heads, trunk save/restore/freeze/fuse."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from tfser import models
from tfser.models.config import ModelConfig
from tests.models.builders import TINY_TRUNKS, features_for, model_config

BATCH = 8
PRIMARY = {"name": "primary", "kind": "hard", "units": 3, "loss_weight": 0.44}
# Masked head -> (config, target of one example).
MASKED_HEADS = {
    "ccc": ({"name": "dims", "kind": "dimensional", "units": 2,
             "loss_params": {"attribute_weights": [0.7, 0.2]}}, np.zeros(2, np.float32)),
    "secondary_kl": ({"name": "secondary", "kind": "secondary", "units": 3,
                      "loss": "secondary_kl", "loss_weight": 0.56},
                     np.array([1, 1, 0], np.float32)),
    "per_rater": ({"name": "raters", "kind": "per_rater", "units": 3,
                   "params": {"num_raters": 2}}, np.full((2, 3), 1 / 3, np.float32)),
    "existence": ({"name": "existence", "kind": "existence", "units": 3,
                   "loss_params": {"positive_weights": [1, 2, 3],
                                   "negative_weights": [1, 1, 1]}},
                  np.array([1, 0, 1], np.float32)),
}


def _batch(heads, seed=0):
    """Features, targets and sample weights; every non-primary head fully masked."""
    rng = np.random.default_rng(seed)
    x = features_for("dnn", [1] * BATCH, seed=seed)
    y = {"primary": rng.integers(0, 3, size=BATCH)}
    weights = {"primary": np.ones(BATCH, np.float32)}
    for case in heads:
        config, target = MASKED_HEADS[case]
        y[config["name"]] = np.repeat(target[None], BATCH, axis=0)
        weight_shape = (BATCH, 2) if case == "per_rater" else (BATCH,)
        weights[config["name"]] = np.zeros(weight_shape, np.float32)
    return x, y, weights


def _compiled(trunk, heads, **compile_args):
    config = model_config(trunk, heads)
    model = models.build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), **models.compile_kwargs(config),
                  **compile_args)
    return model


@pytest.mark.parametrize("case", sorted(MASKED_HEADS))
def test_masked_head_gets_zero_gradient_and_training_stays_finite(case):
    keras.utils.set_random_seed(0)
    masked = MASKED_HEADS[case][0]
    model = _compiled("dnn", [PRIMARY, masked])
    x, y, weights = _batch([case])
    head_layer = model.get_layer(f"{masked['name']}_logits" if case != "ccc"
                                 else f"{masked['name']}_values")
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weights)
    gradients = dict(zip([id(v) for v in model.trainable_variables],
                         tape.gradient(loss, model.trainable_variables)))
    for variable in head_layer.trainable_variables:
        gradient = gradients[id(variable)]
        assert gradient is None or np.all(np.asarray(gradient) == 0), variable.path
    trunk_kernel = models.get_trunk(model).get_layer("dense_1").kernel
    assert np.any(np.asarray(gradients[id(trunk_kernel)]) != 0)

    before = [v.numpy() for v in head_layer.trainable_variables]
    dataset = tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(4)
    history = model.fit(dataset, epochs=2, verbose=0, shuffle=False)
    assert all(np.isfinite(value) for value in history.history["loss"])
    for old, variable in zip(before, head_layer.trainable_variables):
        np.testing.assert_array_equal(variable.numpy(), old)


def test_loss_is_the_weighted_sum_of_head_losses():
    keras.utils.set_random_seed(0)
    secondary = MASKED_HEADS["secondary_kl"][0]
    model = _compiled("dnn", [PRIMARY, secondary])
    x, y, weights = _batch(["secondary_kl"])
    weights["secondary"] = np.array([1, 0] * 4, np.float32)
    outputs = model(x, training=False)
    config = models.ModelConfig.from_dict(model_config("dnn", [PRIMARY, secondary]))
    loss_objects = models.compile_kwargs(config)["loss"]
    expected = sum(head.loss_weight * float(loss_objects[head.name](
        y[head.name], outputs[head.name], weights[head.name])) for head in config.heads)
    total = model.compute_loss(x=x, y=y, y_pred=outputs, sample_weight=weights,
                               training=False)
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)


def test_compiled_model_saves_and_loads_with_custom_losses_and_metrics(tmp_path):
    keras.utils.set_random_seed(0)
    model = _compiled("dnn", [PRIMARY, MASKED_HEADS["ccc"][0]])
    x, y, weights = _batch(["ccc"])
    weights["dims"] = np.ones(BATCH, np.float32)
    model.fit(x, y, sample_weight=weights, batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for head, value in model.predict(x, verbose=0).items():
        np.testing.assert_allclose(loaded.predict(x, verbose=0)[head], value, atol=1e-6)
    scores = loaded.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    assert np.isfinite(scores["loss"]) and "primary_ua" in scores and "dims_ccc" in scores


def test_learned_attribute_weights_live_in_the_model_and_train(tmp_path):
    keras.utils.set_random_seed(0)
    dims = {**MASKED_HEADS["ccc"][0], "loss_params": {"attribute_weights": "learned"}}
    config = models.ModelConfig.from_dict(model_config("dnn", [PRIMARY, dims]))
    model = models.build_model(config)
    kwargs = models.compile_kwargs(config, model)
    model.compile(optimizer=keras.optimizers.Adam(5e-2), **kwargs)
    layer = models.uncertainty_weights(model)
    assert layer.heads == ("dims/0", "dims/1")  # no class names: the units' indices
    assert kwargs["loss_weights"] == {"primary": 0.44, "dims": 1.0}
    layer.log_variances["dims/0"].assign(0.4)
    x, y, weights = _batch(["ccc"])
    y["dims"] = np.random.default_rng(1).normal(size=(BATCH, 2)).astype(np.float32)
    weights["dims"] = np.ones(BATCH, np.float32)
    outputs = model(x, training=False)
    plain = models.compile_kwargs(models.ModelConfig.from_dict(model_config(
        "dnn", [PRIMARY, MASKED_HEADS["ccc"][0]])))["loss"]
    ccc_loss = np.asarray(plain["dims"].attribute_losses(y["dims"], outputs["dims"]))
    expected = 0.44 * float(plain["primary"](y["primary"], outputs["primary"])) + \
        np.exp(-0.4) * ccc_loss[0] + 0.4 + ccc_loss[1]
    total = model.compute_loss(x=x, y=y, y_pred=outputs, sample_weight=weights,
                               training=False)
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)
    before = [float(layer.log_variances[t]) for t in layer.heads]
    model.fit(x, y, sample_weight=weights, batch_size=4, epochs=2, verbose=0)
    after = [float(layer.log_variances[t]) for t in layer.heads]
    assert all(abs(a - b) > 1e-3 for a, b in zip(after, before))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = models.uncertainty_weights(keras.saving.load_model(path, compile=False))
    assert [float(loaded.log_variances[t]) for t in loaded.heads] == after


def test_learned_attribute_weights_refuse_learned_head_weights():
    dims = {**MASKED_HEADS["ccc"][0], "loss_params": {"attribute_weights": "learned"}}
    data = {**model_config("dnn", [PRIMARY, dims]), "loss_weighting": "uncertainty"}
    with pytest.raises(ValueError, match="model.loss_weighting: uncertainty learns a weight "
                                         "per head, and head 'dims' learns one per attribute"):
        models.ModelConfig.from_dict(data)


def test_model_config_dict_round_trip():
    config = ModelConfig.from_dict(model_config("dnn", [PRIMARY, MASKED_HEADS["ccc"][0]]))
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert models.build_model(config).name == "tiny"
    with pytest.raises(ValueError, match="duplicate head"):
        ModelConfig.from_dict(model_config("dnn", [PRIMARY, PRIMARY]))


def _trunk_batch(lengths, seed):
    x = features_for("cnn_blstm_attention", lengths, seed=seed)
    return x, np.asarray(np.random.default_rng(seed).integers(0, 3, len(lengths)))


def test_trunks_save_restore_freeze_and_fuse(tmp_path):
    keras.utils.set_random_seed(0)
    heads = [{"name": "primary", "kind": "hard", "units": 3, "hidden": [4]}]
    mlee = models.build_model(model_config(
        "cnn_blstm_attention", [{"name": "existence", "kind": "existence", "units": 3}]))
    dominant = models.build_model(model_config("cnn_blstm_attention", heads))
    x, labels = _trunk_batch([40, 28, 35, 17], seed=1)

    path = models.save_trunk(models.get_trunk(mlee), tmp_path / "mlee" / "trunk.keras")
    restored = models.load_trunk(path)
    assert not restored.trainable and restored.name == "trunk"
    np.testing.assert_allclose(restored(x, training=False),
                               models.get_trunk(mlee)(x, training=False), atol=1e-6)

    fused = models.fuse_trunks([restored, models.get_trunk(dominant)], heads)
    assert set(fused.input) == {"logspec", "logspec_length"}
    assert fused.get_layer("fused_embedding").output.shape[-1] == 12
    head_weights = {id(v) for v in fused.get_layer("primary_hidden_1").trainable_weights}
    head_weights |= {id(v) for v in fused.get_layer("primary_logits").trainable_weights}
    assert {id(v) for v in fused.trainable_weights} == head_weights

    frozen_before = [v.numpy() for v in restored.weights]  # includes BN statistics
    fused.compile(optimizer="adam", **models.compile_kwargs(heads))
    history = fused.fit(x, {"primary": labels}, batch_size=2, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for old, variable in zip(frozen_before, restored.weights):
        np.testing.assert_array_equal(variable.numpy(), old)

    fused_path = str(tmp_path / "fused.keras")
    fused.save(fused_path)
    reloaded = keras.saving.load_model(fused_path)
    np.testing.assert_allclose(reloaded(x, training=False)["primary"],
                               fused(x, training=False)["primary"], atol=1e-6)
    weights = np.asarray(models.attention_model(reloaded)(x, training=False))
    assert weights.shape == (4, 3)


def test_attention_models_read_every_fused_trunk(tmp_path):
    """Paper 001's figure: a fused model has one attention read-out per restored trunk,
    equal to that trunk's own, summing to 1 over real frames and 0 on padding."""
    keras.utils.set_random_seed(3)
    heads = [{"name": "primary", "kind": "hard", "units": 3}]
    trunks = [models.get_trunk(models.build_model(model_config("cnn_blstm_attention", heads)))
              for _ in range(2)]
    for index, trunk in enumerate(trunks):
        models.save_trunk(trunk, tmp_path / f"t{index}.keras")
    restored = [models.load_trunk(tmp_path / f"t{i}.keras") for i in range(2)]
    path = str(tmp_path / "fused.keras")
    models.fuse_trunks(restored, heads).save(path)
    fused = keras.saving.load_model(path)
    lengths = [40, 17]
    x, _ = _trunk_batch(lengths, seed=4)
    readouts = models.attention_models(fused)
    assert len(readouts) == 2 and models.attention_model(fused).name == readouts[0].name
    real = [-(-length // 16) for length in lengths]  # 001's time strides: 16
    for readout, trunk in zip(readouts, restored):
        weights = np.asarray(readout({k: x[k] for k in readout.input}, training=False))
        np.testing.assert_allclose(weights, models.attention_model(trunk)(x, training=False),
                                   atol=1e-6)
        for row, count in enumerate(real):
            np.testing.assert_allclose(weights[row, :count].sum(), 1.0, atol=1e-5)
            np.testing.assert_array_equal(weights[row, count:], 0.0)
    with pytest.raises(ValueError, match="no AttentionPooling"):
        models.attention_models(models.build_model(model_config("dnn", heads)))


def test_fuse_rejects_conflicting_inputs():
    keras.utils.set_random_seed(0)
    first = models.get_trunk(models.build_model(model_config("dnn", [PRIMARY])))
    other = dict(model_config("dnn", [PRIMARY]))
    other["features"] = [{"name": "egemaps", "dim": 5}]
    second = models.get_trunk(models.build_model(other))
    with pytest.raises(ValueError, match="disagree"):
        models.fuse_trunks([first, second], [PRIMARY])
    with pytest.raises(ValueError, match="at least one"):
        models.fuse_trunks([], [PRIMARY])
    with pytest.raises(ValueError, match=".keras"):
        models.save_trunk(first, "trunk.h5")


def test_get_trunk_and_freeze():
    keras.utils.set_random_seed(0)
    model = models.build_model(model_config("dnn", [PRIMARY]))
    trunk = models.freeze(models.get_trunk(model))
    assert not trunk.trainable_weights
    assert model.trainable_weights  # the head still trains
    with pytest.raises(ValueError, match="no trunk"):
        models.get_trunk(model, "encoder")


def test_every_tiny_trunk_builds_under_a_head():
    keras.utils.set_random_seed(0)
    for kind in TINY_TRUNKS:
        head = ({"name": "trace", "kind": "dimensional", "units": 2} if kind == "lstm_seq"
                else PRIMARY)
        model = models.build_model(model_config(kind, [head]))
        assert list(model.output) == [head["name"]]
