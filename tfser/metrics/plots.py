"""The one confusion-matrix figure, for training summaries and evaluation reports alike.

Figures are drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas, so no GUI
backend is needed and the process-wide pyplot state (and the backend other code may
have chosen) is left alone. Counting stays in :mod:`tfser.metrics.classification`; this
module only draws what it is given.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tfser.metrics.classification import normalize_rows

# Resolution of figures rendered to arrays (TensorBoard images are size x DPI pixels).
FIGURE_DPI = 100
# The fixed size of training's confusion images (constant image shape across epochs).
CONFUSION_FIGSIZE = (6.4, 5.6)
CELL_TEXT = ("count", "share")


def auto_figsize(num_classes: int) -> Tuple[float, float]:
    """A size (inches) that grows with the class count, for report figures."""
    size = max(3.0, 0.6 * num_classes + 1.5)
    return size + 1.0, size


def confusion_figure(matrix, class_names: Sequence[str], title: str = "",
                     figsize: Optional[Tuple[float, float]] = CONFUSION_FIGSIZE,
                     normalize: bool = True, cell_text: str = "count") -> Figure:
    """A heat map of a confusion matrix, rows = true class.

    Args:
      matrix: ``[K, K]`` counts (or, with ``normalize=False``, values to draw as given).
      class_names: The K class names (axis labels).
      title: Figure title.
      figsize: Size in inches (None: :func:`auto_figsize`).
      normalize: Colour each cell by its share of the true class (rows of classes
        without examples stay blank); False colours the values as they are.
      cell_text: ``count`` writes each non-zero cell's value as given, ``share`` the
        coloured value with two decimals.

    Raises:
      ValueError: ``matrix`` is not ``[K, K]`` for the K names, or an unknown
        ``cell_text``.
    """
    values = np.asarray(matrix, dtype=np.float64)
    size = len(class_names)
    if values.shape != (size, size):
        raise ValueError(f"confusion_figure: matrix of shape {values.shape} for "
                         f"{size} class names")
    if cell_text not in CELL_TEXT:
        raise ValueError(f"confusion_figure: cell_text {cell_text!r} is not one of "
                         f"{list(CELL_TEXT)}")
    shown = normalize_rows(values) if normalize else values
    finite = shown[np.isfinite(shown)]
    top = 1.0 if normalize else (float(finite.max()) if finite.size else 1.0)
    figure = Figure(figsize=figsize or auto_figsize(size), dpi=FIGURE_DPI)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(np.ma.masked_invalid(shown), cmap="Blues", vmin=0.0,
                        vmax=top if normalize else None, interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04,
                    label="share of true class" if normalize else "")
    ticks = np.arange(size)
    axes.set_xticks(ticks)
    axes.set_yticks(ticks)
    axes.set_xticklabels(class_names, rotation=45, ha="right")
    axes.set_yticklabels(class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    font = max(5, min(9, int(72 / max(size, 1))))
    for (row, col), value in np.ndenumerate(values):
        colour = shown[row, col]
        if not np.isfinite(colour) or (cell_text == "count" and not value):
            continue
        if cell_text == "share":
            text = f"{colour:.2f}"
        else:  # whole counts in full, never in exponent notation
            text = str(int(value)) if float(value).is_integer() else f"{value:g}"
        axes.text(col, row, text, ha="center", va="center", fontsize=font,
                  color="white" if colour > top / 2 else "black")
    if title:
        axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


def figure_to_image(figure: Figure) -> np.ndarray:
    """Renders a figure to a uint8 RGB array ``[H, W, 3]`` (size in inches x dpi)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
