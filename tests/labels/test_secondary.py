"""The secondary rule of paper 000, on matrices and through derive()."""

import numpy as np
import pytest

from tfser.labels import derive
from tfser.labels.secondary import round_half_up_ratio, secondary_targets

from tests.labels.builders import make_table, rating


def test_round_half_up_not_bankers():
    assert round_half_up_ratio([1, 3, 5, 5, 4, 0, 7], [2, 2, 2, 4, 3, 5, 0]).tolist() == \
        [1, 2, 3, 1, 1, 0, 0]   # 0.5->1, 1.5->2, 2.5->3, 1.25->1, 1.33->1, 0, no judges->0


def test_top_k_and_primary_always_included():
    # Classes A B C D. Secondary frequencies and the primary consensus per row.
    sec = np.array([
        [3, 2, 1, 0],   # k=2 -> A, B; primary A already in
        [3, 2, 1, 0],   # k=2, primary D not in top 2 -> D replaces B (the 2nd)
        [3, 2, 1, 0],   # k=0 -> only the primary C
        [3, 2, 1, 0],   # no consensus -> masked
    ])
    primary = np.array([0, 3, 2, -1])
    choices = np.array([6, 6, 1, 6])
    judges = np.array([3, 3, 3, 3])
    out = secondary_targets(sec, primary, choices, judges)
    np.testing.assert_array_equal(out.k, [2, 2, 0, 2])
    np.testing.assert_array_equal(out.multi_hot, [[1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0],
                                                  [0, 0, 0, 0]])
    np.testing.assert_array_equal(out.mask, [True, True, True, False])
    np.testing.assert_allclose(out.normalized, [[.5, .5, 0, 0], [.5, 0, 0, .5], [0, 0, 1, 0],
                                                [0, 0, 0, 0]])


def test_equal_frequencies_break_by_primary_votes_then_class_order():
    sec = np.array([[1, 1, 1, 0], [1, 1, 1, 0]])
    prim = np.array([[0, 0, 2, 1], [0, 0, 0, 3]])
    out = secondary_targets(sec, [2, 3], [2, 2], [2, 2], primary_counts=prim)
    # Row 0: k=1, C has most primary votes and is the primary.
    # Row 1: k=1, A/B/C tie on everything -> A by class order, then the primary D
    # replaces it.
    np.testing.assert_array_equal(out.multi_hot, [[0, 0, 1, 0], [0, 0, 0, 1]])
    out = secondary_targets(sec, [2, 3], [4, 4], [2, 2], primary_counts=prim)
    # k=2: row 0 -> C then A (class order among equals); row 1 -> A kept, B replaced by D.
    np.testing.assert_array_equal(out.multi_hot, [[1, 0, 1, 0], [1, 0, 0, 1]])


def test_shape_errors():
    with pytest.raises(ValueError, match="primary_labels"):
        secondary_targets([[1, 0]], [0, 1], [1], [1])
    with pytest.raises(ValueError, match="column"):
        secondary_targets([[1, 0]], [2], [1], [1])


def test_secondary_view_from_ratings():
    # Classes: neutral, happy, sad, angry. "amused" (secondary-only) and "frustration"
    # (a category outside the class list) are dropped before counting.
    ratings = [
        # u1: consensus angry. Kept secondary choices: r1 sad+neutral, r2 sad, r3 none,
        # r4 none -> S = 3, J = 4, k = round(0.75) = 1 -> sad; the primary angry
        # replaces it.
        rating("u1", "r1", "angry", ["sad", "neutral"]),
        rating("u1", "r2", "angry", ["sad"]),
        rating("u1", "r3", "angry", ["amused"]),
        rating("u1", "r4", "sad", ["frustration"]),
        # u2: consensus happy. sad 2, neutral 2, angry 1 -> S = 5, J = 3, k = 2.
        # sad and neutral tie (no primary votes either) -> class order: neutral, sad;
        # the primary happy replaces sad, the 2nd.
        rating("u2", "r1", "happy", ["sad", "neutral"]),
        rating("u2", "r2", "happy", ["neutral", "sad"]),
        rating("u2", "r3", "angry", ["angry"]),
        # u3: sad/neutral tie with tie_policy drop -> no consensus -> masked.
        rating("u3", "r1", "sad", ["neutral"]),
        rating("u3", "r2", "neutral", []),
        # u4: one rater, empty secondary list -> k = 0 -> the primary only.
        rating("u4", "r1", "neutral", []),
        # u5: S = 5, J = 2 -> k = round(2.5) = 3 (half up; banker's rounding gives 2):
        # neutral 2, sad 2, angry 1 -> the primary happy replaces angry.
        rating("u5", "r1", "happy", ["neutral", "sad", "angry"]),
        rating("u5", "r2", "happy", ["neutral", "sad"]),
    ]
    table = make_table(ratings, secondary_categories=["amused"])
    spec = {"classes": ["neutral", "happy", "sad", "angry"],
            "views": [{"name": "sec", "kind": "secondary"},
                      {"name": "sec_n", "kind": "secondary", "params": {"normalize": True}}]}
    labels = derive(table, spec)
    view = labels["sec"]
    np.testing.assert_array_equal(view.metadata["k"], [1, 2, 1, 0, 3])  # u3: round(0.5) = 1
    np.testing.assert_array_equal(view.metadata["primary"], [3, 1, -1, 0, 1])
    np.testing.assert_array_equal(view.values, [
        [0, 0, 0, 1],
        [1, 1, 0, 0],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [1, 1, 1, 0],
    ])
    assert view.mask.tolist() == [True, True, False, True, True]
    assert view.status.tolist() == ["ok", "ok", "tie", "ok", "ok"]
    np.testing.assert_allclose(labels["sec_n"].values[4], [1 / 3, 1 / 3, 1 / 3, 0], rtol=1e-6)
    np.testing.assert_array_equal(labels["sec_n"].metadata["multi_hot"], view.values)


def test_secondary_consensus_can_require_a_majority():
    ratings = [rating("u1", "r1", "sad", ["angry"]), rating("u1", "r2", "sad", []),
               rating("u1", "r3", "angry", []), rating("u1", "r4", "neutral", [])]
    spec = {"classes": ["neutral", "sad", "angry"],
            "views": [{"name": "sec", "kind": "secondary", "params": {"method": "majority"}}]}
    view = derive(make_table(ratings), spec)["sec"]
    # sad has 2 of 4 votes: not more than half -> no consensus -> masked.
    assert view.status.tolist() == ["no_majority"]
    assert not view.mask[0]
