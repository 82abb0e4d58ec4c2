"""Per-rater targets and masks (paper 002)."""

import numpy as np
import pytest

from tfser.labels import derive
from tfser.labels.per_rater import per_rater_targets, select_raters

from tests.labels.builders import make_table, rating

CLASSES = ["neutral", "happy", "sad", "angry"]


def _table():
    return make_table([
        rating("u1", "e1", "happy"), rating("u1", "e2", "sad", ["angry"]),
        rating("u2", "e1", "neutral"), rating("u2", "e3", "angry"),
        rating("u3", "e1", "frustration"),          # excluded category: no counted vote
        rating("u3", "e2", "sad"),
        rating("u3", "c1", "happy", rater_type="crowd", condition="voice"),
        rating("u3", "c1", "sad", rater_type="crowd", condition="face"),
    ])


def test_select_raters():
    assert select_raters({"b": 3, "a": 5, "c": 1}, min_ratings=2) == ["a", "b"]
    with pytest.raises(ValueError, match="min_ratings"):
        select_raters({"a": 1}, min_ratings=0)


def test_per_rater_targets_normalise_and_mask():
    values, mask = per_rater_targets(np.array([[[1, 0], [0, 0]], [[1, 1], [2, 0]]]))
    np.testing.assert_array_equal(mask, [[True, False], [True, True]])
    np.testing.assert_allclose(values, [[[1, 0], [0, 0]], [[.5, .5], [1, 0]]])
    with pytest.raises(ValueError, match="raters"):
        per_rater_targets(np.zeros((2, 2)))


def test_per_rater_view_one_hot_and_masks():
    spec = {"classes": CLASSES, "views": [
        {"name": "pr", "kind": "per_rater", "params": {"min_ratings": 2}}]}
    view = derive(_table(), spec)["pr"]
    # e1 counted on u1, u2 (u3 was excluded); e2 on u1, u3; e3 and c1 once each.
    assert view.metadata["raters"] == ("e1", "e2")
    assert view.values.shape == (3, 2, 4)
    np.testing.assert_array_equal(view.mask, [[True, True], [True, False], [False, True]])
    np.testing.assert_array_equal(view.values[0], [[0, 1, 0, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(view.values[1, 1], 0)
    np.testing.assert_array_equal(view.metadata["ratings_per_rater"], [2, 2])


def test_per_rater_soft_over_several_choices_and_conditions():
    spec = {"classes": CLASSES, "use_secondary_as_votes": True, "views": [
        {"name": "pr", "kind": "per_rater", "params": {"raters": ["e2", "c1"]}}]}
    view = derive(_table(), spec)["pr"]
    assert view.metadata["raters"] == ("e2", "c1")
    np.testing.assert_allclose(view.values[0, 0], [0, 0, .5, .5])   # sad + secondary angry
    # c1 judged u3 twice (voice: happy, face: sad) -> averaged.
    np.testing.assert_allclose(view.values[2, 1], [0, .5, .5, 0])


def test_unknown_explicit_rater_raises():
    spec = {"classes": CLASSES, "views": [
        {"name": "pr", "kind": "per_rater", "params": {"raters": ["e1", "zz"]}}]}
    with pytest.raises(ValueError, match=r"raters \['zz'\]"):
        derive(_table(), spec)
