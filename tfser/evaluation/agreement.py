"""Deprecated alias of :mod:`tfser.labels.agreement` (rater statistics moved beside the labels they read; kept one release)."""

import sys
import warnings

from tfser.labels import agreement as _moved

warnings.warn("tfser.evaluation.agreement moved to tfser.labels.agreement; the old name goes away in "
              "the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
