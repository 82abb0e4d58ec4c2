"""existence_labels: multi-hot presence with a vote threshold; no-target rows are negatives."""

import numpy as np
import pytest

from tfser.labels import derive
from tfser.labels.existence import existence_labels

from tests.labels.builders import make_table, rating

COUNTS = np.array([[2, 1, 0], [0, 0, 0], [1, 1, 1], [3, 0, 2]])


def test_any_rater_is_enough_by_default():
    values, mask = existence_labels(COUNTS)
    np.testing.assert_array_equal(values, [[1, 1, 0], [0, 0, 0], [1, 1, 1], [1, 0, 1]])
    # Paper 001: a row without a target-class vote is an all-zero negative, kept.
    assert mask.tolist() == [True, True, True, True]


def test_unjudged_rows_stay_masked():
    # Row 1 was judged (e.g. "frustrated" only): negative. Row 3: nobody rated it.
    counts = np.array([[1, 0], [0, 0], [0, 2], [0, 0]])
    values, mask = existence_labels(counts, judgements=[1, 3, 2, 0])
    np.testing.assert_array_equal(values, [[1, 0], [0, 0], [0, 1], [0, 0]])
    assert mask.tolist() == [True, True, True, False]


def test_mask_policy_keeps_the_old_behaviour():
    values, mask = existence_labels(COUNTS, no_target="mask")
    np.testing.assert_array_equal(values, [[1, 1, 0], [0, 0, 0], [1, 1, 1], [1, 0, 1]])
    assert mask.tolist() == [True, False, True, True]


def test_threshold_two():
    values, mask = existence_labels(COUNTS, threshold=2)
    np.testing.assert_array_equal(values, [[1, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 1]])
    # A voted utterance with no class over the threshold is still a labelled "none".
    assert mask.tolist() == [True, True, True, True]


@pytest.mark.parametrize("threshold", [0, 1.5, True])
def test_bad_threshold(threshold):
    with pytest.raises(ValueError, match="threshold"):
        existence_labels(COUNTS, threshold=threshold)


def test_bad_policy_and_judgements():
    with pytest.raises(ValueError, match="no_target"):
        existence_labels(COUNTS, no_target="drop")
    with pytest.raises(ValueError, match="judgements"):
        existence_labels(COUNTS, judgements=[1, 1])


def _table():
    # 4-class target; "frustration" is not mapped to any target class.
    return make_table([
        rating("a", "e1", "happy"), rating("a", "e2", "sad"), rating("a", "e3", "frustration"),
        rating("b", "e1", "frustration"), rating("b", "e2", "other"),      # judged, no target
        rating("c", "e1", "angry"),
    ], utt_ids=["a", "b", "c", "d"])                                       # d: unrated


@pytest.mark.parametrize("params, mask_b", [({}, True), ({"no_target": "mask"}, False)])
def test_derive_makes_no_target_utterances_negatives(params, mask_b):
    labels = derive(_table(), {
        "classes": ["neutral", "happy", "sad", "angry"],
        "class_mapping": {"frustration": None, "other": None},
        "views": [{"name": "exist", "kind": "existence", "params": params}]})
    view = labels["exist"]
    np.testing.assert_array_equal(view.values, [[0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1],
                                                [0, 0, 0, 0]])
    assert view.mask.tolist() == [True, mask_b, True, False]
