"""Lin's CCC: hand-computed values, perfect / negated cases, weights and masks."""

import numpy as np
import pytest
from scipy import stats

from tfser.metrics import regression


def test_ccc_hand_computed():
    x = [1.0, 2.0, 3.0, 4.0]
    y = [2.0, 2.0, 3.0, 5.0]
    # means 2.5 / 3, variances 1.25 / 1.5, covariance 1.25 -> 2.5 / (1.25 + 1.5 + 0.25).
    assert regression.ccc(x, y) == pytest.approx(2.5 / 3.0)


def test_ccc_perfect_negated_and_shifted():
    x = np.array([-1.5, -0.5, 0.5, 1.5])
    assert regression.ccc(x, x) == pytest.approx(1.0)
    assert regression.ccc(x, -x) == pytest.approx(-1.0)
    # A constant offset keeps Pearson at 1 but lowers CCC: 2*1.25 / (2.5 + 1).
    assert regression.ccc(x, x + 1.0) == pytest.approx(2.5 / 3.5)
    assert stats.pearsonr(x, x + 1.0)[0] == pytest.approx(1.0)
    assert np.isnan(regression.ccc([2.0, 2.0], [2.0, 2.0]))


def test_ccc_mask_and_weights():
    x = [1.0, 2.0, 3.0, 4.0, 100.0, np.nan]
    y = [2.0, 2.0, 3.0, 5.0, -50.0, 7.0]
    mask = [True, True, True, True, False, False]
    assert regression.ccc(x, y, mask=mask) == pytest.approx(2.5 / 3.0)
    # Integer weights equal repeating samples.
    weights = [2.0, 1.0, 1.0, 3.0]
    repeated_x = [1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0]
    repeated_y = [2.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0]
    assert regression.ccc(x[:4], y[:4], weights=weights) == pytest.approx(
        regression.ccc(repeated_x, repeated_y))
    with pytest.raises(ValueError, match="sample 5 has a non-finite value"):
        regression.ccc(x, y, mask=[True, True, True, True, False, True])
    with pytest.raises(ValueError, match="no sample left"):
        regression.ccc(x[:2], y[:2], mask=[False, False])


def test_ccc_per_column_and_report():
    x = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
    y = np.array([[2.0, 1.0], [2.0, 0.0], [3.0, 1.0], [5.0, 0.0]])
    values = regression.ccc(x, y)
    np.testing.assert_allclose(values, [2.5 / 3.0, -1.0])
    report = regression.regression_report([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 3.0, 5.0])
    assert report["ccc"] == pytest.approx(2.5 / 3.0)
    assert report["mae"] == pytest.approx(0.5)
    assert report["rmse"] == pytest.approx(np.sqrt(0.5))
    assert report["pearson"] == pytest.approx(stats.pearsonr([1, 2, 3, 4], [2, 2, 3, 5])[0])
