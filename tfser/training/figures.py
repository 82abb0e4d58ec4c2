"""Images the training summaries draw: confusion matrices and attention over time.

Pure functions over numpy arrays, drawn on a :class:`matplotlib.figure.Figure` with the
Agg canvas (no GUI backend, no pyplot global state); :mod:`tfser.training.summaries`
logs them to TensorBoard. The report figures of :mod:`tfser.evaluation` are a
separate, downstream stage.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Figure sizes (inches) and resolution: the logged images are size * DPI pixels.
CONFUSION_FIGSIZE = (6.4, 5.6)
ATTENTION_FIGSIZE = (8.0, 4.8)
FIGURE_DPI = 100


def confusion_counts(labels, predictions, num_classes: int, weights=None) -> np.ndarray:
    """Counts of (true, predicted) class pairs; rows are the true class.

    Args:
      labels: True class indices, any shape.
      predictions: Predicted class indices, the same shape.
      num_classes: K.
      weights: Optional sample weights of the same shape; only examples with a
        weight > 0 (labelled ones) are counted, each once.

    Returns:
      int64 ``[K, K]`` counts.

    Raises:
      ValueError: Mismatched shapes, or a counted index outside ``0..K-1``.
    """
    labels = np.asarray(labels).reshape(-1)
    predictions = np.asarray(predictions).reshape(-1)
    if labels.shape != predictions.shape:
        raise ValueError(f"confusion_counts: {labels.size} labels but "
                         f"{predictions.size} predictions")
    if weights is not None:
        weights = np.asarray(weights).reshape(-1)
        if weights.shape != labels.shape:
            raise ValueError(f"confusion_counts: {weights.size} weights for "
                             f"{labels.size} labels")
        keep = weights > 0
        labels, predictions = labels[keep], predictions[keep]
    labels = labels.astype(np.int64)
    predictions = predictions.astype(np.int64)
    for name, values in (("label", labels), ("prediction", predictions)):
        bad = values[(values < 0) | (values >= num_classes)]
        if bad.size:
            raise ValueError(f"confusion_counts: {name} {int(bad[0])} is outside "
                             f"0..{num_classes - 1}")
    flat = np.bincount(labels * num_classes + predictions, minlength=num_classes ** 2)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def row_normalise(counts) -> np.ndarray:
    """Each row divided by its sum (the per-class recall shares); empty rows stay 0."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def confusion_figure(counts, class_names: Sequence[str], title: str = "",
                     figsize: Tuple[float, float] = CONFUSION_FIGSIZE) -> Figure:
    """A heat map of the row-normalised matrix, each cell annotated with its count.

    Args:
      counts: ``[K, K]`` counts, rows = true class.
      class_names: The K class names (axis labels).
      title: Figure title.
      figsize: Size in inches.

    Raises:
      ValueError: ``counts`` is not ``[K, K]`` for the K names.
    """
    counts = np.asarray(counts)
    size = len(class_names)
    if counts.shape != (size, size):
        raise ValueError(f"confusion_figure: counts of shape {counts.shape} for "
                         f"{size} class names")
    shares = row_normalise(counts)
    figure = Figure(figsize=figsize, dpi=FIGURE_DPI)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of true class")
    ticks = np.arange(size)
    axes.set_xticks(ticks)
    axes.set_yticks(ticks)
    axes.set_xticklabels(class_names, rotation=45, ha="right")
    axes.set_yticklabels(class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    font = max(5, min(9, int(72 / max(size, 1))))
    for row in range(size):
        for col in range(size):
            if counts[row, col]:
                dark = shares[row, col] > 0.5
                axes.text(col, row, str(int(counts[row, col])), ha="center", va="center",
                          fontsize=font, color="white" if dark else "black")
    if title:
        axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


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


def figure_to_image(figure: Figure) -> np.ndarray:
    """Renders a figure to a uint8 RGB array ``[H, W, 3]`` (size in inches x dpi)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
