"""Deprecated alias of :mod:`tfser.audio.audio_io` (moved to the ground floor; kept one release)."""

import sys
import warnings

from tfser.audio import audio_io as _moved

warnings.warn("tfser.features.audio_io moved to tfser.audio.audio_io; the old name goes "
              "away in the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
