"""Per-rater targets (paper 002): each chosen rater's own label, with a mask.

For raters ``r_1..r_R`` the view is an ``[N, R, K]`` array: row ``(i, j)`` is rater
``r_j``'s label of utterance ``i`` - one-hot when the rater chose one class, uniform
over the chosen classes when they chose several (``use_secondary_as_votes``), and the
average over judgements when the rater judged the utterance more than once (e.g. under
two CREMA-D conditions). The ``[N, R]`` mask is False where the rater gave no vote in
the classes; those rows are zeros.
"""

from __future__ import annotations

from typing import Mapping, Tuple

import numpy as np


def select_raters(ratings_per_rater: Mapping[str, int], min_ratings: int = 1) -> list:
    """Raters with at least ``min_ratings`` rated utterances, sorted by rater id.

    Args:
      ratings_per_rater: Rater id -> number of utterances the rater labelled.
      min_ratings: Minimum number of labelled utterances (integer >= 1).

    Returns:
      The rater ids; sorting by id keeps the column order stable across runs.

    Raises:
      ValueError: On a bad ``min_ratings``.
    """
    if isinstance(min_ratings, bool) or int(min_ratings) != min_ratings or min_ratings < 1:
        raise ValueError(f"min_ratings must be an integer >= 1, got {min_ratings!r}")
    return sorted(r for r, n in ratings_per_rater.items() if n >= min_ratings)


def per_rater_targets(counts) -> Tuple[np.ndarray, np.ndarray]:
    """Normalises per-rater class counts into per-rater label distributions.

    Args:
      counts: [N, R, K] non-negative counts (how often rater r chose class k for
        utterance i, summed over the rater's judgements of it).

    Returns:
      ``(values, mask)``: float32 [N, R, K] rows summing to 1 (zeros where masked) and
      bool [N, R] mask.

    Raises:
      ValueError: On a non 3-D, negative or non-finite array.
    """
    # float32 throughout: the array can be large and vote counts are small integers.
    counts = np.asarray(counts, dtype=np.float32)
    if counts.ndim != 3:
        raise ValueError(f"counts must be [utterances, raters, classes], got shape "
                         f"{counts.shape}")
    if not np.all(np.isfinite(counts) & (counts >= 0)):
        raise ValueError("counts must be finite and non-negative")
    totals = counts.sum(axis=2)
    mask = totals > 0
    values = np.divide(counts, totals[:, :, None], out=np.zeros_like(counts),
                       where=mask[:, :, None])
    return values, mask
