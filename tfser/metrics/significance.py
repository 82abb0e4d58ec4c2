"""Significance of "system A beats system B" on proportions (paper 000).

Paper 000 compares accuracies (or any per-sample success proportion) of two systems
with a one-tailed two-proportion z-test at alpha = 0.05. The test itself is
statsmodels' ``proportions_ztest`` (pooled variance, ``alternative="larger"``); this
module only validates inputs and packages the answer.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Optional

import numpy as np
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
