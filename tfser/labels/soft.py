"""Soft labels: the (smoothed) distribution of votes over the classes.

``q_k = (a + sum_n h_k^n) / (a * K + sum_k' sum_n h_k'^n)`` where ``h_k^n = 1`` when
judgement ``n`` chose class ``k``. ``a = 0`` is the plain vote distribution; papers 001
and 002 use ``a = 0.75``. Utterances without a vote in the target classes have no
distribution (smoothing alone would invent a uniform one) and are masked out.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from tfser.labels import hard


def soft_distribution(counts, a: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Smoothed class distribution per row of a vote-count matrix.

    Args:
      counts: [N, K] non-negative vote counts (``sum_n h_k^n``).
      a: Additive smoothing per class, ``a >= 0``.

    Returns:
      ``(values, mask)``: float32 [N, K] rows summing to 1 (all zeros where masked) and
      a bool [N] mask, False for rows without any vote.

    Raises:
      ValueError: On a bad matrix or a negative / non-finite ``a``.
    """
    counts = hard.check_counts(counts).astype(np.float64)
    if isinstance(a, bool) or not np.isfinite(a) or a < 0:
        raise ValueError(f"smoothing a must be a finite number >= 0, got {a!r}")
    totals = counts.sum(axis=1)
    mask = totals > 0
    values = np.zeros(counts.shape, dtype=np.float64)
    denominator = a * counts.shape[1] + totals[mask]
    values[mask] = (a + counts[mask]) / denominator[:, None]
    return values.astype(np.float32), mask
