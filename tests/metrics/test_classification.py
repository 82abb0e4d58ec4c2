"""Categorical metrics against scikit-learn and hand-computed values."""

import numpy as np
import pytest
from sklearn import metrics as sk

from tfser.metrics import classification as cls


def _random_case(seed=0, n=200, k=4):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    return y_true, y_pred


def test_metrics_match_sklearn_on_random_labels():
    y_true, y_pred = _random_case()
    assert cls.weighted_accuracy(y_true, y_pred) == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert cls.unweighted_accuracy(y_true, y_pred) == pytest.approx(
        sk.recall_score(y_true, y_pred, average="macro"))
    assert cls.unweighted_accuracy(y_true, y_pred) == pytest.approx(
        sk.balanced_accuracy_score(y_true, y_pred))
    assert cls.mean_precision(y_true, y_pred) == pytest.approx(
        sk.precision_score(y_true, y_pred, average="macro"))
    assert cls.macro_f1(y_true, y_pred) == pytest.approx(sk.f1_score(y_true, y_pred,
                                                                     average="macro"))
    np.testing.assert_allclose(cls.per_class_recall(y_true, y_pred),
                               sk.recall_score(y_true, y_pred, average=None))
    np.testing.assert_allclose(cls.per_class_precision(y_true, y_pred),
                               sk.precision_score(y_true, y_pred, average=None))
    np.testing.assert_array_equal(cls.confusion_matrix(y_true, y_pred, num_classes=4),
                                  sk.confusion_matrix(y_true, y_pred))


def test_f1_of_means_differs_from_sklearn_macro_f1():
    y_true = [0, 0, 0, 0, 1, 1]
    y_pred = [0, 0, 0, 1, 1, 1]
    # P = (1 + 2/3) / 2 = 5/6, R = (3/4 + 1) / 2 = 7/8 -> 2PR / (P + R) = 35/41.
    assert cls.f1_of_means(y_true, y_pred) == pytest.approx(35 / 41)
    # Per-class F1 = 6/7 and 4/5 -> mean 29/35.
    assert cls.macro_f1(y_true, y_pred) == pytest.approx(29 / 35)
    assert cls.macro_f1(y_true, y_pred) == pytest.approx(sk.f1_score(y_true, y_pred,
                                                                     average="macro"))
    assert cls.f1_of_means(y_true, y_pred) != pytest.approx(cls.macro_f1(y_true, y_pred))


def test_absent_classes_and_names():
    classes = ["angry", "happy", "sad"]
    y_true = ["angry", "angry", "happy", "happy"]
    y_pred = ["angry", "sad", "happy", "angry"]
    # Present classes only: recall (1/2 + 1/2) / 2.
    assert cls.unweighted_accuracy(y_true, y_pred, classes) == pytest.approx(0.5)
    t = cls.encode_labels(y_true, classes)
    p = cls.encode_labels(y_pred, classes)
    assert cls.unweighted_accuracy(t, p, num_classes=3) == pytest.approx(
        sk.recall_score(t, p, labels=[0, 1], average="macro"))
    assert cls.unweighted_accuracy(y_true, y_pred, classes, average_over="all") == \
        pytest.approx(sk.recall_score(t, p, labels=[0, 1, 2], average="macro", zero_division=0))
    assert cls.mean_precision(y_true, y_pred, classes) == pytest.approx((1 / 2 + 1) / 2)
    recall = cls.per_class_recall(y_true, y_pred, classes)
    assert np.isnan(recall[2]) and recall[0] == 0.5
    normalised = cls.confusion_matrix(y_true, y_pred, classes, normalize=True)
    np.testing.assert_allclose(normalised[:2], [[0.5, 0, 0.5], [0.5, 0.5, 0]])
    assert np.isnan(normalised[2]).all()
    with pytest.raises(ValueError, match=r"outside the classes.*\['calm'\]"):
        cls.weighted_accuracy(["calm"], ["sad"], classes)
    with pytest.raises(ValueError, match=r"y_pred\[1\]=3 is not a class index"):
        cls.mean_recall([0, 1], [0, 3], num_classes=3)
    with pytest.raises(ValueError, match="2 entries but y_pred has 1"):
        cls.weighted_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="average_over"):
        cls.mean_recall([0], [0], average_over="some")


def test_cross_entropy_hard_soft_and_clipping():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]])
    hard = [0, 2, 1]
    assert cls.cross_entropy(probs, hard) == pytest.approx(
        sk.log_loss(hard, probs, labels=[0, 1, 2]))
    soft = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3]])
    expected = -np.mean([0.5 * np.log(0.7) + 0.5 * np.log(0.2), np.log(0.6),
                         (np.log(0.25) + np.log(0.5) + np.log(0.25)) / 3])
    assert cls.cross_entropy(probs, soft) == pytest.approx(expected)
    assert cls.cross_entropy([[1.0, 0.0]], [1], eps=1e-6) == pytest.approx(-np.log(1e-6))
    with pytest.raises(ValueError, match="row 0 sums to 0.9"):
        cls.cross_entropy(probs, [[0.5, 0.4, 0.0]] + soft[1:].tolist())
    with pytest.raises(ValueError, match="does not match"):
        cls.cross_entropy(probs, np.ones((3, 2)) / 2)


def test_multilabel_accuracy():
    truth = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]])
    scores = np.array([[0.9, 0.2, 0.4], [0.6, 0.1, 0.8], [0.7, 0.5, 0.1], [0.3, 0.8, 0.2]])
    # Class 0: 3/4 right; class 1: 0.5 is not > 0.5 so row 2 is wrong -> 3/4; class 2: 3/4.
    mean, per_class = cls.multilabel_accuracy(truth, scores, return_per_class=True)
    np.testing.assert_allclose(per_class, [0.75, 0.75, 0.75])
    assert mean == pytest.approx(0.75)
    assert cls.multilabel_accuracy(truth, scores, threshold=0.45) == pytest.approx(
        (0.75 + 1.0 + 0.75) / 3)
    with pytest.raises(ValueError, match=r"y_true\[0, 0\]=2.0 is not 0 or 1"):
        cls.multilabel_accuracy([[2, 0]], [[0.1, 0.1]])


def test_classification_report_collects_everything():
    classes = ["a", "b", "c"]
    y_true = [0, 0, 0, 0, 1, 1]
    y_pred = [0, 0, 0, 1, 1, 1]
    probs = np.full((6, 3), 1 / 3)
    report = cls.classification_report(y_true, y_pred, classes, probs=probs)
    assert report["wa"] == pytest.approx(5 / 6)
    assert report["ua"] == report["mean_recall"] == pytest.approx(7 / 8)
    assert report["mean_precision"] == pytest.approx(5 / 6)
    assert report["f1"] == pytest.approx(35 / 41)
    assert report["macro_f1"] == pytest.approx(29 / 35)
    assert report["absent_classes"] == ["c"]
    assert report["per_class_recall"] == {"a": 0.75, "b": 1.0, "c": None}
    assert report["support"] == {"a": 4, "b": 2, "c": 0}
    assert report["confusion"] == [[3, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert report["confusion_normalized"][2] == [None, None, None]
    assert report["cross_entropy"] == pytest.approx(np.log(3))
