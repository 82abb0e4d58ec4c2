"""Secondary-emotion targets (paper 000, Lotfian & Busso) as a multi-hot vector.

The rule, with every choice this implementation makes spelled out:

1. Secondary choices outside the primary class list are dropped (after the class
   mapping); a judgement listing one class twice counts it once.
2. ``k = round(S / J)`` where ``S`` is the total number of kept secondary choices
   over the utterance's judgements and ``J`` is the number of selected judgements
   that name any category at all (a rater whose choices were all dropped still counts
   in ``J``; rows carrying only dimensional values do not). Halves round **up**
   (``round(1.5) = 2``, ``round(2.5) = 3``), computed exactly in integers as
   ``(2 * S + J) // (2 * J)`` - Python's ``round`` would round halves to even.
3. Classes are ranked by how many judgements listed them as secondary; equal
   frequencies are broken by the number of primary votes (more first), then by the
   class order of the class list. The top ``k`` are marked 1.
4. The primary consensus class is always marked: if it is not among the top ``k`` it
   replaces the ``k``-th (lowest ranked) one, so the vector keeps ``k`` ones; when
   ``k = 0`` the vector is the one-hot primary.
5. Utterances without a primary consensus are masked out.

The normalised vector (divided by its sum) is the KL-divergence target of 000.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfser.labels import hard


@dataclasses.dataclass(frozen=True)
class SecondaryTargets:
    """Secondary targets of N utterances over K classes.

    Attributes:
      multi_hot: float32 [N, K] of 0/1 (zeros where masked).
      normalized: float32 [N, K], ``multi_hot`` divided by its row sum.
      k: int64 [N] number of classes asked for by rule 2 (before the primary rule).
      mask: bool [N], True where a primary consensus exists.
    """

    multi_hot: np.ndarray
    normalized: np.ndarray
    k: np.ndarray
    mask: np.ndarray


def round_half_up_ratio(numerator, denominator) -> np.ndarray:
    """``round(numerator / denominator)`` with halves up, exact for integers; 0 where
    the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.int64)
    denominator = np.asarray(denominator, dtype=np.int64)
    if np.any(numerator < 0) or np.any(denominator < 0):
        raise ValueError("round_half_up_ratio expects non-negative integers")
    safe = np.maximum(denominator, 1)
    return np.where(denominator > 0, (2 * numerator + safe) // (2 * safe), 0)


def secondary_targets(secondary_counts, primary_labels, num_choices, num_judgements,
                      primary_counts=None) -> SecondaryTargets:
    """Applies the secondary rule (module docstring) to vote matrices.

    Args:
      secondary_counts: [N, K] number of judgements listing each class as secondary
        (already restricted to the class list).
      primary_labels: [N] primary consensus column, -1 where there is none.
      num_choices: [N] total kept secondary choices ``S`` per utterance.
      num_judgements: [N] judgements ``J`` per utterance.
      primary_counts: Optional [N, K] primary votes, the first tie-break.

    Returns:
      The :class:`SecondaryTargets`.

    Raises:
      ValueError: On inconsistent shapes or labels outside the class range.
    """
    secondary_counts = hard.check_counts(secondary_counts).astype(np.int64)
    num_rows, num_classes = secondary_counts.shape
    primary_labels = np.asarray(primary_labels, dtype=np.int64)
    num_choices = np.asarray(num_choices, dtype=np.int64)
    num_judgements = np.asarray(num_judgements, dtype=np.int64)
    for name, array in (("primary_labels", primary_labels), ("num_choices", num_choices),
                        ("num_judgements", num_judgements)):
        if array.shape != (num_rows,):
            raise ValueError(f"{name} must have shape ({num_rows},), got {array.shape}")
    if np.any((primary_labels < -1) | (primary_labels >= num_classes)):
        raise ValueError(f"primary_labels must be -1 or a column in [0, {num_classes})")
    if primary_counts is None:
        primary_counts = np.zeros_like(secondary_counts)
    else:
        primary_counts = hard.check_counts(primary_counts)
        if primary_counts.shape != secondary_counts.shape:
            raise ValueError(f"primary_counts shape {primary_counts.shape} differs from "
                             f"secondary_counts shape {secondary_counts.shape}")

    mask = primary_labels >= 0
    k = np.minimum(round_half_up_ratio(num_choices, num_judgements), num_classes)
    columns = np.broadcast_to(np.arange(num_classes), secondary_counts.shape)
    # lexsort: the last key is the primary one, so this ranks by secondary count desc,
    # then primary count desc, then class order.
    order = np.lexsort((columns, -primary_counts, -secondary_counts), axis=1)
    rank = np.argsort(order, axis=1)
    selected = (rank < k[:, None]) & mask[:, None]

    rows = np.flatnonzero(mask)
    primary = primary_labels[rows]
    missing = ~selected[rows, primary]
    replace = rows[missing & (k[rows] > 0)]
    if len(replace):
        selected[replace, order[replace, k[replace] - 1]] = False
    selected[rows, primary] = True

    multi_hot = selected.astype(np.float32)
    sums = multi_hot.sum(axis=1, keepdims=True)
    normalized = np.divide(multi_hot, sums, out=np.zeros_like(multi_hot), where=sums > 0)
    return SecondaryTargets(multi_hot=multi_hot, normalized=normalized, k=k, mask=mask)
