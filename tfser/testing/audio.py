"""Small audio files for tests: deterministic harmonic tones written with soundfile."""

from __future__ import annotations

import os

import numpy as np
import soundfile


def tone(seconds: float, sample_rate: int = 16000, f0: float = 150.0, channels: int = 1,
         seed: int = 0) -> np.ndarray:
    """A voiced-like harmonic tone with a little noise, shape [T] or [T, channels]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    signal = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
    signal = 0.2 * signal / max(1e-9, np.max(np.abs(signal))) if len(t) else signal
    signal = signal + 0.005 * rng.standard_normal(len(t))
    if channels > 1:
        signal = np.stack([signal * (1.0 - 0.1 * c) for c in range(channels)], axis=1)
    return signal.astype(np.float32)


def write_tone(path: str, seconds: float, sample_rate: int = 16000, f0: float = 150.0,
               channels: int = 1, subtype: str = "PCM_16", seed: int = 0) -> str:
    """Writes :func:`tone` to ``path`` (format from the extension) and returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    soundfile.write(path, tone(seconds, sample_rate, f0, channels, seed), sample_rate,
                    subtype=subtype if path.lower().endswith((".wav", ".flac")) else None)
    return path
