"""Losses: values against numpy, masking (weight-0 elements change nothing), CCC weighting."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from tfser.models import losses
from tfser.models.config import HeadConfig

RNG = np.random.default_rng(0)


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _distribution(shape):
    return _softmax(RNG.normal(size=shape) * 2)


def _ccc(x, y):
    mx, my = x.mean(), y.mean()
    return 2 * np.mean((x - mx) * (y - my)) / (x.var() + y.var() + (mx - my) ** 2)


# Loss -> (y_true, y_pred) for 6 elements of which the last 2 will be masked.
PER_ELEMENT = {
    "hard": (losses.HardTargetCrossentropy(),
             RNG.integers(0, 4, size=6), _distribution((6, 4))),
    "soft": (losses.SoftTargetCrossentropy(), _distribution((6, 4)), _distribution((6, 4))),
    "per_rater": (losses.SoftTargetCrossentropy(), _distribution((6, 3, 4)),
                  _distribution((6, 3, 4))),
    "secondary_kl": (losses.SecondaryKLDivergence(),
                     (RNG.random((6, 4)) > 0.5).astype(np.float32),
                     RNG.uniform(0.05, 0.95, (6, 4)).astype(np.float32)),
    "existence": (losses.WeightedBinaryCrossentropy([2.0, 1.0, 0.5, 1.0], [0.5, 1.0, 2.0, 1.0]),
                  (RNG.random((6, 4)) > 0.5).astype(np.float32),
                  RNG.uniform(0.05, 0.95, (6, 4)).astype(np.float32)),
}


@pytest.mark.parametrize("case", sorted(PER_ELEMENT))
def test_masked_examples_do_not_change_the_loss(case):
    loss, y_true, y_pred = PER_ELEMENT[case]
    weights = np.array([1, 1, 1, 1, 0, 0], np.float32)
    subset = float(loss(y_true[:4], y_pred[:4]))
    masked = float(loss(y_true, y_pred, sample_weight=weights))
    np.testing.assert_allclose(masked, subset, rtol=1e-6)
    # Garbage targets/predictions on masked rows are ignored too.
    y_pred_garbage = y_pred.copy()
    y_pred_garbage[4:] = y_pred[:2]
    np.testing.assert_allclose(float(loss(y_true, y_pred_garbage, sample_weight=weights)),
                               subset, rtol=1e-6)


def test_per_rater_element_mask():
    loss, y_true, y_pred = PER_ELEMENT["per_rater"]
    mask = (RNG.random((6, 3)) > 0.4).astype(np.float32)
    per_element = -np.sum(y_true * np.log(y_pred), axis=-1)
    expected = (per_element * mask).sum() / mask.sum()
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=mask)), expected,
                               rtol=1e-5)
    # A [B] weight masks whole examples (all their raters).
    rows = np.array([1, 0, 1, 1, 0, 1], np.float32)
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=rows)),
                               per_element[rows > 0].mean(), rtol=1e-5)


def test_crossentropy_values_match_numpy():
    loss, y_true, y_pred = PER_ELEMENT["hard"]
    expected = -np.log(y_pred[np.arange(6), y_true]).mean()
    np.testing.assert_allclose(float(loss(y_true, y_pred)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(loss(y_true[:, None], y_pred)), expected, rtol=1e-5)
    soft, q, p = PER_ELEMENT["soft"]
    np.testing.assert_allclose(float(soft(q, p)), -np.sum(q * np.log(p), axis=1).mean(),
                               rtol=1e-5)


def test_secondary_kl_normalises_both_vectors():
    loss, y_true, y_pred = PER_ELEMENT["secondary_kl"]
    y_true = y_true.copy()
    y_true[:, 0] = 1.0  # the primary class is always among the secondary labels
    q = y_true / y_true.sum(axis=1, keepdims=True)
    p = y_pred / y_pred.sum(axis=1, keepdims=True)
    terms = np.where(q > 0, q * np.log(np.where(q > 0, q, 1) / p), 0)
    np.testing.assert_allclose(float(loss(y_true, y_pred)), terms.sum(axis=1).mean(),
                               rtol=1e-5)
    # Sigmoid outputs summing to > 1 drive the built-in KL negative; ours stays >= 0.
    big = np.full((1, 4), 0.9, np.float32)
    target = np.array([[1, 1, 0, 0]], np.float32)
    assert float(keras.losses.KLDivergence()(target / 2, big)) < 0
    assert float(loss(target, big)) >= 0
    np.testing.assert_allclose(float(loss(target, np.array([[0.6, 0.6, 1e-7, 1e-7]],
                                                           np.float32))), 0.0, atol=1e-5)
    assert float(loss(np.zeros((1, 4), np.float32), big)) == 0.0


def test_weighted_bce_applies_class_weights():
    loss, y_true, y_pred = PER_ELEMENT["existence"]
    positive = np.array([2.0, 1.0, 0.5, 1.0])
    negative = np.array([0.5, 1.0, 2.0, 1.0])
    expected = -(positive * y_true * np.log(y_pred)
                 + negative * (1 - y_true) * np.log(1 - y_pred)).sum(axis=1).mean()
    np.testing.assert_allclose(float(loss(y_true, y_pred)), expected, rtol=1e-5)


def test_weighted_ccc_equals_ccc_of_the_unmasked_subset():
    y_true = RNG.normal(size=(10, 3)).astype(np.float32)
    y_pred = (0.5 * y_true + RNG.normal(scale=0.5, size=(10, 3))).astype(np.float32)
    weights = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 1], np.float32)
    keep = weights > 0
    expected = sum(1 - _ccc(y_true[keep, a], y_pred[keep, a]) for a in range(3))
    loss = losses.ConcordanceLoss()
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=weights)), expected,
                               rtol=1e-5)
    # Multiplying an unmasked CCC loss by the weights would not give this.
    assert not np.isclose(float(loss(y_true, y_pred)), expected, rtol=1e-3)


def test_ccc_frame_level_and_element_masks():
    y_true = RNG.normal(size=(3, 7, 2)).astype(np.float32)
    y_pred = (y_true + RNG.normal(scale=0.7, size=(3, 7, 2))).astype(np.float32)
    frames = (np.arange(7)[None, :] < np.array([7, 4, 2])[:, None]).astype(np.float32)
    keep = frames > 0
    expected = [1 - _ccc(y_true[..., a][keep], y_pred[..., a][keep]) for a in range(2)]
    loss = losses.ConcordanceLoss(attribute_weights=[0.7, 0.2])
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=frames)),
                               0.7 * expected[0] + 0.2 * expected[1], rtol=1e-5)
    # [B, A] element mask: each attribute uses its own labelled examples.
    mask = np.array([[1, 1], [1, 0], [1, 1]], np.float32)
    utt_true = y_true[:, 0]
    utt_pred = y_pred[:, 0]
    element = (1 - _ccc(utt_true[:, 0], utt_pred[:, 0])
               + 1 - _ccc(utt_true[[0, 2], 1], utt_pred[[0, 2], 1]))
    np.testing.assert_allclose(float(losses.ConcordanceLoss()(utt_true, utt_pred,
                                                              sample_weight=mask)),
                               element, rtol=1e-5)


def test_ccc_single_attribute_head_of_shape_b1():
    y_true = RNG.normal(size=(8,)).astype(np.float32)
    y_pred = (y_true + RNG.normal(scale=0.3, size=8)).astype(np.float32)[:, None]
    np.testing.assert_allclose(float(losses.ConcordanceLoss()(y_true, y_pred)),
                               1 - _ccc(y_true, y_pred[:, 0]), rtol=1e-5)


@pytest.mark.parametrize("loss", [losses.ConcordanceLoss(), *[case[0] for case in
                                                             PER_ELEMENT.values()]],
                         ids=lambda loss: type(loss).__name__)
def test_all_masked_batch_gives_zero_loss_and_zero_gradient(loss):
    case = next((c for c in PER_ELEMENT.values() if c[0] is loss), None)
    if case is None:
        y_true = RNG.normal(size=(4, 2)).astype(np.float32)
        y_pred = RNG.normal(size=(4, 2)).astype(np.float32)
    else:
        _, y_true, y_pred = case
    y_pred = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = loss(y_true, y_pred, sample_weight=np.zeros(len(y_true), np.float32))
    gradient = tape.gradient(value, y_pred)
    assert float(value) == 0.0
    assert gradient is None or np.all(np.asarray(gradient) == 0)


def test_reductions():
    loss, y_true, y_pred = PER_ELEMENT["soft"]
    weights = np.array([1, 1, 1, 1, 0, 0], np.float32)
    per_element = -np.sum(y_true * np.log(y_pred), axis=-1) * weights
    none = losses.SoftTargetCrossentropy(reduction="none")(y_true, y_pred, weights)
    np.testing.assert_allclose(none, per_element, rtol=1e-5)
    np.testing.assert_allclose(float(losses.SoftTargetCrossentropy(reduction="sum")(
        y_true, y_pred, weights)), per_element.sum(), rtol=1e-5)
    np.testing.assert_allclose(float(losses.SoftTargetCrossentropy(
        reduction="sum_over_batch_size")(y_true, y_pred, weights)), per_element.mean(),
        rtol=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        losses.SoftTargetCrossentropy(reduction="median")


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_loss_config_round_trip(name):
    params = {"attribute_weights": [0.7, 0.2, 1.0]} if name == "ccc" else {}
    if name == "weighted_binary_crossentropy":
        params = {"positive_weights": [1.0, 2.0], "negative_weights": [0.5, 1.0]}
    loss = losses.LOSSES[name](name="head_loss", **params)
    clone = type(loss).from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(revived) is type(loss) and revived.get_config() == loss.get_config()


def test_build_loss_defaults_by_kind_and_type():
    def built(**fields):
        return losses.build_loss(HeadConfig(name="h", units=3, **fields))
    assert isinstance(built(kind="hard"), losses.HardTargetCrossentropy)
    assert isinstance(built(kind="soft"), losses.SoftTargetCrossentropy)
    assert isinstance(built(kind="per_rater"), losses.SoftTargetCrossentropy)
    assert isinstance(built(kind="secondary"), losses.WeightedBinaryCrossentropy)
    assert isinstance(built(kind="secondary", loss="secondary_kl"),
                      losses.SecondaryKLDivergence)
    assert isinstance(built(type="regression"), losses.ConcordanceLoss)
    assert built(kind="speaker").name == "h_loss"
    assert built(kind="dimensional", loss_params={"attribute_weights": [1, 0, 0]}
                 ).attribute_weights == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="unknown loss"):
        built(kind="hard", loss="focal")
    with pytest.raises(ValueError, match="bad loss_params"):
        built(kind="hard", loss_params={"gamma": 2})


def test_uncertainty_weighted_loss_is_exp_minus_s_times_loss_plus_s():
    from tfser.models import layers
    weights = layers.UncertaintyWeights(["emotion"])
    weights.log_variances["emotion"].assign(0.5)
    inner = losses.HardTargetCrossentropy()
    wrapped = losses.UncertaintyWeightedLoss(inner, weights, "emotion")
    y_true = np.array([0, 1], dtype=np.int64)
    y_pred = np.array([[0.7, 0.3], [0.4, 0.6]], dtype=np.float32)
    plain = float(inner(y_true, y_pred))
    assert float(wrapped(y_true, y_pred)) == pytest.approx(np.exp(-0.5) * plain + 0.5,
                                                           rel=1e-6)
    # The gradient moves s towards log L: d/ds (exp(-s) L + s) = 1 - exp(-s) L.
    with tf.GradientTape() as tape:
        value = wrapped(y_true, y_pred)
    grad = tape.gradient(value, weights.log_variances["emotion"])
    assert float(grad) == pytest.approx(1.0 - np.exp(-0.5) * plain, rel=1e-5)


def test_learned_attribute_weights_give_sum_of_exp_minus_s_times_ccc_loss_plus_s():
    from tfser.models import layers
    head = HeadConfig(name="traces", units=3, kind="dimensional", loss="ccc",
                      classes=("arousal", "valence", "liking"),
                      loss_params={"attribute_weights": "learned"})
    assert head.attribute_terms == ("traces/arousal", "traces/valence", "traces/liking")
    inner = losses.build_loss(head)  # unweighted: the learned weights wrap it
    assert inner.attribute_weights is None
    weights = layers.UncertaintyWeights(head.attribute_terms)
    log_variances = {"traces/arousal": 0.5, "traces/valence": -0.3, "traces/liking": 1.2}
    for term, value in log_variances.items():
        weights.log_variances[term].assign(value)
    wrapped = losses.UncertaintyWeightedLoss(inner, weights, "traces", head.attribute_terms)
    y_true = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    y_pred = (0.5 * y_true + RNG.normal(size=(2, 5, 3))).astype(np.float32)
    s = np.array(list(log_variances.values()))
    ccc_loss = np.array([1.0 - _ccc(y_true[..., a].ravel(), y_pred[..., a].ravel())
                         for a in range(3)])
    expected = float(np.sum(np.exp(-s) * ccc_loss + s))
    assert float(wrapped(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    # Each attribute's s gets its own gradient 1 - exp(-s_a) (1 - CCC_a).
    with tf.GradientTape() as tape:
        value = wrapped(y_true, y_pred)
    grads = tape.gradient(value, [weights.log_variances[t] for t in head.attribute_terms])
    np.testing.assert_allclose([float(g) for g in grads], 1.0 - np.exp(-s) * ccc_loss,
                               rtol=1e-4)


@pytest.mark.parametrize("fields, message", [
    ({"kind": "dimensional", "loss_params": {"attribute_weights": "learnt"}},
     "attribute_weights must be a list of numbers or 'learned', got 'learnt'"),
    ({"kind": "hard", "loss_params": {"attribute_weights": "learned"}},
     "learned weights the attributes of the ccc loss; this head's loss is None"),
    ({"kind": "dimensional", "loss": "soft_crossentropy",
      "loss_params": {"attribute_weights": "learned"}},
     "this head's loss is 'soft_crossentropy'"),
])
def test_learned_attribute_weights_only_on_a_ccc_head(fields, message):
    from tfser.config.checks import ConfigError
    with pytest.raises(ConfigError, match=f"head 'h': .*{message}"):
        HeadConfig(name="h", units=3, **fields)
