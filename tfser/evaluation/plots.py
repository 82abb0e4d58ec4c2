"""PNG figures for reports: confusion matrices and per-class recall bars.

The confusion matrix is drawn by :func:`tfser.metrics.plots.confusion_figure`, the same
figure training logs to TensorBoard (here sized by the class count, cells showing the
shares).

Figures are drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas
directly, so no GUI backend is needed and the process-wide pyplot state (and the
backend other code may have chosen) is left alone.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tfser.metrics.plots import confusion_figure


def _save(figure: Figure, path: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=120, bbox_inches="tight")
    return path


def plot_confusion_matrix(matrix, classes: Sequence[str], path: str,
                          title: Optional[str] = None, normalize: bool = True) -> str:
    """Writes a confusion-matrix heat map as PNG.

    Args:
      matrix: [K, K] counts (rows = true class) or already row-normalised values.
      classes: The K class names.
      path: Output ``.png`` path (parent directories are created).
      title: Optional title.
      normalize: Row-normalise counts before drawing (cells then show recall shares);
        rows of classes absent from the targets stay blank.

    Returns:
      ``path``.

    Raises:
      ValueError: When the matrix is not [K, K] for the K classes.
    """
    figure = confusion_figure(matrix, classes, title or "", figsize=None,
                              normalize=normalize,
                              cell_text="share" if normalize else "count")
    return _save(figure, path)


def plot_per_class_recall(recall, classes: Sequence[str], path: str,
                          title: Optional[str] = None,
                          reference: Optional[float] = None) -> str:
    """Writes a bar chart of per-class recall as PNG.

    Args:
      recall: [K] recall per class (NaN for classes absent from the targets: no bar).
      classes: The K class names.
      path: Output ``.png`` path.
      title: Optional title.
      reference: Optional horizontal line (e.g. the UA, or chance level ``1/K``).

    Returns:
      ``path``.

    Raises:
      ValueError: When ``recall`` does not have one value per class.
    """
    values = np.asarray(recall, dtype=np.float64)
    if values.shape != (len(classes),):
        raise ValueError(f"recall shape {values.shape} does not fit {len(classes)} classes")
    figure = Figure(figsize=(max(3.0, 0.6 * len(classes) + 1.5), 3.0))
    axes = figure.add_subplot(1, 1, 1)
    axes.bar(range(len(classes)), np.nan_to_num(values, nan=0.0), color="tab:blue")
    axes.set_xticks(range(len(classes)), labels=list(classes), rotation=45, ha="right")
    axes.set_ylim(0.0, 1.0)
    axes.set_ylabel("recall")
    if reference is not None:
        axes.axhline(float(reference), color="tab:red", linestyle="--", linewidth=1)
    if title:
        axes.set_title(title)
    return _save(figure, path)


def plot_curve(x, y, path: str, xlabel: str, ylabel: str, title: Optional[str] = None,
               marked: Optional[float] = None) -> str:
    """Writes a line plot of ``y`` against ``x`` as PNG (e.g. a dev score over a sweep).

    Args:
      x: The swept values.
      y: The score at each value (NaN: no point).
      path: Output ``.png`` path.
      xlabel: Name of the swept value.
      ylabel: Name of the score.
      title: Optional title.
      marked: An ``x`` to mark with a vertical line (the chosen point).

    Returns:
      ``path``.

    Raises:
      ValueError: ``x`` and ``y`` differ in length or are empty.
    """
    return plot_curves(x, {"": y}, path, xlabel, ylabel, title, marked)


def plot_curves(x, curves: Mapping[str, Sequence[float]], path: str, xlabel: str,
                ylabel: str, title: Optional[str] = None,
                marked: Optional[float] = None) -> str:
    """Writes several named curves over the same ``x`` as one PNG (e.g. paper 003's
    Fig. 3: CCC per attribute against the number of stages).

    Args:
      x: The shared x values.
      curves: Label -> y values (NaN: no point); an empty label draws no legend entry.
      path, xlabel, ylabel, title, marked: As :func:`plot_curve`.

    Returns:
      ``path``.

    Raises:
      ValueError: No curve, or a curve whose length differs from ``x`` (or empty ``x``).
    """
    xs = np.asarray(x, dtype=np.float64)
    if not curves:
        raise ValueError("plot_curves needs at least one curve")
    figure = Figure(figsize=(5.0, 3.2))
    axes = figure.add_subplot(1, 1, 1)
    for label, y in curves.items():
        ys = np.asarray(y, dtype=np.float64)
        if xs.shape != ys.shape or xs.ndim != 1 or xs.size == 0:
            raise ValueError(f"curve needs equal non-empty x and y, got {xs.shape} and "
                             f"{ys.shape}")
        axes.plot(xs, ys, marker="o", label=label or None,
                  color="tab:blue" if len(curves) == 1 else None)
    if len(curves) > 1:
        axes.legend(loc="best", fontsize=8)
    if marked is not None:
        axes.axvline(float(marked), color="tab:red", linestyle="--", linewidth=1,
                     label=f"chosen {xlabel} = {marked:g}")
        axes.legend(loc="best", fontsize=8)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    if title:
        axes.set_title(title)
    return _save(figure, path)


def plot_attention_comparison(utterances, path: str, frame_rate_hz: float = 100.0,
                              title: Optional[str] = None) -> str:
    """Writes several models' attention over time on the same utterances as PNG.

    One column per utterance: its spectrogram on top and, under it, each model's
    attention weights as a step curve over the same time axis (paper 001's Fig. 3).

    Args:
      utterances: A list of dicts with ``utt_id``, ``frames`` ``[T, F]``, ``label``
        (the reference class name or None) and ``models``: model name -> ``{"weights":
        [T'] or a list of them (a fused model: one per trunk), "predicted": class}``.
        Each weight vector covers the real frames only; step ``k`` spans input frames
        ``k T / T'`` to ``(k + 1) T / T'``.
      path: Output ``.png`` path.
      frame_rate_hz: Input frames per second (the time axis is in seconds).
      title: Optional figure title.

    Returns:
      ``path``.

    Raises:
      ValueError: No utterances, or an utterance without models.
    """
    if not utterances:
        raise ValueError("plot_attention_comparison needs at least one utterance")
    figure = Figure(figsize=(4.2 * len(utterances), 5.0))
    axes = figure.subplots(2, len(utterances), squeeze=False,
                           gridspec_kw={"height_ratios": [2, 3]})
    for column, utterance in enumerate(utterances):
        if not utterance.get("models"):
            raise ValueError(f"utterance {utterance.get('utt_id')} has no model weights")
        frames = np.asarray(utterance["frames"], dtype=np.float64)
        seconds = frames.shape[0] / frame_rate_hz
        top, bottom = axes[0][column], axes[1][column]
        top.imshow(frames.T, origin="lower", aspect="auto", cmap="magma",
                   interpolation="nearest", extent=(0, seconds, 0, frames.shape[1]))
        top.set_title(f"{utterance['utt_id']} (label {utterance.get('label') or '-'})",
                      fontsize=9)
        top.set_ylabel("bin" if column == 0 else "")
        highest = 0.0
        for name, entry in utterance["models"].items():
            weights = entry["weights"]
            curves = weights if isinstance(weights, (list, tuple)) else [weights]
            for index, curve in enumerate(curves):
                curve = np.asarray(curve, dtype=np.float64).reshape(-1)
                highest = max(highest, float(curve.max(initial=0.0)))
                edges = np.linspace(0.0, seconds, curve.size + 1)
                label = name if len(curves) == 1 else f"{name} (encoder {index + 1})"
                bottom.stairs(curve, edges, label=f"{label}: {entry.get('predicted', '?')}",
                              linestyle="-" if index == 0 else "--")
        bottom.set_xlim(0, seconds)
        # Head room for the legend above the curves.
        bottom.set_ylim(0, max(highest, 1e-6) * 1.7)
        bottom.set_xlabel("time (s)")
        bottom.set_ylabel("attention weight" if column == 0 else "")
        bottom.legend(fontsize=6, loc="upper right", title="model: predicted",
                      title_fontsize=6)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)
