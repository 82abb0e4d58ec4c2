"""Deprecated alias of :mod:`tfser.annotations.vocabulary` (moved beside the table schema; kept one release)."""

import sys
import warnings

from tfser.annotations import vocabulary as _moved

warnings.warn("tfser.corpora.vocabulary moved to tfser.annotations.vocabulary; the old name "
              "goes away in the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
