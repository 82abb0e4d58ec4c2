"""Deprecated alias of :mod:`tfser.metrics.classification` (pure metrics moved to the ground floor; kept one release)."""

import sys
import warnings

from tfser.metrics import classification as _moved

warnings.warn("tfser.evaluation.classification moved to tfser.metrics.classification; the old name goes away in "
              "the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
