"""soft_distribution: the smoothed vote distribution, computed by hand."""

import numpy as np
import pytest

from tfser.labels.soft import soft_distribution

COUNTS = np.array([[2, 1, 0, 0], [0, 0, 0, 0], [0, 0, 3, 0]])


def test_plain_distribution():
    values, mask = soft_distribution(COUNTS, a=0.0)
    np.testing.assert_allclose(values[0], [2 / 3, 1 / 3, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(values[2], [0, 0, 1, 0])
    assert mask.tolist() == [True, False, True]
    np.testing.assert_array_equal(values[1], 0)
    assert values.dtype == np.float32


def test_smoothing_075():
    values, _ = soft_distribution(COUNTS, a=0.75)
    # (0.75 + n_k) / (0.75 * 4 + 3) = (0.75 + n_k) / 6
    np.testing.assert_allclose(values[0], [2.75 / 6, 1.75 / 6, 0.75 / 6, 0.75 / 6], rtol=1e-6)
    np.testing.assert_allclose(values[2], [0.125, 0.125, 0.625, 0.125], rtol=1e-6)
    np.testing.assert_allclose(values[[0, 2]].sum(axis=1), 1.0, rtol=1e-6)


def test_rows_without_votes_stay_masked_even_with_smoothing():
    values, mask = soft_distribution([[0, 0, 0]], a=0.75)
    assert not mask[0]
    np.testing.assert_array_equal(values, 0)


@pytest.mark.parametrize("a", [-0.1, float("nan"), float("inf"), True])
def test_bad_smoothing(a):
    with pytest.raises(ValueError, match="smoothing"):
        soft_distribution(COUNTS, a=a)
