"""Hard labels: one class per utterance by majority or plurality, with explicit ties.

The core, :func:`resolve_hard`, works on a plain ``[N, K]`` vote-count matrix so the
same rule serves label derivation and leave-one-rater-out human performance.

Outcome of each row (the ``status`` array):

=================  ===========================================================
``ok``             one class won; ``label`` is its column
``tie_broken``     several classes tied and the tie policy chose one
``tie``            several classes tied and ``tie_policy="drop"``: no label
``no_majority``    ``method="majority"`` and no class has more than half the votes
``no_votes``       the row has no vote at all (e.g. every vote was excluded)
``too_few_votes``  fewer raters than ``min_votes``
``excluded``       (set by :func:`tfser.labels.derive.derive` with
                   ``excluded_votes="compete"``) an excluded category won
=================  ===========================================================

Rows without a label carry :data:`NO_LABEL` (-1).
"""

from __future__ import annotations

import hashlib
from typing import Optional, Sequence

import numpy as np

NO_LABEL = -1
STATUS_OK = "ok"
STATUS_TIE_BROKEN = "tie_broken"
STATUS_TIE = "tie"
STATUS_NO_MAJORITY = "no_majority"
STATUS_NO_VOTES = "no_votes"
STATUS_TOO_FEW_VOTES = "too_few_votes"
STATUS_EXCLUDED = "excluded"
STATUSES = (STATUS_OK, STATUS_TIE_BROKEN, STATUS_TIE, STATUS_NO_MAJORITY, STATUS_NO_VOTES,
            STATUS_TOO_FEW_VOTES, STATUS_EXCLUDED)
_STATUS_DTYPE = f"<U{max(len(s) for s in STATUSES)}"

METHODS = ("majority", "plurality")
TIE_POLICIES = ("drop", "random", "priority")


def tie_draw(seed: int, key: str, num_tied: int) -> int:
    """Deterministic pick in ``range(num_tied)`` from a seed and an utterance key.

    A keyed hash (not Python's salted ``hash``) makes the pick the same in every process
    and independent of row order: an utterance keeps its label when the table is
    shuffled, filtered or split.
    """
    digest = hashlib.blake2b(f"{int(seed)}\x1f{key}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % num_tied


def check_counts(counts) -> np.ndarray:
    """Validates a 2-D non-negative finite count matrix and returns it as an array."""
    counts = np.asarray(counts)
    if counts.dtype == bool:
        counts = counts.astype(np.int64)
    if counts.ndim != 2:
        raise ValueError(f"counts must be a 2-D [utterances, classes] array, got shape "
                         f"{counts.shape}")
    if not np.issubdtype(counts.dtype, np.number) or \
            np.issubdtype(counts.dtype, np.complexfloating):
        raise ValueError(f"counts must be numeric, got dtype {counts.dtype}")
    bad = np.flatnonzero(~np.all(np.isfinite(counts) & (counts >= 0), axis=1))
    if len(bad):
        raise ValueError(f"counts row {int(bad[0])} has negative or non-finite values: "
                         f"{counts[bad[0]].tolist()}")
    return counts


def _priority_rank(priority: Optional[Sequence[int]], num_classes: int) -> np.ndarray:
    """Rank of each column for the priority policy (lower wins)."""
    if priority is None:
        return np.arange(num_classes)
    order = [int(p) for p in priority]
    bad = [p for p in order if not 0 <= p < num_classes]
    if bad:
        raise ValueError(f"priority columns {bad} are outside [0, {num_classes})")
    if len(set(order)) != len(order):
        raise ValueError(f"priority lists a column twice: {order}")
    # Unlisted columns rank after the listed ones, in column order.
    rank = np.full(num_classes, len(order), dtype=np.int64) + np.arange(num_classes)
    rank[order] = np.arange(len(order))
    return rank


def resolve_hard(counts, method: str = "plurality", tie_policy: str = "drop", seed: int = 0,
                 priority: Optional[Sequence[int]] = None, keys: Optional[Sequence[str]] = None,
                 *, min_votes: Optional[int] = None, n_raters=None):
    """Resolves one hard label per row of a vote-count matrix.

    Args:
      counts: [N, K] non-negative vote counts (``counts[i, k]`` raters chose class k).
      method: ``"plurality"`` (the most-voted classes win) or ``"majority"`` (a class
        must have more than half of the raters: ``2 * count > n_raters``).
      tie_policy: ``"drop"`` (no label, status ``tie``), ``"random"`` (a seeded pick
        per utterance, see :func:`tie_draw`) or ``"priority"`` (the tied class that
        comes first in ``priority``).
      seed: Seed of the random tie policy.
      priority: Column indices in order of preference; unlisted columns follow in
        column order; ``None`` means column order.
      keys: Optional [N] utterance ids; the random policy draws from
        ``(seed, keys[i])`` so a row's label does not depend on its position. Without
        keys the row number is used as the key.
      min_votes: Rows with fewer raters than this get no label (``too_few_votes``).
      n_raters: Optional [N] number of raters per row. Defaults to the row sum of
        ``counts``, which is right when every rater gives exactly one counted vote;
        pass it when raters may choose several classes.

    Returns:
      ``(labels, status)``: an int64 [N] array of columns (-1 for no label) and a
      string [N] array of outcomes (see the module docstring).

    Raises:
      ValueError: On a bad matrix, method, tie policy, priority, keys or n_raters.
    """
    counts = check_counts(counts)
    if method not in METHODS:
        raise ValueError(f"method '{method}' is not one of {METHODS}")
    if tie_policy not in TIE_POLICIES:
        raise ValueError(f"tie_policy '{tie_policy}' is not one of {TIE_POLICIES}")
    if min_votes is not None and (isinstance(min_votes, bool) or int(min_votes) != min_votes
                                  or min_votes < 1):
        raise ValueError(f"min_votes must be a positive integer or None, got {min_votes!r}")
    num_rows, num_classes = counts.shape
    if keys is not None and len(keys) != num_rows:
        raise ValueError(f"keys has {len(keys)} entries for {num_rows} count rows")
    totals = counts.sum(axis=1)
    if n_raters is None:
        raters = totals
    else:
        raters = np.asarray(n_raters)
        if raters.shape != (num_rows,):
            raise ValueError(f"n_raters must have shape ({num_rows},), got {raters.shape}")
    rank = _priority_rank(priority, num_classes)

    labels = np.full(num_rows, NO_LABEL, dtype=np.int64)
    status = np.full(num_rows, STATUS_OK, dtype=_STATUS_DTYPE)
    if num_classes == 0:
        status[:] = STATUS_NO_VOTES
        return labels, status

    if method == "plurality":
        best = counts.max(axis=1)
        candidates = counts == best[:, None]
    else:
        above_half = 2 * counts > raters[:, None]
        best = np.where(above_half, counts, -1).max(axis=1)
        candidates = above_half & (counts == best[:, None])
    num_candidates = candidates.sum(axis=1)

    no_votes = totals == 0
    too_few = ~no_votes & (raters < min_votes) if min_votes is not None \
        else np.zeros(num_rows, dtype=bool)
    open_rows = ~no_votes & ~too_few
    status[no_votes] = STATUS_NO_VOTES
    status[too_few] = STATUS_TOO_FEW_VOTES
    status[open_rows & (num_candidates == 0)] = STATUS_NO_MAJORITY

    single = open_rows & (num_candidates == 1)
    labels[single] = np.argmax(candidates[single], axis=1)

    tied = np.flatnonzero(open_rows & (num_candidates > 1))
    if tie_policy == "drop":
        status[tied] = STATUS_TIE
    elif tie_policy == "priority":
        ranked = np.where(candidates[tied], rank[None, :], np.iinfo(np.int64).max)
        labels[tied] = np.argmin(ranked, axis=1)
        status[tied] = STATUS_TIE_BROKEN
    else:
        for row in tied:
            options = np.flatnonzero(candidates[row])
            key = str(keys[row]) if keys is not None else str(row)
            labels[row] = options[tie_draw(seed, key, len(options))]
        status[tied] = STATUS_TIE_BROKEN
    return labels, status
