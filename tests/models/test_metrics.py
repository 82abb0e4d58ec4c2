"""Streaming metrics: epoch-level values against numpy, masking, soft targets, configs."""

import numpy as np
import pytest
import keras

from tfser.models import metrics
from tfser.models.config import HeadConfig

RNG = np.random.default_rng(0)


def _ccc(x, y):
    mx, my = x.mean(), y.mean()
    return 2 * np.mean((x - mx) * (y - my)) / (x.var() + y.var() + (mx - my) ** 2)


def _uar(true, predicted, classes):
    recalls = [np.mean(predicted[true == k] == k) for k in range(classes) if np.any(true == k)]
    return np.mean(recalls)


def test_ua_and_wa_accumulate_over_batches_and_skip_masked():
    true = RNG.integers(0, 4, size=40)
    probabilities = RNG.random((40, 4)).astype(np.float32)
    weights = (RNG.random(40) > 0.3).astype(np.float32)
    ua, wa = metrics.UnweightedAccuracy(4), metrics.WeightedAccuracy(4)
    for start in range(0, 40, 16):
        batch = slice(start, start + 16)
        for metric in (ua, wa):
            metric.update_state(true[batch], probabilities[batch], weights[batch])
    keep = weights > 0
    predicted = probabilities.argmax(axis=1)
    np.testing.assert_allclose(float(ua.result()), _uar(true[keep], predicted[keep], 4),
                               rtol=1e-6)
    np.testing.assert_allclose(float(wa.result()), np.mean(true[keep] == predicted[keep]),
                               rtol=1e-6)
    ua.reset_state()
    assert float(ua.result()) == 0.0


def test_ua_on_soft_targets_and_per_rater_outputs():
    soft = np.array([[0.6, 0.4, 0.0], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3]], np.float32)
    predicted = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]], np.float32)
    ua = metrics.UnweightedAccuracy(3)
    ua.update_state(soft, predicted)
    np.testing.assert_allclose(float(ua.result()), (1 + 0 + 1) / 3, rtol=1e-6)
    # [B, R, K] with a [B, R] rater mask: masked raters' zero targets are not counted.
    raters = np.stack([soft, np.zeros_like(soft)], axis=1)
    guesses = np.stack([predicted, predicted], axis=1)
    ua.reset_state()
    ua.update_state(raters, guesses, np.array([[1, 0]] * 3, np.float32))
    np.testing.assert_allclose(float(ua.result()), 2 / 3, rtol=1e-6)


def test_ccc_metric_streams_frames_and_masks():
    y_true = RNG.normal(size=(6, 5, 2)).astype(np.float32)
    y_pred = (0.8 * y_true + RNG.normal(scale=0.5, size=(6, 5, 2))).astype(np.float32)
    frames = (np.arange(5)[None, :] < RNG.integers(1, 6, size=6)[:, None]).astype(np.float32)
    mean_metric = metrics.ConcordanceCorrelation(2)
    valence = metrics.ConcordanceCorrelation(2, attribute=1, name="ccc_valence")
    for batch in (slice(0, 4), slice(4, 6)):
        for metric in (mean_metric, valence):
            metric.update_state(y_true[batch], y_pred[batch], frames[batch])
    keep = frames > 0
    expected = [_ccc(y_true[..., a][keep], y_pred[..., a][keep]) for a in range(2)]
    np.testing.assert_allclose(float(valence.result()), expected[1], rtol=1e-5)
    np.testing.assert_allclose(float(mean_metric.result()), np.mean(expected), rtol=1e-5)


def test_ccc_metric_on_a_b1_head_is_not_zero():
    # The built-in ConcordanceCorrelation's default axis returns 0 for this shape.
    y_true = RNG.normal(size=(20, 1)).astype(np.float32)
    y_pred = (y_true + RNG.normal(scale=0.2, size=(20, 1))).astype(np.float32)
    metric = metrics.ConcordanceCorrelation(1)
    metric.update_state(y_true[:, 0], y_pred)
    np.testing.assert_allclose(float(metric.result()), _ccc(y_true[:, 0], y_pred[:, 0]),
                               rtol=1e-5)
    assert float(metric.result()) > 0.5


def test_multilabel_accuracy_binarises_soft_targets():
    # Normalised secondary vectors: F1/AUC would see no 1s; presence is target > 0.
    targets = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], np.float32)
    outputs = np.array([[0.7, 0.2, 0.1], [0.8, 0.6, 0.4]], np.float32)
    metric = metrics.MultilabelAccuracy(3)
    metric.update_state(targets, outputs)
    # Per class: [2/2, 0/2, 2/2].
    np.testing.assert_allclose(float(metric.result()), 2 / 3, rtol=1e-6)
    metric.reset_state()
    metric.update_state(targets, outputs, np.array([1, 0], np.float32))
    np.testing.assert_allclose(float(metric.result()), 2 / 3, rtol=1e-6)


@pytest.mark.parametrize("metric", [
    metrics.UnweightedAccuracy(4), metrics.WeightedAccuracy(3, name="acc"),
    metrics.ConcordanceCorrelation(3, attribute=2), metrics.MultilabelAccuracy(2, 0.4, 0.1)],
    ids=lambda metric: type(metric).__name__)
def test_metric_config_round_trip(metric):
    clone = type(metric).from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(revived) is type(metric)


def test_build_metrics_by_head_type():
    def names(**fields):
        return [m.name for m in metrics.build_metrics(HeadConfig(name="h", **fields))]
    assert names(kind="hard", units=4) == ["wa", "ua"]
    assert names(kind="per_rater", units=4, params={"num_raters": 2}) == ["wa", "ua"]
    assert names(kind="existence", units=4) == ["binary_accuracy"]
    assert names(kind="dimensional", units=2, classes=("arousal", "valence")) == [
        "ccc", "ccc_arousal", "ccc_valence"]
    assert names(kind="dimensional", units=1) == ["ccc"]
