"""Deprecated alias of :mod:`tfser.labels.human` (rater statistics moved beside the labels they read; kept one release)."""

import sys
import warnings

from tfser.labels import human as _moved

warnings.warn("tfser.evaluation.human moved to tfser.labels.human; the old name goes away in "
              "the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
