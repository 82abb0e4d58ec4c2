"""Deprecated alias of :mod:`tfser.metrics.significance` (pure metrics moved to the ground floor; kept one release)."""

import sys
import warnings

from tfser.metrics import significance as _moved

warnings.warn("tfser.evaluation.significance moved to tfser.metrics.significance; the old name goes away in "
              "the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
