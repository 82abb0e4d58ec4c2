"""Images the training summaries draw: confusion matrices and attention over time.

Pure functions over numpy arrays, drawn on a :class:`matplotlib.figure.Figure` with the
Agg canvas (no GUI backend, no pyplot global state); :mod:`tfser.training.image_summaries`
logs them to TensorBoard. The confusion matrix is counted by
:mod:`tfser.metrics.classification` and drawn by :mod:`tfser.metrics.plots`, the same
functions the reports of :mod:`tfser.evaluation` use.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from matplotlib.figure import Figure

from tfser.metrics.classification import confusion_matrix, normalize_rows
# The confusion figure is shared with evaluation; re-exported for the summaries.
from tfser.metrics.plots import (  # noqa: F401
    CONFUSION_FIGSIZE, FIGURE_DPI, confusion_figure, figure_to_image)

ATTENTION_FIGSIZE = (8.0, 4.8)


def confusion_counts(labels, predictions, num_classes: int, weights=None) -> np.ndarray:
    """Counts of (true, predicted) class pairs of a batch; rows are the true class.

    Only the weight filter is done here; the counting is
    :func:`tfser.metrics.classification.confusion_matrix`, as in evaluation.

    Args:
      labels: True class indices, any shape.
      predictions: Predicted class indices, the same shape.
      num_classes: K.
      weights: Optional sample weights of the same shape; only examples with a
        weight > 0 (labelled ones) are counted, each once.

    Returns:
      int64 ``[K, K]`` counts (zeros when nothing is labelled).

    Raises:
      ValueError: Mismatched shapes, or a counted index outside ``0..K-1``.
    """
    labels = np.asarray(labels).reshape(-1)
    predictions = np.asarray(predictions).reshape(-1)
    for name, values in (("predictions", predictions), ("weights", weights)):
        if values is not None and np.size(values) != labels.size:
            raise ValueError(f"confusion_counts: {np.size(values)} {name} for "
                             f"{labels.size} labels")
    if weights is not None:
        keep = np.asarray(weights).reshape(-1) > 0
        labels, predictions = labels[keep], predictions[keep]
    if not labels.size:
        return np.zeros((num_classes, num_classes), np.int64)
    return confusion_matrix(labels, predictions, num_classes=num_classes)


def row_normalise(counts) -> np.ndarray:
    """Each row divided by its sum (the per-class recall shares); empty rows stay 0."""
    return normalize_rows(counts, empty=0.0)


def attention_figure(weights, frames=None, title: str = "",
                     figsize: Tuple[float, float] = ATTENTION_FIGSIZE) -> Figure:
    """Attention weights over time, under the input frames when given.

    The weights live on the trunk's strided time axis (``T'`` steps); with ``frames``
    ``[T, F]`` they are drawn as bars spanning ``T / T'`` input frames each, aligned
    with the input shown above them.

    Args:
      weights: ``[T']`` attention weights of the real (unpadded) frames.
      frames: Optional ``[T, F]`` input features (e.g. a spectrogram).
      title: Figure title.
      figsize: Size in inches.
    """
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    figure = Figure(figsize=figsize, dpi=FIGURE_DPI)
    if frames is not None:
        frames = np.asarray(frames, dtype=np.float64)
        top, bottom = figure.subplots(2, 1, sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
        top.imshow(frames.T, origin="lower", aspect="auto", cmap="magma",
                   interpolation="nearest", extent=(0, frames.shape[0], 0, frames.shape[1]))
        top.set_ylabel("feature bin")
        span = frames.shape[0] / max(weights.size, 1)
        positions = (np.arange(weights.size) + 0.5) * span
        bottom.bar(positions, weights, width=span * 0.9, color="tab:orange")
        bottom.set_xlim(0, frames.shape[0])
        bottom.set_xlabel("input frame")
        axes_for_title = top
    else:
        bottom = figure.add_subplot(1, 1, 1)
        bottom.bar(np.arange(weights.size), weights, width=0.9, color="tab:orange")
        bottom.set_xlabel("trunk frame")
        axes_for_title = bottom
    bottom.set_ylabel("attention")
    bottom.set_ylim(0, max(float(weights.max(initial=0.0)) * 1.1, 1e-6))
    if title:
        axes_for_title.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure
