"""Significance of "system A beats system B" on proportions (paper 000).

Paper 000 compares accuracies (or any per-sample success proportion) of two systems
with a one-tailed two-proportion z-test at alpha = 0.05. The test itself is
statsmodels' ``proportions_ztest`` (pooled variance, ``alternative="larger"``); this
module only validates inputs and packages the answer. Two paired tests complement it
when both systems were scored on the same items: a paired t-test over folds, and the
exact McNemar test over utterances.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Optional

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest


@dataclasses.dataclass(frozen=True)
class ZTestResult:
    """Outcome of :func:`two_proportion_ztest`.

    Attributes:
      z: The z statistic (positive when A's proportion is larger); NaN when both
        systems are always right or always wrong (no variance to test against).
      p_value: One-tailed p-value of H1: p_a > p_b (NaN with ``z``).
      significant: ``p_value < alpha``.
      alpha: The significance level used.
      p_a: Proportion of system A.
      p_b: Proportion of system B.
      n_a: Number of samples behind ``p_a``.
      n_b: Number of samples behind ``p_b``.
    """

    z: float
    p_value: float
    significant: bool
    alpha: float
    p_a: float
    p_b: float
    n_a: int
    n_b: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _check_n(n, name: str) -> int:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


def two_proportion_ztest(p_a: float, p_b: float, n_a: int, n_b: Optional[int] = None,
                         alpha: float = 0.05) -> ZTestResult:
    """One-tailed test that proportion ``p_a`` is larger than ``p_b``.

    Args:
      p_a: Success proportion of system A (e.g. its accuracy), in [0, 1].
      p_b: Success proportion of system B, in [0, 1].
      n_a: Number of samples A was scored on.
      n_b: Number of samples B was scored on (defaults to ``n_a``).
      alpha: Significance level.

    Returns:
      A :class:`ZTestResult`. Proportions are converted to success counts
      ``p * n`` (fractional counts are accepted, as statsmodels does).

    Raises:
      ValueError: On proportions outside [0, 1], non-positive sample sizes or an
        ``alpha`` outside (0, 1).
    """
    n_a = _check_n(n_a, "n_a")
    n_b = _check_n(n_a if n_b is None else n_b, "n_b")
    for name, value in (("p_a", p_a), ("p_b", p_b)):
        if not (isinstance(value, (int, float, np.floating, np.integer))
                and 0.0 <= float(value) <= 1.0):
            raise ValueError(f"{name} must be a proportion in [0, 1], got {value!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    p_a, p_b = float(p_a), float(p_b)
    pooled = (p_a * n_a + p_b * n_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        # Both systems always wrong or always right: equal proportions, zero variance.
        return ZTestResult(math.nan, math.nan, False, alpha, p_a, p_b, n_a, n_b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        z, p_value = proportions_ztest(count=np.array([p_a * n_a, p_b * n_b]),
                                       nobs=np.array([n_a, n_b]), alternative="larger")
    z, p_value = float(z), float(p_value)
    return ZTestResult(z, p_value, bool(p_value < alpha), alpha, p_a, p_b, n_a, n_b)


@dataclasses.dataclass(frozen=True)
class PairedTestResult:
    """Outcome of a paired one-tailed test that system A scores higher than B.

    Attributes:
      test: Which test ran (``"paired t-test over folds"`` or ``"exact McNemar"``).
      statistic: The t statistic, or the number of items only A got right (McNemar).
      p_value: One-tailed p-value of H1: A > B (NaN when it cannot be computed).
      significant: ``p_value < alpha``.
      alpha: The significance level used.
      n: Folds (t-test) or paired items (McNemar) behind the test.
      mean_difference: Mean of A − B over folds, or the difference of A's and B's
        accuracy over the paired items.
    """

    test: str
    statistic: float
    p_value: float
    significant: bool
    alpha: float
    n: int
    mean_difference: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def paired_fold_test(scores_a, scores_b, alpha: float = 0.05) -> PairedTestResult:
    """One-tailed paired t-test over folds that A's per-fold score is higher than B's.

    The folds pair the two systems (same test speakers), so the test looks at the
    per-fold differences; it needs at least two folds, and with fewer than about five
    its power is low (say so beside the result).

    Raises:
      ValueError: Different numbers of scores, fewer than two folds, or a NaN score.
    """
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores need the same folds, got {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError(f"a paired test over folds needs at least 2 folds, got {a.size}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("a fold score is NaN")
    diff = a - b
    if np.allclose(diff, diff[0]):
        # Constant differences: no variance; the t statistic is undefined.
        p_value = 0.0 if diff[0] > 0 else (1.0 if diff[0] < 0 else math.nan)
        statistic = math.copysign(math.inf, diff[0]) if diff[0] else math.nan
    else:
        result = stats.ttest_rel(a, b, alternative="greater")
        statistic, p_value = float(result.statistic), float(result.pvalue)
    return PairedTestResult("paired t-test over folds", statistic, p_value,
                            bool(p_value < alpha), alpha, int(a.size), float(diff.mean()))


def mcnemar_exact(correct_a, correct_b, alpha: float = 0.05) -> PairedTestResult:
    """Exact one-tailed McNemar test on the same items: is A right more often than B?

    Only the discordant items count (A right and B wrong, or the reverse); under H0
    each is equally likely to go either way, so the count of A-only successes is
    Binomial(discordant, 0.5).

    Raises:
      ValueError: Arrays of different lengths or empty.
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"McNemar needs the same non-empty items, got {a.shape} and {b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if only_a + only_b == 0:
        p_value = math.nan
    else:
        p_value = float(stats.binomtest(only_a, only_a + only_b, 0.5,
                                        alternative="greater").pvalue)
    return PairedTestResult("exact McNemar", float(only_a), p_value,
                            bool(p_value < alpha), alpha, int(a.size),
                            float(a.mean() - b.mean()))
