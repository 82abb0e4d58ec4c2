"""Trunks: embedding shapes, padding invariance, attention retrieval, input checks."""

import numpy as np
import pytest
import keras

from tfser.features import spectrogram
from tfser.models import attention_model
from tfser.models.config import FeatureInput, TrunkConfig
from tfser.models.trunks import TRUNKS, build_trunk
from tests.models.builders import (SEQUENCE_TRUNKS_WITH_LENGTHS, TINY_TRUNKS, features_for,
                                   padded_frames)


def _trunk(kind, **overrides):
    feature, params, _ = TINY_TRUNKS[kind]
    params = {**params, **overrides}
    return build_trunk(TrunkConfig(type=kind, params=params),
                       [FeatureInput.from_dict(feature)])


def test_every_registered_trunk_has_a_tiny_config():
    assert set(TRUNKS) == set(TINY_TRUNKS)


@pytest.mark.parametrize("kind", sorted(TINY_TRUNKS))
def test_trunk_embedding_shape(kind):
    keras.utils.set_random_seed(0)
    trunk = _trunk(kind)
    _, _, embedding_shape = TINY_TRUNKS[kind]
    assert tuple(trunk.output.shape[1:]) == embedding_shape
    embedding = np.asarray(trunk(features_for(kind, [40, 33]), training=False))
    expected = tuple(40 if dim is None else dim for dim in embedding_shape)
    assert embedding.shape == (2,) + expected
    assert np.isfinite(embedding).all()
    assert trunk.name == "trunk" and not trunk.losses


@pytest.mark.parametrize("kind", SEQUENCE_TRUNKS_WITH_LENGTHS)
def test_padding_does_not_change_the_embedding(kind):
    keras.utils.set_random_seed(0)
    trunk = _trunk(kind)
    feature = TINY_TRUNKS[kind][0]
    name, dim = feature["name"], feature["dim"]
    lengths = [23, 37]
    # Garbage in the padding: masking must not rely on zero padding.
    batch = padded_frames(lengths, dim, seed=1, num_frames=48)
    padded = np.asarray(trunk({name: batch, name + "_length": np.int32(lengths)},
                              training=False))
    for row, length in enumerate(lengths):
        alone = np.asarray(trunk({name: batch[row:row + 1, :length],
                                  name + "_length": np.int32([length])}, training=False))
        if kind == "lstm_seq":
            np.testing.assert_allclose(padded[row, :length], alone[0], atol=1e-5)
            np.testing.assert_array_equal(padded[row, length:], 0.0)
        else:
            np.testing.assert_allclose(padded[row], alone[0], atol=1e-5)


@pytest.mark.parametrize("kind", ["cnn_blstm_attention", "blstm_dnn_attention"])
def test_attention_weights_are_retrievable_and_ignore_padding(kind):
    keras.utils.set_random_seed(0)
    trunk = _trunk(kind)
    feature = TINY_TRUNKS[kind][0]
    name = feature["name"]
    lengths = [23, 37]
    batch = padded_frames(lengths, feature["dim"], seed=2, num_frames=48)
    attention = attention_model(trunk)
    weights = np.asarray(attention({name: batch, name + "_length": np.int32(lengths)},
                                   training=False))
    # 001's time strides: conv 2 and three 2x pools = 16 (ceil at each step).
    stride = 16 if kind == "cnn_blstm_attention" else 1
    real = [-(-length // stride) for length in lengths]
    assert weights.shape == (2, -(-48 // stride))
    for row, count in enumerate(real):
        np.testing.assert_allclose(weights[row, :count].sum(), 1.0, atol=1e-5)
        np.testing.assert_array_equal(weights[row, count:], 0.0)
        alone = np.asarray(attention({name: batch[row:row + 1, :lengths[row]],
                                      name + "_length": np.int32(lengths[row:row + 1])},
                                     training=False))
        np.testing.assert_allclose(weights[row, :count], alone[0], atol=1e-5)


def test_attention_model_rejects_a_trunk_without_attention():
    with pytest.raises(ValueError, match="AttentionPooling"):
        attention_model(_trunk("dnn"))


def test_cnn_blstm_attention_default_sizes_follow_paper_001():
    trunk = build_trunk(TrunkConfig(type="cnn_blstm_attention"),
                        [FeatureInput("logspec_001", 400, sequence=True)])
    convs = [layer for layer in trunk.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [16, 24, 32]
    assert [c.kernel_size for c in convs] == [(12, 16), (8, 12), (5, 7)]
    assert [c.strides for c in convs] == [(2, 2), (1, 1), (1, 1)]
    assert trunk.get_layer("blstm").forward_layer.units == 128
    assert tuple(trunk.output.shape) == (None, 256)


def test_vggm_default_sizes_follow_paper_004():
    keras.utils.set_random_seed(0)
    trunk = _trunk("vggm")
    fc6 = trunk.get_layer("fc6")
    # fc6 spans every remaining frequency bin and one frame, like the paper's 9x1.
    assert fc6.kernel_size[0] == 1 and fc6.kernel_size[1] == fc6.input.shape[2]
    big = build_trunk(TrunkConfig(type="vggm"), [FeatureInput("spec_004", 512, sequence=True)])
    assert [big.get_layer(f"conv{i}").filters for i in range(1, 6)] == [96, 256, 256, 256, 256]
    assert big.get_layer("fc6").filters == 4096 and tuple(big.output.shape) == (None, 1024)


def test_early_fusion_concatenates_features():
    keras.utils.set_random_seed(0)
    features = [FeatureInput("a", 3, sequence=True), FeatureInput("b", 2, sequence=True)]
    trunk = build_trunk(TrunkConfig(type="lstm_seq", params={"units": [4]}), features)
    assert set(trunk.input) == {"a", "a_length", "b", "b_length"}
    assert trunk.get_layer("early_fusion").output.shape[-1] == 5


def test_waveform_frontend_masks_padded_samples():
    keras.utils.set_random_seed(0)
    feature = FeatureInput("wave", frontend=spectrogram.LOG_POWER_001)
    trunk = build_trunk(TrunkConfig(type="blstm_dnn_attention",
                                    params={"input_units": 4, "lstm_units": 2,
                                            "output_units": 3}), [feature])
    rng = np.random.default_rng(0)
    waves = (0.1 * rng.normal(size=(2, 4000))).astype(np.float32)
    lengths = np.int32([2500, 4000])
    padded = np.asarray(trunk({"wave": waves, "wave_length": lengths}, training=False))
    alone = np.asarray(trunk({"wave": waves[:1, :2500], "wave_length": lengths[:1]},
                             training=False))
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-5)


def test_bad_trunk_configs_raise():
    vector = [FeatureInput("egemaps", 10)]
    with pytest.raises(ValueError, match="unknown trunk"):
        build_trunk(TrunkConfig(type="transformer"), vector)
    with pytest.raises(ValueError, match="frames"):
        build_trunk(TrunkConfig(type="lstm_seq"), vector)
    with pytest.raises(ValueError, match="undeclared"):
        build_trunk(TrunkConfig(type="dnn", features=("mfcc",)), vector)
    with pytest.raises(ValueError, match="bad params"):
        build_trunk(TrunkConfig(type="dnn", params={"layers": 3}), vector)
