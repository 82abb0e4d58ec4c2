"""Categorical metrics: WA, UA, precision, the papers' F1, cross-entropy, confusion.

Conventions shared by every function here:

* Labels are class indices ``0..K-1`` or class names (then ``classes`` is required
  to map them); predictions use the same form as targets.
* **Classes absent from the targets.** Recall is undefined for a class that never
  occurs in ``y_true``. By default (``average_over="present"``) such a class is left
  out of every class average (UA / mean recall, mean precision, macro F1); wrong
  predictions *of* it still count, as errors in WA and as misses in the recall of
  the true classes. ``average_over="all"`` averages over all K classes instead and
  scores undefined values as 0 (scikit-learn's ``zero_division=0``), which is what a
  comparison with tools that always average over the full class list needs.
* A class present in the targets but never predicted has precision 0.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np
from sklearn import metrics as sk_metrics

AVERAGE_OVER = ("present", "all")


def _num_classes(classes: Optional[Sequence[str]], num_classes: Optional[int]) -> Optional[int]:
    if classes is not None:
        classes = list(classes)
        if len(set(classes)) != len(classes) or not classes:
            raise ValueError(f"classes must be a non-empty list of distinct names, got {classes}")
        if num_classes is not None and num_classes != len(classes):
            raise ValueError(f"num_classes={num_classes} disagrees with {len(classes)} classes")
        return len(classes)
    return num_classes


def encode_labels(labels, classes: Optional[Sequence[str]] = None,
                  num_classes: Optional[int] = None, name: str = "labels") -> np.ndarray:
    """Converts class names or indices to an int64 index array, validating each entry.

    Args:
      labels: [N] class indices or class names.
      classes: Class names in index order (required for names).
      num_classes: Number of classes when ``classes`` is not given (indices are then
        checked against it).
      name: How errors refer to the array.

    Returns:
      [N] int64 class indices.

    Raises:
      ValueError: On a non 1-D input, an unknown name or an index out of range.
    """
    values = np.asarray(labels, dtype=object if not isinstance(labels, np.ndarray) else None)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    k = _num_classes(classes, num_classes)
    if classes is not None and values.size and isinstance(values.flat[0], str):
        position = {c: i for i, c in enumerate(classes)}
        unknown = sorted({str(v) for v in values if v not in position})
        if unknown:
            raise ValueError(f"{name} contain names outside the classes {list(classes)}: "
                             f"{unknown}")
        return np.array([position[v] for v in values], dtype=np.int64)
    try:
        as_float = values.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be class indices or class names (pass classes=...)"
                         ) from err
    bad = np.flatnonzero(~np.isfinite(as_float) | (as_float != np.round(as_float))
                         | (as_float < 0) | ((as_float >= k) if k is not None else False))
    if len(bad):
        value = values[bad[0]]
        value = value.item() if isinstance(value, np.generic) else value  # 3, not np.int64(3)
        raise ValueError(f"{name}[{int(bad[0])}]={value!r} is not a class index in "
                         f"[0, {k if k is not None else 'K'})")
    return as_float.astype(np.int64)


def _pair(y_true, y_pred, classes, num_classes=None):
    """Encoded (y_true, y_pred, K) with equal non-zero lengths."""
    k = _num_classes(classes, num_classes)
    t = encode_labels(y_true, classes, k, "y_true")
    p = encode_labels(y_pred, classes, k, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} entries but y_pred has {len(p)}")
    if len(t) == 0:
        raise ValueError("no samples to evaluate")
    if k is None:
        k = int(max(t.max(), p.max())) + 1
    return t, p, k


def _averaged_labels(t: np.ndarray, k: int, average_over: str) -> np.ndarray:
    if average_over not in AVERAGE_OVER:
        raise ValueError(f"average_over '{average_over}' is not one of {AVERAGE_OVER}")
    if average_over == "all":
        return np.arange(k)
    return np.unique(t)


def weighted_accuracy(y_true, y_pred, classes: Optional[Sequence[str]] = None) -> float:
    """WA: the share of correctly classified samples (plain accuracy)."""
    t, p, _ = _pair(y_true, y_pred, classes)
    return float(sk_metrics.accuracy_score(t, p))


def per_class_recall(y_true, y_pred, classes: Optional[Sequence[str]] = None,
                     num_classes: Optional[int] = None) -> np.ndarray:
    """[K] recall of each class; NaN for a class absent from ``y_true``."""
    t, p, k = _pair(y_true, y_pred, classes, num_classes)
    support = np.bincount(t, minlength=k)
    hits = np.bincount(t[t == p], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, hits / np.maximum(support, 1), np.nan)


def per_class_precision(y_true, y_pred, classes: Optional[Sequence[str]] = None,
                        num_classes: Optional[int] = None) -> np.ndarray:
    """[K] precision of each class; NaN for a class never predicted."""
    t, p, k = _pair(y_true, y_pred, classes, num_classes)
    predicted = np.bincount(p, minlength=k)
    hits = np.bincount(t[t == p], minlength=k)
    return np.where(predicted > 0, hits / np.maximum(predicted, 1), np.nan)


def mean_recall(y_true, y_pred, classes: Optional[Sequence[str]] = None,
                num_classes: Optional[int] = None, average_over: str = "present") -> float:
    """Mean per-class recall (see the module docstring for absent classes)."""
    t, p, k = _pair(y_true, y_pred, classes, num_classes)
    labels = _averaged_labels(t, k, average_over)
    return float(sk_metrics.recall_score(t, p, labels=labels, average="macro",
                                         zero_division=0))


def unweighted_accuracy(y_true, y_pred, classes: Optional[Sequence[str]] = None,
                        num_classes: Optional[int] = None,
                        average_over: str = "present") -> float:
    """UA (also UAR): the mean per-class recall, the papers' main categorical metric."""
    return mean_recall(y_true, y_pred, classes, num_classes, average_over)


def mean_precision(y_true, y_pred, classes: Optional[Sequence[str]] = None,
                   num_classes: Optional[int] = None, average_over: str = "present") -> float:
    """Mean per-class precision over the averaged classes (never-predicted ones score 0)."""
    t, p, k = _pair(y_true, y_pred, classes, num_classes)
    labels = _averaged_labels(t, k, average_over)
    return float(sk_metrics.precision_score(t, p, labels=labels, average="macro",
                                            zero_division=0))


def f1_of_means(y_true, y_pred, classes: Optional[Sequence[str]] = None,
                num_classes: Optional[int] = None, average_over: str = "present") -> float:
    """Paper 000's F1: the harmonic mean of mean precision and mean recall.

    ``F1 = 2 * P_mean * R_mean / (P_mean + R_mean)``, 0 when both means are 0. This is
    **not** scikit-learn's ``f1_score(average="macro")`` (see :func:`macro_f1`), which
    averages the per-class F1 values; by Jensen's inequality the two differ whenever
    precision and recall vary across classes, so always report which one is meant.
    """
    precision = mean_precision(y_true, y_pred, classes, num_classes, average_over)
    recall = mean_recall(y_true, y_pred, classes, num_classes, average_over)
    total = precision + recall
    return 0.0 if total == 0 else 2.0 * precision * recall / total


def macro_f1(y_true, y_pred, classes: Optional[Sequence[str]] = None,
             num_classes: Optional[int] = None, average_over: str = "present") -> float:
    """scikit-learn's macro F1: the mean of the per-class F1 scores."""
    t, p, k = _pair(y_true, y_pred, classes, num_classes)
    labels = _averaged_labels(t, k, average_over)
    return float(sk_metrics.f1_score(t, p, labels=labels, average="macro", zero_division=0))


def confusion_matrix(y_true, y_pred, classes: Optional[Sequence[str]] = None,
                     num_classes: Optional[int] = None, normalize: bool = False) -> np.ndarray:
    """[K, K] confusion matrix, rows = true class, columns = predicted class.

    Args:
      y_true: Targets.
      y_pred: Predictions.
      classes: Class names (fixes K and maps names).
      num_classes: K when ``classes`` is not given.
      normalize: When True, each row is divided by its total (rows then hold the
        per-class recall on the diagonal); rows of classes absent from the targets
        are NaN rather than zeros, so they are not mistaken for "never right".

    Returns:
      int64 counts, or float64 row-normalised values.
    """
    t, p, k = _pair(y_true, y_pred, classes, num_classes)
    counts = sk_metrics.confusion_matrix(t, p, labels=np.arange(k)).astype(np.int64)
    return normalize_rows(counts) if normalize else counts


def normalize_rows(counts, empty: float = np.nan) -> np.ndarray:
    """Each row of a confusion matrix divided by its total (the true class's shares).

    Args:
      counts: [K, K] counts, rows = true class.
      empty: The value of the cells of a row without examples (NaN by default, so an
        absent class is not mistaken for one that is never recognised).

    Returns:
      float64 [K, K] shares.
    """
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), empty)


def _check_probabilities(probs, name: str = "probs") -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"{name} must be [N, K], got shape {probs.shape}")
    bad = np.flatnonzero(~np.all(np.isfinite(probs) & (probs >= 0), axis=1))
    if len(bad):
        raise ValueError(f"{name} row {int(bad[0])} has negative or non-finite values: "
                         f"{probs[bad[0]].tolist()}")
    return probs


def cross_entropy(probs, targets, eps: float = 1e-7, atol: float = 1e-4) -> float:
    """Mean cross-entropy of predicted class probabilities against hard or soft targets.

    ``-mean_n sum_k t[n, k] * log(clip(p[n, k], eps, 1))``. Probabilities are clipped
    (not renormalised) so a confident wrong prediction costs ``-log(eps)`` instead
    of infinity.

    Args:
      probs: [N, K] predicted probabilities (rows should sum to 1).
      targets: [N] class indices (hard) or [N, K] target distributions (soft, e.g.
        the share of raters per class; rows must sum to 1 within ``atol``).
      eps: Lower clip of the probabilities, in (0, 1).
      atol: Tolerance on the row sums of soft targets.

    Returns:
      The mean cross-entropy in nats.

    Raises:
      ValueError: On shape mismatches, negative values or unnormalised soft targets.
    """
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1), got {eps}")
    probs = _check_probabilities(probs)
    n, k = probs.shape
    targets = np.asarray(targets)
    if targets.ndim == 1:
        index = encode_labels(targets, num_classes=k, name="targets")
        dist = np.zeros((len(index), k))
        dist[np.arange(len(index)), index] = 1.0
    else:
        dist = _check_probabilities(targets, "targets")
        sums = dist.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1.0) > atol)
        if len(off):
            raise ValueError(f"soft targets row {int(off[0])} sums to {sums[off[0]]:.6g}, not 1")
    if dist.shape != (n, k):
        raise ValueError(f"targets shape {dist.shape} does not match probs shape {probs.shape}")
    if n == 0:
        raise ValueError("no samples to evaluate")
    log_p = np.log(np.clip(probs, eps, 1.0))
    return float(-(dist * log_p).sum(axis=1).mean())


def multilabel_accuracy(y_true, scores, threshold: float = 0.5,
                        return_per_class: bool = False):
    """Per-class binary accuracy averaged over classes, for multi-label heads.

    A class counts as predicted when its score is strictly greater than
    ``threshold`` (Keras' ``binary_accuracy`` rule).

    Args:
      y_true: [N, K] 0/1 targets (e.g. "did any rater name class k").
      scores: [N, K] predicted probabilities or scores.
      threshold: Decision threshold.
      return_per_class: Also return the [K] per-class accuracies.

    Returns:
      The mean over classes of each class's binary accuracy, or
      ``(mean, per_class)`` when ``return_per_class``.

    Raises:
      ValueError: On shape mismatches or non-binary targets.
    """
    truth = np.asarray(y_true, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if truth.ndim != 2 or truth.shape != scores.shape or truth.shape[0] == 0:
        raise ValueError(f"y_true and scores must be non-empty [N, K] arrays of equal shape, "
                         f"got {truth.shape} and {scores.shape}")
    not_binary = np.argwhere((truth != 0) & (truth != 1))
    if len(not_binary):
        r, c = not_binary[0]
        raise ValueError(f"y_true[{r}, {c}]={truth[r, c]} is not 0 or 1")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain non-finite values")
    per_class = ((scores > threshold) == (truth == 1)).mean(axis=0)
    mean = float(per_class.mean())
    return (mean, per_class) if return_per_class else mean


def _nan_to_none(values) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def classification_report(y_true, y_pred, classes: Sequence[str], probs=None,
                          average_over: str = "present", eps: float = 1e-7) -> Dict[str, Any]:
    """Every categorical metric at once, as a JSON-ready dictionary.

    Args:
      y_true: [N] targets (indices or names).
      y_pred: [N] predictions (indices or names).
      classes: The K class names in index order.
      probs: Optional [N, K] predicted probabilities; adds ``cross_entropy``.
      average_over: ``"present"`` or ``"all"`` (see the module docstring).
      eps: Clip of :func:`cross_entropy`.

    Returns:
      A dict with ``num_samples``, ``classes``, ``absent_classes`` (not in the
      targets), ``wa``, ``ua``, ``mean_precision``, ``mean_recall``, ``f1`` (paper
      000's F1 of the means), ``macro_f1`` (scikit-learn's), ``per_class_recall``,
      ``per_class_precision``, ``support`` (class -> value; undefined values are
      None), ``confusion`` and ``confusion_normalized`` (nested lists, NaN rows as
      None) and optionally ``cross_entropy``.
    """
    classes = list(classes)
    t, p, k = _pair(y_true, y_pred, classes)
    args = (t, p, None, k, average_over)
    recall = per_class_recall(t, p, num_classes=k)
    precision = per_class_precision(t, p, num_classes=k)
    support = np.bincount(t, minlength=k)
    report = {
        "num_samples": int(len(t)),
        "classes": classes,
        "absent_classes": [c for c, s in zip(classes, support) if s == 0],
        "average_over": average_over,
        "wa": float(sk_metrics.accuracy_score(t, p)),
        "ua": unweighted_accuracy(*args),
        "mean_precision": mean_precision(*args),
        "mean_recall": mean_recall(*args),
        "f1": f1_of_means(*args),
        "macro_f1": macro_f1(*args),
        "per_class_recall": dict(zip(classes, _nan_to_none(recall))),
        "per_class_precision": dict(zip(classes, _nan_to_none(precision))),
        "support": {c: int(s) for c, s in zip(classes, support)},
        "confusion": confusion_matrix(t, p, num_classes=k).tolist(),
        "confusion_normalized": [_nan_to_none(row) for row in
                                 confusion_matrix(t, p, num_classes=k, normalize=True)],
    }
    if probs is not None:
        report["cross_entropy"] = cross_entropy(probs, t, eps=eps)
    return report
