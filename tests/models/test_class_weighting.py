"""Class weights folded into per-head sample weights; existence label weights."""

import numpy as np
import pytest
import tensorflow as tf

from tfser.models import (HeadConfig, apply_class_weights, existence_weights,
                          fold_class_weights, takes_existence_weights, with_existence_weights)
from tfser.models.losses import build_loss


def test_hard_soft_and_per_rater_targets_are_weighted():
    weights = [1.0, 2.0, 4.0]
    targets = {"hard": np.array([0, 2, 1]),
               "soft": np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]],
                                np.float32),
               "raters": np.array([[[1, 0, 0], [0, 1, 0]]] * 3, np.float32),
               "other": np.zeros(3, np.float32)}
    sample = {"hard": np.array([1, 1, 0], np.float32), "soft": np.ones(3, np.float32),
              "raters": np.array([[1, 0]] * 3, np.float32), "other": np.ones(3, np.float32)}
    out = apply_class_weights(targets, sample, {"hard": weights, "soft": weights,
                                                "raters": weights})
    np.testing.assert_allclose(out["hard"], [1.0, 4.0, 0.0])
    np.testing.assert_allclose(out["soft"], [1.5, 4.0, 0.0])
    np.testing.assert_allclose(out["raters"], [[1.0, 0.0]] * 3)
    np.testing.assert_array_equal(out["other"], sample["other"])
    with pytest.raises(ValueError, match="no targets"):
        apply_class_weights(targets, sample, {"missing": weights})


def test_fold_class_weights_in_tf_data_keeps_meta():
    dataset = tf.data.Dataset.from_tensor_slices((
        {"x": np.zeros((4, 2), np.float32)}, {"primary": np.array([0, 1, 1, 0])},
        {"primary": np.ones(4, np.float32)}, {"utt_id": np.array([b"a", b"b", b"c", b"d"])}
    )).batch(2).map(fold_class_weights({"primary": [0.5, 3.0]}))
    folded = [element for element in dataset]
    assert len(folded[0]) == 4
    np.testing.assert_allclose(np.concatenate([e[2]["primary"] for e in folded]),
                               [0.5, 3.0, 3.0, 0.5])


def test_existence_weights_are_halved_inverse_frequencies():
    targets = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 1], [1, 0, 1]], np.float32)
    positive, negative = existence_weights(targets)
    np.testing.assert_allclose(positive, [4 / 6, 0.0, 4 / 6])
    np.testing.assert_allclose(negative, [4 / 2, 4 / 8, 4 / 2])
    # Unlabelled rows (weight 0) are not counted.
    positive, _ = existence_weights(np.vstack([targets, np.ones((1, 3))]),
                                    np.array([1, 1, 1, 1, 0]))
    np.testing.assert_allclose(positive, [4 / 6, 0.0, 4 / 6])
    with pytest.raises(ValueError, match=r"\[N, K\]"):
        existence_weights(np.zeros(3))


def test_existence_weights_reach_the_loss():
    head = HeadConfig(name="exists", units=3, kind="existence")
    assert takes_existence_weights(head)
    assert not takes_existence_weights(HeadConfig(name="e", units=3, kind="hard"))
    assert not takes_existence_weights(HeadConfig(name="s", units=3, kind="secondary",
                                                  loss="secondary_kl"))
    y, p = np.array([[0, 1, 0]], np.float32), np.full((1, 3), 0.5, np.float32)
    # Unweighted: each class contributes log 2.
    np.testing.assert_allclose(float(build_loss(head)(y, p)), 3 * np.log(2), rtol=1e-5)
    weighted = with_existence_weights(head, [2 / 3, 2.0, 2.0], [2.0, 2 / 3, 2 / 3])
    # Class b is present (w+ = 2); a and c are absent (w- = 2 and 2/3).
    np.testing.assert_allclose(float(build_loss(weighted)(y, p)), (2 + 2 + 2 / 3) * np.log(2),
                               rtol=1e-5)
    assert head.loss_params == {}                   # the original head is untouched


def test_with_existence_weights_refuses_conflicts():
    with pytest.raises(ValueError, match="takes no existent"):
        with_existence_weights(HeadConfig(name="e", units=2, kind="hard"), [1, 1], [1, 1])
    given = HeadConfig(name="x", units=2, kind="existence",
                       loss_params={"positive_weights": [1.0, 1.0]})
    with pytest.raises(ValueError, match=r"loss_params set \['positive_weights'\]"):
        with_existence_weights(given, [1, 1], [1, 1])
