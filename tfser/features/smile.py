"""The one place tfser imports openSMILE, safely beside TensorFlow.

``libSMILEapi.so`` and TensorFlow's ``libtensorflow_framework.so.2`` export the
same Ooura FFT symbols (``rdft``, ``cdft``, ``makewt``, ...): openSMILE's are built
for float, TensorFlow's for double. TensorFlow puts its library in the global
symbol scope, so once TF (or Keras) is imported, openSMILE's calls bind to the
double versions, overrun float buffers and abort the process
(``malloc(): invalid size``). Loading openSMILE's library first with
``RTLD_DEEPBIND`` makes it resolve its own symbols before global ones, in either
import order; the ``opensmile`` package's own ``LoadLibrary`` then reuses the
already-open handle.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys

_HANDLE = None


def _library_path() -> str:
    spec = importlib.util.find_spec("opensmile")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the 'opensmile' package is not installed")
    package_dir = list(spec.submodule_search_locations)[0]
    bin_dir = os.path.join(package_dir, "core", "bin")
    for platform_dir in sorted(os.listdir(bin_dir)):
        candidate = os.path.join(bin_dir, platform_dir, "libSMILEapi.so")
        if "linux" in platform_dir and os.path.exists(candidate):
            return candidate
    raise ImportError(f"libSMILEapi.so not found under {bin_dir}")


def import_opensmile():
    """Returns the ``opensmile`` module with its library bound to its own symbols."""
    global _HANDLE
    if _HANDLE is None and sys.platform.startswith("linux"):
        mode = ctypes.RTLD_LOCAL | os.RTLD_NOW | os.RTLD_DEEPBIND
        _HANDLE = ctypes.CDLL(_library_path(), mode=mode)
    import opensmile  # pylint: disable=import-outside-toplevel
    return opensmile


def make_smile(feature_set: str = "eGeMAPSv02", feature_level: str = "Functionals"):
    """Builds an ``opensmile.Smile`` (not picklable: build one per worker)."""
    opensmile = import_opensmile()
    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                           feature_level=getattr(opensmile.FeatureLevel, feature_level))
