"""Frame-level post-processing in numpy: deltas, downsampling, windowed functionals, z-norm.

These are the steps the papers apply between a frame-level front-end (openSMILE low-level
descriptors) and the model:

* :func:`delta_regression` - first-order regression deltas, the formula of openSMILE's
  ``cDeltaRegression`` (used to build the 45-dimensional emobase set of paper 002).
* :func:`downsample_mean` - average every ``factor`` frames (paper 002: 5 frames).
* :func:`windowed_functionals` - statistics over sliding windows (paper 003: 4 s windows,
  100 ms hop, 10 Hz output).
* :func:`fit_znorm` / :func:`apply_znorm` / :func:`per_speaker_znorm` - z-normalisation
  statistics, globally or per speaker (paper 002 normalises per speaker).

Nothing here imports TensorFlow, so Beam workers that only run openSMILE stay light.
"""

from __future__ import annotations

import math
from typing import Dict, Hashable, Iterable, List, Sequence, Tuple

import numpy as np

# Statistics windowed_functionals can compute; each maps [n, D] frames to [D].
_STATS = {
    "mean": lambda w: w.mean(axis=0),
    "std": lambda w: w.std(axis=0),  # population std (ddof=0): defined for one frame
    "min": lambda w: w.min(axis=0),
    "max": lambda w: w.max(axis=0),
}
STATS = tuple(_STATS)
# Standard deviations below this are treated as zero by apply_znorm.
DEFAULT_STD_EPS = 1e-6


def _as_frames(frames, what: str = "frames") -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 2:
        raise ValueError(f"{what} must be a 2-D [T, D] array, got shape {frames.shape}")
    if frames.shape[0] == 0:
        raise ValueError(f"{what} holds no frames (shape {frames.shape})")
    if not np.issubdtype(frames.dtype, np.number):
        raise ValueError(f"{what} must be numeric, got dtype {frames.dtype}")
    return frames


def delta_regression(frames: np.ndarray, window: int = 2) -> np.ndarray:
    """Regression deltas over time, as openSMILE's ``cDeltaRegression`` computes them.

    ``d[t] = sum_{i=1..W} i * (x[t+i] - x[t-i]) / (2 * sum_{i=1..W} i^2)``, with the
    first and last frame repeated beyond the edges. With ``window=2`` this reproduces
    openSMILE's ``lld_de`` level of the emobase config frame by frame (tested), so a
    second-order delta is simply the delta of the delta.

    Args:
      frames: [T, D] frame-level features.
      window: W, the number of neighbours on each side (openSMILE's ``deltawin``).

    Returns:
      [T, D] float32 deltas.

    Raises:
      ValueError: A non-2-D or empty input, or a window below 1.
    """
    frames = _as_frames(frames).astype(np.float64)
    if int(window) != window or window < 1:
        raise ValueError(f"delta window must be a positive integer, got {window}")
    window = int(window)
    length = frames.shape[0]
    padded = np.pad(frames, ((window, window), (0, 0)), mode="edge")
    total = np.zeros_like(frames)
    for i in range(1, window + 1):
        total += i * (padded[window + i:window + i + length] - padded[window - i:window - i + length])
    norm = 2.0 * sum(i * i for i in range(1, window + 1))
    return (total / norm).astype(np.float32)


def downsample_mean(frames: np.ndarray, factor: int = 5) -> np.ndarray:
    """Averages every ``factor`` consecutive frames (paper 002 uses 5).

    Output frame ``k`` is the mean of input frames ``[k*factor, (k+1)*factor)``. When
    ``T`` is not a multiple of ``factor``, the last output frame averages the frames that
    are left (fewer than ``factor``) rather than dropping them, so no speech at the end of
    an utterance is lost and ``ceil(T / factor)`` frames come out.

    Args:
      frames: [T, D] frame-level features.
      factor: Frames per output frame (>= 1).

    Returns:
      [ceil(T / factor), D] float32 array.

    Raises:
      ValueError: A non-2-D or empty input, or a factor below 1.
    """
    frames = _as_frames(frames)
    if int(factor) != factor or factor < 1:
        raise ValueError(f"downsampling factor must be a positive integer, got {factor}")
    factor = int(factor)
    length, dim = frames.shape
    full = length // factor
    head = frames[:full * factor].astype(np.float64).reshape(full, factor, dim).mean(axis=1)
    if full * factor < length:
        tail = frames[full * factor:].astype(np.float64).mean(axis=0, keepdims=True)
        head = np.concatenate([head, tail], axis=0)
    return head.astype(np.float32)


def windowed_functionals(frames: np.ndarray, frame_rate_hz: float, window_s: float = 4.0,
                         hop_s: float = 0.1, stats: Sequence[str] = ("mean", "std")) -> np.ndarray:
    """Statistics of the frames in centred sliding windows (paper 003: 4 s, 100 ms hop).

    Output frame ``k`` describes time ``k * hop_s``: it summarises input frames
    ``i`` (at time ``i / frame_rate_hz``) with ``c_k - h <= i < c_k + h``, where
    ``c_k = round(k * hop_s * frame_rate_hz)`` and ``h = round(window_s * frame_rate_hz / 2)``.
    Windows that reach past either end of the recording are truncated to the frames
    that exist (no padding), so the first and last ~2 s use shorter windows. One output
    frame is produced for every ``c_k < T``, i.e. ``ceil(T / (hop_s * frame_rate_hz))``
    frames at ``1 / hop_s`` Hz (10 Hz by default), aligned with labels sampled at
    ``0, hop_s, 2 hop_s, ...``.

    Args:
      frames: [T, D] frame-level features at ``frame_rate_hz``.
      frame_rate_hz: Input frame rate (100 for openSMILE's 10 ms step).
      window_s: Window length in seconds.
      hop_s: Output period in seconds.
      stats: Statistics to compute, from :data:`STATS`; the output concatenates them
        statistic-major (all D means, then all D standard deviations, ...). The standard
        deviation is the population one (ddof 0), 0 for a one-frame window.

    Returns:
      [N, D * len(stats)] float32 array; :func:`functional_names` names its columns.

    Raises:
      ValueError: Bad shapes, non-positive rates or durations, a window shorter than
        one frame, or an unknown statistic.
    """
    frames = _as_frames(frames)
    for name, value in (("frame_rate_hz", frame_rate_hz), ("window_s", window_s),
                        ("hop_s", hop_s)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value}")
    stats = tuple(stats)
    unknown = [s for s in stats if s not in _STATS]
    if unknown or not stats:
        raise ValueError(f"unknown or missing statistics {unknown or stats}; choose from {STATS}")
    half = int(round(window_s * frame_rate_hz / 2.0))
    if half < 1:
        raise ValueError(f"a {window_s} s window at {frame_rate_hz} Hz is shorter than two "
                         f"frames")
    hop_frames = hop_s * frame_rate_hz
    length = frames.shape[0]
    count = int(math.ceil(length / hop_frames))
    centres = np.round(np.arange(count + 1) * hop_frames).astype(np.int64)
    centres = centres[centres < length]
    values = frames.astype(np.float64)
    out = np.empty((len(centres), frames.shape[1] * len(stats)), dtype=np.float32)
    for k, centre in enumerate(centres):
        window = values[max(0, centre - half):min(length, centre + half)]
        out[k] = np.concatenate([_STATS[s](window) for s in stats])
    return out


def functional_names(names: Sequence[str], stats: Sequence[str] = ("mean", "std")) -> List[str]:
    """Column names of :func:`windowed_functionals` output, e.g. ``Loudness_sma3_mean``."""
    return [f"{name}_{stat}" for stat in stats for name in names]


def fit_znorm(arrays: Iterable[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per feature, pooled over all frames of all arrays.

    Accepts [T, D] frame matrices (each frame counts once) or [D] vectors (e.g. utterance
    functionals; each counts as one frame). The statistics are merged array by array in
    float64 (Chan et al.'s pairwise update), so the input can be a generator over a
    corpus and long recordings do not lose precision. Call it once on the training split
    for global normalisation, or once per speaker for per-speaker normalisation (see
    :func:`per_speaker_znorm`).

    Args:
      arrays: Iterable of [T, D] or [D] arrays with the same D.

    Returns:
      ``(mean, std)``, each a float32 [D] array; ``std`` is the population standard
      deviation (ddof 0).

    Raises:
      ValueError: No frames, inconsistent D, or NaN/inf values.
    """
    count, mean, m2 = 0, None, None
    for index, array in enumerate(arrays):
        array = np.asarray(array, dtype=np.float64)
        if array.ndim == 1:
            array = array[np.newaxis]
        if array.ndim != 2:
            raise ValueError(f"array {index} must be [T, D] or [D], got shape {array.shape}")
        if array.shape[0] == 0:
            continue
        if not np.isfinite(array).all():
            raise ValueError(f"array {index} holds NaN or infinite values")
        if mean is not None and array.shape[1] != mean.shape[0]:
            raise ValueError(f"array {index} has {array.shape[1]} features, earlier arrays "
                             f"have {mean.shape[0]}")
        n_b = array.shape[0]
        mean_b = array.mean(axis=0)
        m2_b = ((array - mean_b) ** 2).sum(axis=0)
        if mean is None:
            count, mean, m2 = n_b, mean_b, m2_b
            continue
        total = count + n_b
        delta = mean_b - mean
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + delta * delta * (count * n_b / total)
        count = total
    if mean is None:
        raise ValueError("cannot fit z-normalisation statistics: no frames were given")
    return mean.astype(np.float32), np.sqrt(m2 / count).astype(np.float32)


def apply_znorm(x: np.ndarray, mean: np.ndarray, std: np.ndarray,
                eps: float = DEFAULT_STD_EPS) -> np.ndarray:
    """``(x - mean) / std`` per feature, safe for (near-)constant features.

    A feature whose standard deviation is below ``eps`` is only centred (its std is
    replaced by 1, as scikit-learn's ``StandardScaler`` does): flooring it at ``eps``
    instead would multiply any deviation seen later - a feature constant in training but
    not at test time - by ``1 / eps``.

    Args:
      x: [..., D] features.
      mean: [D] means from :func:`fit_znorm`.
      std: [D] standard deviations from :func:`fit_znorm`.
      eps: Standard deviations below this count as zero.

    Returns:
      Float32 array with the shape of ``x``.

    Raises:
      ValueError: Mismatched feature dimensions or negative/NaN statistics.
    """
    x = np.asarray(x, dtype=np.float32)
    mean = np.asarray(mean, dtype=np.float32).reshape(-1)
    std = np.asarray(std, dtype=np.float32).reshape(-1)
    if mean.shape != std.shape:
        raise ValueError(f"mean has {mean.shape[0]} features but std has {std.shape[0]}")
    if x.ndim == 0 or x.shape[-1] != mean.shape[0]:
        raise ValueError(f"features have shape {x.shape}, statistics have {mean.shape[0]} "
                         f"features")
    if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std < 0).any():
        raise ValueError("z-normalisation statistics hold NaN, inf or negative std values")
    scale = np.where(std < eps, np.float32(1.0), std)
    return ((x - mean) / scale).astype(np.float32)


def per_speaker_znorm(arrays: Sequence[np.ndarray], speakers: Sequence[Hashable],
                      eps: float = DEFAULT_STD_EPS) -> Tuple[List[np.ndarray],
                                                             Dict[Hashable, Tuple[np.ndarray,
                                                                                  np.ndarray]]]:
    """Z-normalises each array with the statistics of all arrays of its speaker (paper 002).

    Args:
      arrays: [T, D] (or [D]) feature arrays, one per utterance.
      speakers: Speaker of each array, same length as ``arrays``.
      eps: Passed to :func:`apply_znorm`.

    Returns:
      ``(normalised, stats)``: the normalised arrays in input order, and
      ``{speaker: (mean, std)}`` so the statistics can be recorded with the dataset.

    Raises:
      ValueError: ``arrays`` and ``speakers`` differ in length, or as :func:`fit_znorm`.
    """
    arrays = list(arrays)
    speakers = list(speakers)
    if len(arrays) != len(speakers):
        raise ValueError(f"got {len(arrays)} arrays but {len(speakers)} speaker ids")
    groups: Dict[Hashable, List[int]] = {}
    for index, speaker in enumerate(speakers):
        groups.setdefault(speaker, []).append(index)
    stats = {speaker: fit_znorm(arrays[i] for i in indices) for speaker, indices in groups.items()}
    normalised = [apply_znorm(array, *stats[speaker], eps=eps)
                  for array, speaker in zip(arrays, speakers)]
    return normalised, stats
