"""Fault injection for tests of distributed runs: a feature set that kills its worker once.

:func:`kill_once_definition` is a registrable feature set (one value: the number of
samples) whose extractor, on its ``after``-th call in a bundle, kills its own process
with SIGKILL, but only if it is the first to create ``marker`` (``O_EXCL``) anywhere on
the machine. So exactly one worker dies, mid-bundle, and every retry of that bundle
computes normally; a run whose marker already exists never kills (the reference run).
"""

from __future__ import annotations

import functools
import os
import signal

import numpy as np

from tfser.features import example_codec
from tfser.features import registry

KILL_ONCE_FEATURE = "test_kill_once"


def _claim(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _kill_once_factory(marker: str, after: int, sample_rate: int):
    del sample_rate
    calls = [0]

    def extract(waveform: np.ndarray) -> np.ndarray:
        calls[0] += 1
        if calls[0] == after and _claim(marker):
            os.kill(os.getpid(), signal.SIGKILL)
        return np.array([waveform.shape[0]], np.float32)

    return extract


def kill_once_definition(marker: str, after: int = 3) -> registry.FeatureDefinition:
    """The :data:`KILL_ONCE_FEATURE` feature set armed with ``marker`` (see the module)."""
    return registry.FeatureDefinition(
        example_codec.FeatureSpec(KILL_ONCE_FEATURE, 1),
        functools.partial(_kill_once_factory, os.path.abspath(marker), int(after)),
        "number of samples; kills its worker once (fault-injection test)")
