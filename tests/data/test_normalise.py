"""Normalisation functions, eagerly and inside tf.data."""

import numpy as np
import pytest
import tensorflow as tf

from tfser.data import normalise

MEAN, STD = [1.0, -2.0], [2.0, 0.5]


def test_global_on_vectors_and_frames():
    fn = normalise.global_normaliser((MEAN, STD), 2)
    np.testing.assert_allclose(fn(tf.constant([3.0, -1.0]), tf.constant("any")), [1.0, 2.0])
    frames = tf.constant([[1.0, -2.0], [5.0, -3.0]])
    np.testing.assert_allclose(fn(frames, tf.constant("any")), [[0, 0], [2, -2]])


def test_std_floor_keeps_constant_dimensions_finite():
    fn = normalise.global_normaliser(([0.0, 0.0], [0.0, 1.0]), 2, std_floor=0.1)
    np.testing.assert_allclose(fn(tf.constant([0.5, 0.5]), tf.constant("")), [5.0, 0.5])


def test_per_speaker_lookup_in_tf_data_with_fallback():
    fn = normalise.per_speaker_normaliser(
        {"s1": (MEAN, STD), "s2": ([0.0, 0.0], [1.0, 1.0])}, 2,
        fallback=([10.0, 10.0], [10.0, 10.0]))
    dataset = tf.data.Dataset.from_tensor_slices(
        ([[3.0, -1.0], [3.0, -1.0], [30.0, 20.0]], ["s1", "s2", "unseen"]))
    out = list(dataset.map(fn).as_numpy_iterator())
    np.testing.assert_allclose(out, [[1.0, 2.0], [3.0, -1.0], [2.0, 1.0]])


def test_per_speaker_without_fallback_leaves_unknown_speakers_unscaled():
    fn = normalise.per_speaker_normaliser({"s1": (MEAN, STD)}, 2)
    np.testing.assert_allclose(fn(tf.constant([3.0, -1.0]), tf.constant("s9")), [3.0, -1.0])


def test_bad_statistics_are_named():
    with pytest.raises(ValueError, match=r"egemaps \(global\): statistics have shapes"):
        normalise.global_normaliser(([0.0], [1.0]), 2, name="egemaps")
    with pytest.raises(ValueError, match=r"speaker s1\): statistics must be finite"):
        normalise.per_speaker_normaliser({"s1": ([np.nan, 0], [1, 1])}, 2)
    with pytest.raises(ValueError, match="at least one speaker"):
        normalise.per_speaker_normaliser({}, 2)
    with pytest.raises(ValueError, match="'x': normalisation 'z' is not one of"):
        normalise.check_mode("z", "x")


def test_clip_cuts_exploding_values_and_leaves_the_rest_bit_identical():
    """Issue 10.8: a near-zero-mean ratio feature reached -309 sigma and drove the model."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal([1000, 88]).astype(np.float32) * 2.0
    z[3, 17] = -309.0
    clipped = normalise.clip(tf.constant(z), 6.0).numpy()
    inside = np.abs(z) <= 6.0
    assert np.array_equal(clipped[inside], z[inside])          # bit-identical, not close
    assert clipped[3, 17] == -6.0 and np.abs(clipped).max() == 6.0
    assert np.array_equal(normalise.clip(tf.constant(z), 0.0).numpy(), z)  # 0 = off
    count, largest = normalise.out_of_range(tf.constant(z), 6.0)
    assert count.numpy().tolist() == np.count_nonzero(~inside, axis=1).tolist()
    assert largest.numpy()[3] == 309.0


def test_normalisers_clip_and_mask_padded_frames_in_the_count():
    stats = ([0.0, 0.0], [1.0, 1.0])
    raw = tf.constant([[[1.0, -400.0], [50.0, 0.0]]])
    for fn in (normalise.global_normaliser(stats, 2, clip_sigma=6.0),
               normalise.per_speaker_normaliser({"s": stats}, 2, clip_sigma=6.0)):
        np.testing.assert_array_equal(fn(raw, tf.constant("s")), [[[1.0, -6.0], [6.0, 0.0]]])
    np.testing.assert_array_equal(
        normalise.global_normaliser(stats, 2)(raw, None), raw)  # no clip by default
    count, largest = normalise.out_of_range(raw, 6.0, valid=tf.constant([[True, False]]))
    assert count.numpy().tolist() == [1] and largest.numpy().tolist() == [400.0]
