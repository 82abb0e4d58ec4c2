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
