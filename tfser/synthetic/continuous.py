"""Continuous (SEWA-like) recordings: latent traces, the speech they drive, the face stream.

A recording has latent arousal, valence and liking trajectories at the trace rate
(smooth random processes with a few emotional episodes, liking following valence
in part). The speaker talks in phrases separated by listening pauses; each
syllable's F0, loudness, tempo and voice quality follow the latent arousal and
valence at that moment. The synthetic face expresses the same latent state at the
same time (action units, without rater delay) and parts the lips while speaking.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
from scipy import signal

from tfser.synthetic import config as config_lib
from tfser.synthetic import expression
from tfser.synthetic import voice as voice_lib


def _smooth_noise(rng: np.random.Generator, frames: int, cutoff_hz: float,
                  rate_hz: float) -> np.ndarray:
    """Unit-std low-passed noise; a warm-up avoids the filter's start transient."""
    warm = int(4 * rate_hz / cutoff_hz)
    sos = signal.butter(2, cutoff_hz, fs=rate_hz, output="sos")
    out = signal.sosfilt(sos, rng.standard_normal(frames + warm))[warm:]
    return out / max(1e-9, float(np.std(out)))


def latent_traces(rng: np.random.Generator, frames: int, rate_hz: float) -> np.ndarray:
    """Latent arousal, valence, liking, shape ``[frames, 3]``, values in (-1, 1)."""
    t = np.arange(frames) / rate_hz
    columns = []
    for _ in range(2):
        slow = 0.35 * _smooth_noise(rng, frames, 0.05, rate_hz)
        faster = 0.15 * _smooth_noise(rng, frames, 0.25, rate_hz)
        level = rng.normal(0.0, 0.2)
        # A few emotional episodes (bumps of 3-8 s) give traces something to follow.
        episodes = np.zeros(frames)
        for _ in range(int(rng.integers(1, 2 + frames // int(15 * rate_hz)))):
            centre, width = rng.uniform(0, t[-1]), rng.uniform(1.5, 4.0)
            episodes += rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.6) * np.exp(
                -0.5 * ((t - centre) / width) ** 2)
        columns.append(np.tanh(level + slow + faster + episodes))
    arousal, valence = columns
    liking = np.tanh(0.7 * np.arctanh(np.clip(valence, -0.999, 0.999))
                     + 0.3 * _smooth_noise(rng, frames, 0.05, rate_hz))
    return np.stack([arousal, valence, liking], axis=1)


def phrases(rng: np.random.Generator, duration_s: float) -> List[Tuple[float, float]]:
    """Speech turns of 1-4 s separated by 0.4-2.5 s of listening."""
    out = []
    t = float(rng.uniform(0.2, 0.6))
    while True:
        length = float(rng.uniform(1.0, 4.0))
        end = min(t + length, duration_s - 0.2)
        if end - t < 0.5:
            break
        out.append((t, end))
        t = end + float(rng.uniform(0.4, 2.5))
    if not out:
        raise ValueError(f"recording of {duration_s} s is too short for a speech phrase")
    return out


def recording_plan(rng: np.random.Generator, speaker: expression.Speaker, latent: np.ndarray,
                   duration_s: float, rate_hz: float) -> voice_lib.Plan:
    """The syllable plan of a recording whose prosody follows ``latent`` over time."""
    frame_t = np.arange(len(latent)) / rate_hz

    def params_at(times):
        arousal = np.interp(times, frame_t, latent[:, 0])
        valence = np.interp(times, frame_t, latent[:, 1])
        return expression.dimension_parameters(arousal, valence)

    return expression.build_plan(rng, speaker, duration_s, phrases(rng, duration_s), params_at)


# Action-unit intensity (0..5) = baseline + weights . (arousal, valence, liking,
# speaking); one row per unit, in AU_NAMES order. Linear over the whole range, so
# low arousal shows too (drooping lids), not only high arousal.
_AU_BASE = np.array([0.5, 0.4, 0.6, 1.0, 0.4, 0.2, 0.8, 0.3, 0.2, 0.3])
_AU_WEIGHTS = np.array([
    [0.8, -0.5, 0.0, 0.0],   # AU01 inner brow raiser: alert, distressed
    [1.0, 0.2, 0.0, 0.0],    # AU02 outer brow raiser: surprise
    [0.2, -1.6, 0.0, 0.0],   # AU04 brow lowerer: negative valence
    [1.6, 0.0, 0.0, 0.0],    # AU05 upper lid raiser: arousal
    [0.0, 1.5, 0.3, 0.0],    # AU06 cheek raiser: genuine smile
    [0.0, -0.8, 0.0, 0.0],   # AU09 nose wrinkler: disgust-like
    [0.0, 2.0, 0.5, 0.0],    # AU12 lip corner puller: smile
    [-0.3, -1.0, 0.0, 0.0],  # AU15 lip corner depressor: sadness
    [0.2, 0.0, 0.0, 2.0],    # AU25 lips part: speaking
    [1.0, 0.0, 0.0, 0.8],    # AU26 jaw drop: arousal, speaking
])


def action_units(rng: np.random.Generator, latent: np.ndarray, speaking: np.ndarray,
                 rate_hz: float) -> np.ndarray:
    """Facial action-unit intensities, shape ``[frames, len(AU_NAMES)]``, in [0, 5].

    Args:
      rng: Random generator.
      latent: ``[frames, 3]`` latent arousal, valence, liking.
      speaking: ``[frames]`` fraction of each frame that is voiced.
      rate_hz: Frame rate.
    """
    drivers = np.column_stack([latent, speaking])
    frames = len(latent)
    noise = np.stack([_smooth_noise(rng, frames, 0.5, rate_hz) for _ in config_lib.AU_NAMES], 1)
    units = (_AU_BASE + drivers @ _AU_WEIGHTS.T + 0.25 * noise
             + 0.1 * rng.standard_normal(noise.shape))
    return np.clip(units, 0.0, 5.0).astype(np.float32)
