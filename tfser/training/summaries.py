"""Deprecated alias: the summaries were split (kept one release).

Config text and HParams moved to :mod:`tfser.training.hparams`, the confusion and
attention images to :mod:`tfser.training.image_summaries`, their figures to
:mod:`tfser.training.figures` (the confusion figure to :mod:`tfser.metrics.plots`) and
:func:`build_summary_callbacks` to :mod:`tfser.training.callbacks`.
"""

import warnings

from tfser.training.callbacks import build_summary_callbacks  # noqa: F401
from tfser.training.figures import (  # noqa: F401
    ATTENTION_FIGSIZE, CONFUSION_FIGSIZE, FIGURE_DPI, attention_figure, confusion_counts,
    confusion_figure, figure_to_image, row_normalise)
from tfser.training.hparams import (  # noqa: F401
    CONFIG_TAG, HPARAMS_METRIC_PREFIX, ExperimentSummary, HParamValue, best_epoch_metrics,
    config_markdown, flatten_hparams)
from tfser.training.image_summaries import (  # noqa: F401
    ATTENTION_TAG, CONFUSION_TAG, DEFAULT_ATTENTION_EXAMPLES, DEFAULT_MAX_BATCHES,
    VALIDATION_RUN, AttentionPlots, ConfusionMatrixImages, class_index_heads)

warnings.warn("tfser.training.summaries was split into tfser.training.hparams, "
              "tfser.training.image_summaries and tfser.training.callbacks; the old name "
              "goes away in the next release", DeprecationWarning, stacklevel=2)
