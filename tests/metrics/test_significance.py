"""Significance tests: the two-proportion z-test (direction, value, edge cases), the
paired t-test over folds and the exact McNemar test."""

import math

import numpy as np
import pytest
from scipy import stats

from tfser.metrics import significance


def _hand_z(p_a, p_b, n):
    pooled = (p_a + p_b) / 2
    return (p_a - p_b) / math.sqrt(pooled * (1 - pooled) * 2 / n)


def test_value_matches_pooled_formula():
    result = significance.two_proportion_ztest(0.6, 0.5, 100)
    z = _hand_z(0.6, 0.5, 100)
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(stats.norm.sf(z))
    assert result.p_value == pytest.approx(0.0776, abs=1e-4)
    assert not result.significant
    larger = significance.two_proportion_ztest(0.6, 0.5, 400)
    assert larger.p_value == pytest.approx(stats.norm.sf(_hand_z(0.6, 0.5, 400)))
    assert larger.significant


def test_direction_is_one_tailed():
    better = significance.two_proportion_ztest(0.6, 0.5, 400)
    worse = significance.two_proportion_ztest(0.5, 0.6, 400)
    assert better.z > 0 > worse.z
    assert worse.p_value == pytest.approx(1 - better.p_value)
    assert not worse.significant


def test_edge_cases_and_errors():
    same = significance.two_proportion_ztest(1.0, 1.0, 50)
    assert math.isnan(same.z) and not same.significant
    unequal = significance.two_proportion_ztest(0.7, 0.6, 300, 200, alpha=0.01)
    assert unequal.n_b == 200 and unequal.alpha == 0.01
    with pytest.raises(ValueError, match="p_a must be a proportion"):
        significance.two_proportion_ztest(70, 0.5, 100)
    with pytest.raises(ValueError, match="n_b must be a positive integer"):
        significance.two_proportion_ztest(0.7, 0.5, 100, 0)


def test_paired_fold_test_one_tailed_and_checks():
    better = significance.paired_fold_test([0.7, 0.8, 0.75, 0.72], [0.6, 0.65, 0.7, 0.71])
    assert better.n == 4 and better.p_value < 0.05 and better.significant
    assert better.mean_difference == pytest.approx(0.0775)
    worse = significance.paired_fold_test([0.6, 0.65, 0.7, 0.71], [0.7, 0.8, 0.75, 0.72])
    assert worse.p_value > 0.95
    constant = significance.paired_fold_test([0.6, 0.7], [0.5, 0.6])
    assert constant.p_value == 0.0
    with pytest.raises(ValueError, match="at least 2 folds"):
        significance.paired_fold_test([0.5], [0.4])
    with pytest.raises(ValueError, match="same folds"):
        significance.paired_fold_test([0.5, 0.6], [0.4])


def test_mcnemar_exact_counts_only_discordant_items():
    # A alone right on 6 items, B alone on 1; 20 concordant items do not matter.
    a = [1] * 6 + [0] * 1 + [1] * 10 + [0] * 10
    b = [0] * 6 + [1] * 1 + [1] * 10 + [0] * 10
    result = significance.mcnemar_exact(a, b)
    # P(X >= 6 | X ~ Binomial(7, 0.5)) = (7 + 1) / 128.
    assert result.p_value == pytest.approx(8 / 128)
    assert result.statistic == 6 and result.n == 27
    assert np.isnan(significance.mcnemar_exact([1, 0], [1, 0]).p_value)
