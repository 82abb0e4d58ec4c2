"""One rater's slice of a per-rater view reads as a soft view of its own (paper 002's E_n)."""

import numpy as np
import pytest
import tensorflow as tf

from tfser import data
from tfser.data import rater_slices
from tfser.features import example_codec as codec


def _all_test(data_dir, heads):
    """Every test example of fold 0 (targets, weights), unbatched into arrays."""
    targets = {h: [] for h in heads}
    weights = {h: [] for h in heads}
    for _, y, w in data.build_dataset(data_dir, 0, "test", features=[], heads=heads,
                                      batch_size=64).as_numpy_iterator():
        for head in heads:
            targets[head].append(y[head])
            weights[head].append(w[head])
    return ({h: np.concatenate(v) for h, v in targets.items()},
            {h: np.concatenate(v) for h, v in weights.items()})


def test_slice_names_are_safe_layer_names():
    assert rater_slices.slice_head("rater", "synthetic:R03") == "rater.synthetic_R03"
    assert rater_slices.slice_head("rater", "crema 1001/x") == "rater.crema_1001_x"


def test_a_slice_is_the_raters_row_labelled_where_they_rated(data_002):
    info = data.load_info(data_002)
    raters = info.label_specs.raters("rater")
    assert raters[2] == "synthetic:R03"
    head = data.slice_head("rater", raters[2])
    spec = info.label_specs[head]
    assert spec.kind == "soft" and spec.shape == (4,)
    assert spec.classes == info.label_specs["rater"].classes
    # Iterating lists the stored views only: "all heads" never means every slice.
    assert list(info.label_specs) == ["emotion", "emotion_soft", "rater"]
    assert head in info.label_specs and "rater.nobody" not in info.label_specs
    targets, weights = _all_test(data_002, ["rater", head])
    np.testing.assert_array_equal(targets[head], targets["rater"][:, 2, :])
    np.testing.assert_array_equal(weights[head], weights["rater"][:, 2])
    assert 0 < weights[head].sum() < len(weights[head])  # R03 rated some, not all
    labelled = weights[head] > 0
    np.testing.assert_allclose(targets[head][labelled].sum(axis=1), 1.0, rtol=1e-6)


def test_label_summary_counts_a_raters_labels(data_002):
    info = data.load_info(data_002)
    head = data.slice_head("rater", "synthetic:R03")
    summary = data.label_summary(info, head)
    # LOSO: fold 0's parts hold every utterance once; count the rater's mask directly.
    files = sorted({f for part in ("train", "dev", "test") for f in info.files(0, part, False)})
    parse = codec.make_parser([], [info.label_specs["rater"]])
    count = 0
    for serialized in tf.data.TFRecordDataset(files):
        _, _, _, _, masks = parse(serialized)
        count += int(masks["rater"].numpy()[2].max() > 0)
    assert summary["labelled"] == count > 0
    assert summary["classes"] == ["neutral", "angry", "happy", "sad"]
    assert sum(summary["distribution"].values()) == pytest.approx(1.0)
    hard = data.label_summary(info, "emotion")
    soft = data.label_summary(info, "emotion_soft")
    # Ties have no hard label but keep their soft one.
    assert 0 < hard["labelled"] <= soft["labelled"]
    with pytest.raises(ValueError, match="no single class distribution"):
        data.label_summary(info, "rater")
