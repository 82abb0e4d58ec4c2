"""Dimensional targets: per-attribute consensus of the raters, on a common range.

Each attribute (arousal, valence, ...) is reduced over the selected raters by mean or
median, ignoring raters who left it empty (NaN), then mapped linearly from the
corpus's scale ``meta.dimensions[attr] = [lo, hi]`` onto ``target_range`` (default
``[-1, 1]``) so that corpora rated 1-5 and 1-7 share one output range. The mask is
False where no selected rater rated the attribute; those values are 0.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import pandas as pd

REDUCERS = ("mean", "median")


def check_range(value, name: str) -> Tuple[float, float]:
    """Validates a ``[lo, hi]`` pair of finite numbers with ``lo < hi``."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair [lo, hi] of numbers, got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"{name} must be finite with lo < hi, got [{low}, {high}]")
    return low, high


def rescale(values, source_range, target_range=(-1.0, 1.0)) -> np.ndarray:
    """Maps ``values`` linearly from ``source_range`` onto ``target_range`` (NaN stays)."""
    src_lo, src_hi = check_range(source_range, "source_range")
    dst_lo, dst_hi = check_range(target_range, "target_range")
    values = np.asarray(values, dtype=np.float64)
    return dst_lo + (values - src_lo) * (dst_hi - dst_lo) / (src_hi - src_lo)


def reduce_ratings(values, row_utt, num_utterances: int, reducer: str = "mean") -> np.ndarray:
    """Reduces per-rating values to one value per utterance, ignoring NaN.

    Args:
      values: [M, A] per-rating values (NaN = not rated).
      row_utt: [M] utterance row of each rating.
      num_utterances: N.
      reducer: ``"mean"`` or ``"median"``.

    Returns:
      float64 [N, A], NaN where an utterance has no value for an attribute.
    """
    if reducer not in REDUCERS:
        raise ValueError(f"reducer '{reducer}' is not one of {REDUCERS}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be [ratings, attributes], got shape {values.shape}")
    row_utt = np.asarray(row_utt, dtype=np.int64)
    if row_utt.shape != (values.shape[0],):
        raise ValueError(f"row_utt must have shape ({values.shape[0]},), got {row_utt.shape}")
    frame = pd.DataFrame(values)
    reduced = frame.groupby(row_utt).agg(reducer)  # pandas skips NaN in mean / median
    reduced = reduced.reindex(range(num_utterances))
    return reduced.to_numpy(dtype=np.float64).reshape(num_utterances, values.shape[1])


def dimensional_targets(values, row_utt, num_utterances: int, scales: Sequence,
                        reducer: str = "mean",
                        target_range=(-1.0, 1.0)) -> Tuple[np.ndarray, np.ndarray]:
    """Per-utterance consensus of each attribute, rescaled.

    Args:
      values: [M, A] per-rating values on the corpus scale (NaN = not rated).
      row_utt: [M] utterance row of each rating.
      num_utterances: N.
      scales: A ``[lo, hi]`` corpus scale per attribute.
      reducer: ``"mean"`` or ``"median"``.
      target_range: Output ``[lo, hi]``.

    Returns:
      ``(values, mask)``: float32 [N, A] (0 where masked) and bool [N, A].
    """
    values = np.asarray(values, dtype=np.float64)
    if len(scales) != values.shape[1]:
        raise ValueError(f"{len(scales)} scales for {values.shape[1]} attributes")
    reduced = reduce_ratings(values, row_utt, num_utterances, reducer)
    out = np.zeros(reduced.shape, dtype=np.float64)
    for j, scale in enumerate(scales):
        out[:, j] = rescale(reduced[:, j], scale, target_range)
    mask = np.isfinite(reduced)
    return np.where(mask, out, 0.0).astype(np.float32), mask
