"""Existence labels (paper 001): which emotions are present at all, as a multi-hot vector.

Class ``k`` exists in an utterance when at least ``threshold`` judgements chose it
(default 1: any rater). With ``use_secondary_as_votes`` a secondary choice counts as
choosing, which is how several categories on one IEMOCAP rater line become evidence.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from tfser.labels import hard


def existence_labels(counts, threshold: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """Multi-hot presence per row of a vote-count matrix.

    Args:
      counts: [N, K] non-negative counts of judgements choosing each class.
      threshold: Minimum number of judgements for a class to exist (integer >= 1).

    Returns:
      ``(values, mask)``: float32 [N, K] of 0/1 and a bool [N] mask, False for rows
      without any vote in the classes (absence of evidence is not evidence of absence).

    Raises:
      ValueError: On a bad matrix or threshold.
    """
    counts = hard.check_counts(counts)
    if isinstance(threshold, bool) or int(threshold) != threshold or threshold < 1:
        raise ValueError(f"threshold must be an integer >= 1, got {threshold!r}")
    mask = counts.sum(axis=1) > 0
    values = (counts >= threshold) & mask[:, None]
    return values.astype(np.float32), mask
