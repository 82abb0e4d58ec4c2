"""Existence labels (paper 001): which emotions are present at all, as a multi-hot vector.

Class ``k`` exists in an utterance when at least ``threshold`` judgements chose it
(default 1: any rater). With ``use_secondary_as_votes`` a secondary choice counts as
choosing, which is how several categories on one IEMOCAP rater line become evidence.

An utterance that was rated but where no rater chose any target class (e.g. every rater
said "frustrated" under a 4-class mapping) is a *negative* for every class, as in paper
001 (Sec. 3.1: such utterances "work as negative samples"). Only utterances without
any judgement at all are masked: nobody looked at them.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from tfser.labels import hard

# What an utterance without a vote in the target classes becomes.
NO_TARGET_POLICIES = ("negative", "mask")


def existence_labels(counts, threshold: int = 1, judgements: Optional[np.ndarray] = None,
                     no_target: str = "negative") -> Tuple[np.ndarray, np.ndarray]:
    """Multi-hot presence per row of a vote-count matrix.

    Args:
      counts: [N, K] non-negative counts of judgements choosing each class.
      threshold: Minimum number of judgements for a class to exist (integer >= 1).
      judgements: [N] number of judgements per utterance naming any category (kept or
        not). Rows with zero judgements are masked under either policy. ``None`` means
        every row was judged.
      no_target: ``"negative"`` (paper 001): a judged row without any vote in the
        classes is an all-zero target with mask True. ``"mask"``: such a row is masked
        (absence of evidence is not evidence of absence; the behaviour before the fix).

    Returns:
      ``(values, mask)``: float32 [N, K] of 0/1 and a bool [N] mask.

    Raises:
      ValueError: On a bad matrix, threshold, judgements or policy.
    """
    counts = hard.check_counts(counts)
    if isinstance(threshold, bool) or int(threshold) != threshold or threshold < 1:
        raise ValueError(f"threshold must be an integer >= 1, got {threshold!r}")
    if no_target not in NO_TARGET_POLICIES:
        raise ValueError(f"no_target must be one of {list(NO_TARGET_POLICIES)}, got "
                         f"{no_target!r}")
    if judgements is None:
        judged = np.ones(len(counts), dtype=bool)
    else:
        judgements = np.asarray(judgements)
        if judgements.shape != (len(counts),):
            raise ValueError(f"judgements must have shape ({len(counts)},), got "
                             f"{judgements.shape}")
        judged = judgements > 0
    voted = counts.sum(axis=1) > 0
    # A vote for a kept class implies a judgement, whatever the caller passed.
    mask = voted | judged if no_target == "negative" else voted
    values = (counts >= threshold) & mask[:, None]
    return values.astype(np.float32), mask
