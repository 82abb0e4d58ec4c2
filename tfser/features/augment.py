"""Waveform augmentation in numpy: speed perturbation (paper 001: factors 0.9 and 1.1).

Speed perturbation plays the recording ``factor`` times faster, so tempo and pitch
change together (like ``sox speed``, unlike ``sox tempo``): the signal is treated as if
it had been sampled at ``factor * sample_rate`` and resampled back to ``sample_rate``
with soxr. A 200 Hz tone becomes 220 Hz at 1.1 and the result has ``len / factor``
samples. No TensorFlow is imported here.
"""

from __future__ import annotations

import numpy as np
import soxr

# The factors of paper 001 (the unperturbed original is kept beside them).
SPEED_FACTORS_001 = (0.9, 1.1)


def speed_perturb(waveform: np.ndarray, sample_rate: int, factor: float,
                  quality: str = "HQ") -> np.ndarray:
    """Changes speed (tempo and pitch together) by ``factor``.

    Args:
      waveform: Mono float [N] waveform.
      sample_rate: Its rate in Hz (unchanged in the output).
      factor: Speed factor; > 1 is faster and shorter, < 1 slower and longer.
      quality: soxr quality preset.

    Returns:
      float32 [~N / factor] waveform at ``sample_rate``; a copy when ``factor == 1``.

    Raises:
      ValueError: A non-1-D, empty, non-float or non-finite waveform, or a non-positive
        sample rate or factor.
    """
    waveform = np.asarray(waveform)
    if waveform.ndim != 1 or waveform.size == 0:
        raise ValueError(f"waveform must be a non-empty 1-D array, got shape {waveform.shape}")
    if not np.issubdtype(waveform.dtype, np.floating):
        raise ValueError(f"waveform must be float in [-1, 1], got dtype {waveform.dtype}")
    if not np.isfinite(waveform).all():
        raise ValueError("waveform holds NaN or infinite samples")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate}")
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(f"speed factor must be a positive number, got {factor}")
    waveform = np.ascontiguousarray(waveform, dtype=np.float32)
    if factor == 1:
        return waveform.copy()
    # Reading the samples as if recorded at factor * rate and converting to rate keeps
    # the sample rate while every frequency is multiplied by factor.
    out = soxr.resample(waveform, float(sample_rate) * float(factor), float(sample_rate),
                        quality=quality)
    return np.ascontiguousarray(out, dtype=np.float32)
