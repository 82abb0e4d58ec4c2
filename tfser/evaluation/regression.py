"""Deprecated alias of :mod:`tfser.metrics.regression` (pure metrics moved to the ground floor; kept one release)."""

import sys
import warnings

from tfser.metrics import regression as _moved

warnings.warn("tfser.evaluation.regression moved to tfser.metrics.regression; the old name goes away in "
              "the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
