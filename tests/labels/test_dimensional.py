"""Dimensional consensus with NaN and rescaling."""

import numpy as np
import pytest

from tfser.labels import derive
from tfser.labels.dimensional import reduce_ratings, rescale

from tests.labels.builders import make_table, rating

DIMS = {"arousal": [1.0, 5.0], "valence": [1.0, 7.0]}


def _table():
    return make_table([
        rating("u1", "e1", "happy", arousal=5.0, valence=7.0),
        rating("u1", "e2", "happy", arousal=2.0),                   # valence not rated
        rating("u1", "e3", None, arousal=4.0, valence=1.0),
        rating("u2", "e1", "sad", valence=4.0),                      # arousal never rated
        rating("u2", "self", None, rater_type="self", arousal=1.0, valence=1.0),
        rating("u3", "e1", "sad"),                                   # no dimensions at all
    ], dimensions=DIMS)


def test_rescale():
    np.testing.assert_allclose(rescale([1, 3, 5, np.nan], [1, 5]), [-1, 0, 1, np.nan])
    np.testing.assert_allclose(rescale([1, 7], [1, 7], [0, 1]), [0, 1])
    with pytest.raises(ValueError, match="lo < hi"):
        rescale([1], [5, 1])


def test_reduce_ignores_nan():
    values = np.array([[1.0, np.nan], [3.0, 2.0], [8.0, np.nan]])
    out = reduce_ratings(values, [0, 0, 0], 2, "median")
    np.testing.assert_allclose(out, [[3.0, 2.0], [np.nan, np.nan]])
    with pytest.raises(ValueError, match="reducer"):
        reduce_ratings(values, [0, 0, 0], 1, "max")


def test_dimensional_view_mean_and_median():
    spec = {"views": [
        {"name": "dims", "kind": "dimensional"},
        {"name": "aro_med", "kind": "dimensional",
         "params": {"attributes": ["arousal"], "reducer": "median", "target_range": [0, 1]}},
        {"name": "with_self", "kind": "dimensional", "params": {"rater_types": None}},
    ]}
    labels = derive(_table(), spec)
    dims = labels["dims"]
    assert dims.metadata["attributes"] == ("arousal", "valence")
    # u1 arousal mean(5, 2, 4) = 11/3 on [1, 5] -> (11/3 - 1) / 4 * 2 - 1 = 1/3;
    # valence mean(7, 1) = 4 on [1, 7] -> 0.
    np.testing.assert_allclose(dims.values[0], [1 / 3, 0.0], atol=1e-6)
    np.testing.assert_array_equal(dims.mask, [[True, True], [False, True], [False, False]])
    np.testing.assert_allclose(dims.values[1], [0.0, 0.0])
    np.testing.assert_allclose(labels["aro_med"].values[:, 0], [0.75, 0, 0])   # median 4
    # Self ratings included on request: u2 arousal 1 -> -1, valence mean(4, 1) = 2.5 -> -0.5.
    np.testing.assert_allclose(labels["with_self"].values[1], [-1.0, -0.5])


def test_unknown_attribute_and_no_dimensions():
    with pytest.raises(ValueError, match=r"\['dominance'\] are not dimensions"):
        derive(_table(), {"views": [{"name": "d", "kind": "dimensional",
                                     "params": {"attributes": ["dominance"]}}]})
    table = make_table([rating("u1", "e1", "sad")])
    with pytest.raises(ValueError, match="no dimensional"):
        derive(table, {"views": [{"name": "d", "kind": "dimensional"}]})
