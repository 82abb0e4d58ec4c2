"""Dimensional metrics: Lin's concordance correlation coefficient and companions."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
from scipy import stats
from sklearn import metrics as sk_metrics


def _weights(shape, weights, mask) -> np.ndarray:
    """Combined non-negative sample weights (mask entries count 0 or 1)."""
    w = np.ones(shape[0], dtype=np.float64)
    if weights is not None:
        given = np.asarray(weights, dtype=np.float64)
        if given.shape != (shape[0],):
            raise ValueError(f"weights must have shape ({shape[0]},), got {given.shape}")
        bad = np.flatnonzero(~np.isfinite(given) | (given < 0))
        if len(bad):
            raise ValueError(f"weights[{int(bad[0])}]={given[bad[0]]} is negative or not finite")
        w = w * given
    if mask is not None:
        keep = np.asarray(mask)
        if keep.shape != (shape[0],):
            raise ValueError(f"mask must have shape ({shape[0]},), got {keep.shape}")
        if keep.dtype != bool:
            if not np.all(np.isin(keep, (0, 1))):
                raise ValueError("mask must be boolean or 0/1")
            keep = keep.astype(bool)
        w = w * keep
    return w


def _aligned(y_true, y_pred):
    truth = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if truth.shape != pred.shape or truth.ndim not in (1, 2):
        raise ValueError(f"y_true and y_pred must be [N] or [N, D] arrays of equal shape, got "
                         f"{truth.shape} and {pred.shape}")
    return truth, pred


def ccc(y_true, y_pred, weights=None, mask=None):
    """Lin's concordance correlation coefficient.

    ``CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2)`` with population
    (1/N) moments, as in Lin (1989) and the AVEC challenges. With weights the moments
    are weighted means; a mask is a 0/1 weight (padding frames of a trace, missing
    ratings). Entries with zero weight may hold NaN.

    Args:
      y_true: [N] or [N, D] reference values.
      y_pred: Predictions of the same shape.
      weights: Optional [N] non-negative sample weights.
      mask: Optional [N] boolean (or 0/1) mask; False entries are ignored.

    Returns:
      A float for 1-D input, a [D] array (one CCC per column) for 2-D input. NaN when
      the denominator is 0 (both series constant and equal: agreement is undefined).

    Raises:
      ValueError: On shape mismatches, bad weights, no weight left, or NaN in a
        weighted entry.
    """
    truth, pred = _aligned(y_true, y_pred)
    w = _weights(truth.shape, weights, mask)
    if w.sum() <= 0:
        raise ValueError("no sample left after weights/mask: CCC is undefined")
    used = w > 0
    finite = np.isfinite(truth) & np.isfinite(pred)
    bad = np.flatnonzero(used & ~(finite if finite.ndim == 1 else finite.all(axis=1)))
    if len(bad):
        raise ValueError(f"sample {int(bad[0])} has a non-finite value but non-zero weight "
                         "(mask it out)")
    truth, pred, w = truth[used], pred[used], w[used] / w[used].sum()
    if truth.ndim == 1:
        truth, pred = truth[:, None], pred[:, None]
        squeeze = True
    else:
        squeeze = False
    w = w[:, None]
    mean_t = (w * truth).sum(axis=0)
    mean_p = (w * pred).sum(axis=0)
    var_t = (w * (truth - mean_t) ** 2).sum(axis=0)
    var_p = (w * (pred - mean_p) ** 2).sum(axis=0)
    cov = (w * (truth - mean_t) * (pred - mean_p)).sum(axis=0)
    denom = var_t + var_p + (mean_t - mean_p) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(denom > 0, 2.0 * cov / np.where(denom > 0, denom, 1.0), np.nan)
    return float(value[0]) if squeeze else value


def regression_report(y_true, y_pred, mask=None) -> Dict[str, Optional[float]]:
    """CCC, Pearson's r, MAE and RMSE of a 1-D prediction (masked entries dropped).

    Returns:
      ``{"ccc", "pearson", "mae", "rmse", "num_samples"}``; a correlation that is
      undefined (constant series) is None.
    """
    truth, pred = _aligned(y_true, y_pred)
    if truth.ndim != 1:
        raise ValueError(f"regression_report takes 1-D arrays, got shape {truth.shape}")
    keep = _weights(truth.shape, None, mask) > 0
    value = ccc(truth, pred, mask=keep)
    truth, pred = truth[keep], pred[keep]
    constant = np.ptp(truth) == 0 or np.ptp(pred) == 0
    pearson = None if constant or len(truth) < 2 else float(stats.pearsonr(truth, pred)[0])
    return {
        "num_samples": int(len(truth)),
        "ccc": None if np.isnan(value) else value,
        "pearson": pearson,
        "mae": float(sk_metrics.mean_absolute_error(truth, pred)),
        "rmse": float(np.sqrt(sk_metrics.mean_squared_error(truth, pred))),
    }
