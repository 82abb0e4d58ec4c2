"""Custom layers: one shared round-trip test over every layer, then each layer's maths.

The round trip (keras-hub's ``run_layer_test`` habit): ``get_config`` ->
``from_config`` with copied weights gives identical outputs, the registered name
resolves through ``keras.saving``, and a tiny model containing the layer survives
``model.save`` / ``load_model`` with identical outputs.
"""

import numpy as np
import pytest
import keras

from tfser.features import spectrogram
from tfser.models import layers

RNG = np.random.default_rng(0)
LENGTHS = np.array([3, 5], dtype=np.int32)
FRAMES = RNG.normal(size=(2, 5, 4)).astype(np.float32)
MASK = np.arange(5)[None, :] < LENGTHS[:, None]
VECTORS = RNG.normal(size=(2, 6)).astype(np.float32)


def _call_positional(layer, tensors):
    return layer(*tensors)


def _call_with_mask(layer, tensors):
    frames, mask = tensors
    return layer(frames, mask=mask)


# Layer class -> (constructor, example inputs, how to call the layer on them).
CASES = {
    layers.AttentionPooling: (lambda: layers.AttentionPooling(units=3), [FRAMES, MASK],
                              _call_with_mask),
    layers.DownsampleLengths: (lambda: layers.DownsampleLengths(2), [LENGTHS],
                               _call_positional),
    layers.FrameCount: (lambda: layers.FrameCount(4, 2), [LENGTHS * 3], _call_positional),
    layers.LengthMask: (layers.LengthMask, [LENGTHS, FRAMES], _call_positional),
    layers.PerRaterDense: (lambda: layers.PerRaterDense(3, 4), [VECTORS], _call_positional),
    layers.RaterEmbeddingLogits: (
        lambda: layers.RaterEmbeddingLogits(3, 4, embedding_dim=2, hidden_units=5),
        [VECTORS], _call_positional),
    layers.UncertaintyWeights: (lambda: layers.UncertaintyWeights(["a", "b"]), [VECTORS],
                                _call_positional),
    layers.ZeroMaskedFrames: (layers.ZeroMaskedFrames, [FRAMES, LENGTHS], _call_positional),
}


def _as_list(outputs):
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (tuple, list))
                                    else [outputs])]


def _symbolic(array):
    # Time axes stay unknown, as in real models; float features keep their last axis.
    shape = [None] * (array.ndim - 1)
    if array.dtype == np.float32:
        shape[-1] = array.shape[-1]
    return keras.Input(shape=tuple(shape), dtype=array.dtype.name)


def test_every_layer_has_a_round_trip_case():
    assert set(CASES) == set(layers.LAYERS)


@pytest.mark.parametrize("cls", layers.LAYERS, ids=lambda cls: cls.__name__)
def test_layer_round_trip(cls, tmp_path):
    keras.utils.set_random_seed(1)
    make, inputs, call = CASES[cls]
    layer = make()
    expected = _as_list(call(layer, inputs))

    assert keras.saving.get_registered_name(cls) == f"tfser>{cls.__name__}"
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    call(clone, inputs)
    clone.set_weights(layer.get_weights())
    for got, want in zip(_as_list(call(clone, inputs)), expected):
        np.testing.assert_array_equal(got, want)

    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is cls and revived.get_config() == layer.get_config()

    symbolic = [_symbolic(array) for array in inputs]
    model = keras.Model(symbolic, call(make(), symbolic))
    before = _as_list(model(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for got, want in zip(_as_list(loaded(inputs)), before):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_attention_pooling_ignores_padding_and_sums_to_one():
    keras.utils.set_random_seed(2)
    layer = layers.AttentionPooling(units=4)
    padded = FRAMES.copy()
    padded[0, 3:] = 1e3
    pooled, weights = layer(padded, mask=MASK)
    alone_pooled, alone_weights = layer(FRAMES[:1, :3], mask=MASK[:1, :3])
    np.testing.assert_allclose(pooled[0], alone_pooled[0], atol=1e-5)
    np.testing.assert_allclose(weights[0, :3], alone_weights[0], atol=1e-6)
    np.testing.assert_array_equal(np.asarray(weights)[0, 3:], 0.0)
    np.testing.assert_allclose(np.sum(weights, axis=1), 1.0, atol=1e-6)


def test_attention_pooling_linear_scores_match_numpy():
    layer = layers.AttentionPooling(units=0)
    pooled, weights = layer(FRAMES, mask=MASK)
    context = layer.context.numpy()
    scores = FRAMES @ context
    expected = np.where(MASK, np.exp(scores - scores.max(axis=1, keepdims=True)), 0.0)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    np.testing.assert_allclose(pooled, np.einsum("bt,btd->bd", expected, FRAMES), atol=1e-5)


def test_attention_pooling_all_padding_row_pools_to_zero():
    pooled, weights = layers.AttentionPooling()(FRAMES, mask=np.zeros((2, 5), bool))
    assert np.all(np.asarray(pooled) == 0) and np.all(np.asarray(weights) == 0)


def test_length_layers():
    np.testing.assert_array_equal(layers.DownsampleLengths(4)(np.array([1, 4, 5, 9])),
                                  [1, 1, 2, 3])
    np.testing.assert_array_equal(layers.LengthMask()(LENGTHS, FRAMES), MASK)
    zeroed = np.asarray(layers.ZeroMaskedFrames()(FRAMES, LENGTHS))
    np.testing.assert_array_equal(zeroed[0, 3:], 0.0)
    np.testing.assert_array_equal(zeroed[1], FRAMES[1])
    with pytest.raises(ValueError):
        layers.DownsampleLengths(0)


def test_frame_count_matches_the_spectrogram_framing():
    settings = spectrogram.stft_settings(spectrogram.LOG_POWER_001)
    samples = np.array([100, 640, 801, 16000], dtype=np.int32)
    counts = layers.FrameCount(settings.frame_length, settings.frame_step)(samples)
    np.testing.assert_array_equal(counts, [settings.num_frames(n) for n in samples])
    frames = spectrogram.log_power_spectrogram_001(np.zeros(16000, np.float32)).shape[0]
    assert counts[-1] == frames


def test_per_rater_dense_is_one_dense_layer_per_rater():
    layer = layers.PerRaterDense(3, 4)
    logits = np.asarray(layer(VECTORS))
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    for rater in range(3):
        np.testing.assert_allclose(logits[:, rater], VECTORS @ kernel[:, rater] + bias[rater],
                                   atol=1e-5)


def test_rater_embedding_logits_differ_between_raters():
    keras.utils.set_random_seed(3)
    logits = np.asarray(layers.RaterEmbeddingLogits(3, 4, embedding_dim=2)(VECTORS))
    assert logits.shape == (2, 3, 4)
    assert not np.allclose(logits[:, 0], logits[:, 1])


def test_uncertainty_weights_pass_through_and_start_at_weight_one():
    layer = layers.UncertaintyWeights(["emotion", "secondary"])
    np.testing.assert_array_equal(np.asarray(layer(VECTORS)), VECTORS)
    assert [float(layer.weight_of(h)) for h in ("emotion", "secondary")] == [1.0, 1.0]
    assert len(layer.trainable_weights) == 2
    with pytest.raises(ValueError, match="distinct head names"):
        layers.UncertaintyWeights(["a", "a"])
