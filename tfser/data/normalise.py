"""In-graph z-normalisation of feature arrays from precomputed statistics.

Statistics come from the dataset sidecar (``dataset_info.json``); this module only
turns them into constant tensors and small functions that run inside ``tf.data``:

* ``global``: one mean/std per feature dimension, computed on a fold's training
  speakers only, so dev/test data never leak into the scaling.
* ``per_speaker``: one mean/std per speaker, looked up from the example's speaker id
  with a :class:`tf.lookup.StaticHashTable`; this removes speaker-specific offsets
  (habitual pitch, loudness), the usual practice for speaker-independent SER.
* ``none``: identity.

Every std is floored so that constant dimensions do not blow up to inf/NaN, and the
normalised values are clipped to +-``clip_sigma`` (:func:`clip`; the featurize config's
``clip_sigma``, recorded in ``dataset_info.json``): a ratio feature whose training mean
is near zero (eGeMAPS' coefficients of variation) can land hundreds of standard
deviations away on an unusual recording, and one such value would otherwise decide the
prediction. Values inside the range are left bit-identical. Training input
(:mod:`tfser.data.reader`) and every export (:mod:`tfser.export.serving`) clip with
this same function; :func:`out_of_range` counts what it cuts.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfser.features.dataset_info import DEFAULT_CLIP_SIGMA  # noqa: F401  (re-exported)

MODES = ("global", "per_speaker", "none")
DEFAULT_STD_FLOOR = 1e-3

Stats = Tuple[Sequence[float], Sequence[float]]
NormaliseFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _as_mean_scale(stats: Stats, dim: int, what: str,
                   std_floor: float) -> Tuple[np.ndarray, np.ndarray]:
    """Validates one (mean, std) pair and returns float32 (mean, 1 / floored std)."""
    mean = np.asarray(stats[0], dtype=np.float64)
    std = np.asarray(stats[1], dtype=np.float64)
    if mean.shape != (dim,) or std.shape != (dim,):
        raise ValueError(f"{what}: statistics have shapes {mean.shape} and {std.shape}; "
                         f"the feature has {dim} dimensions")
    if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std < 0).any():
        raise ValueError(f"{what}: statistics must be finite with std >= 0")
    # Multiplying by a precomputed reciprocal is cheaper per frame than dividing.
    scale = 1.0 / np.maximum(std, std_floor)
    return mean.astype(np.float32), scale.astype(np.float32)


def clip(normalised: tf.Tensor, clip_sigma: Optional[float]) -> tf.Tensor:
    """``normalised`` limited to ``[-clip_sigma, clip_sigma]`` (unchanged for None or 0).

    Values inside the range pass through bit-identical (a min and a max, no arithmetic).
    """
    if not clip_sigma:
        return normalised
    return tf.clip_by_value(normalised, -float(clip_sigma), float(clip_sigma))


def out_of_range(normalised: tf.Tensor, threshold: float, valid: Optional[tf.Tensor] = None,
                 ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Per example: how many normalised values lie beyond ``+-threshold``, and max |z|.

    Args:
      normalised: ``[B, D]`` or ``[B, T, D]`` normalised (unclipped) values.
      threshold: Number of standard deviations (the clip).
      valid: Optional ``[B, T]`` mask of real (not padded) frames.

    Returns:
      ``(count int32 [B], max_abs float32 [B])``.
    """
    magnitude = tf.abs(normalised)
    if valid is not None:
        magnitude = tf.where(valid[:, :, None], magnitude, tf.zeros_like(magnitude))
    axes = list(range(1, len(normalised.shape)))
    count = tf.reduce_sum(tf.cast(magnitude > threshold, tf.int32), axis=axes)
    return count, tf.reduce_max(magnitude, axis=axes)


def global_normaliser(stats: Stats, dim: int, std_floor: float = DEFAULT_STD_FLOOR,
                      name: str = "feature", clip_sigma: Optional[float] = None
                      ) -> NormaliseFn:
    """Returns ``fn(array, speaker_id) -> (array - mean) / max(std, std_floor)``, clipped.

    Args:
      stats: ``(mean, std)``, each of length ``dim``.
      dim: Size of the feature's last axis; arrays may be ``[D]`` or ``[T, D]``.
      std_floor: Smallest std used for scaling.
      name: Feature name for error messages.
      clip_sigma: Clip the result to +-this (None or 0: no clipping; see :func:`clip`).

    Raises:
      ValueError: On statistics of the wrong shape, non-finite or negative values.
    """
    mean, scale = _as_mean_scale(stats, dim, f"{name} (global)", std_floor)
    mean_t, scale_t = tf.constant(mean), tf.constant(scale)

    def normalise(array, speaker_id):
        del speaker_id  # the same statistics for everyone
        return clip((array - mean_t) * scale_t, clip_sigma)

    return normalise


def per_speaker_normaliser(speaker_stats: Mapping[str, Stats], dim: int,
                           fallback: Optional[Stats] = None,
                           std_floor: float = DEFAULT_STD_FLOOR,
                           name: str = "feature", clip_sigma: Optional[float] = None
                           ) -> NormaliseFn:
    """Returns ``fn(array, speaker_id)`` scaling with the speaker's own statistics.

    Args:
      speaker_stats: Speaker id -> ``(mean, std)``.
      dim: Size of the feature's last axis.
      fallback: Statistics for speakers missing from ``speaker_stats`` (e.g. the
        fold's global ones). Without it a missing speaker is left unscaled (mean 0,
        std 1); callers should check speaker coverage before building a dataset.
      std_floor: Smallest std used for scaling.
      name: Feature name for error messages.
      clip_sigma: Clip the result to +-this (None or 0: no clipping; see :func:`clip`).

    Raises:
      ValueError: On no speakers or bad statistics.
    """
    if not speaker_stats:
        raise ValueError(f"{name}: per-speaker normalisation needs statistics for at "
                         "least one speaker")
    speakers = sorted(speaker_stats)
    rows = [_as_mean_scale(speaker_stats[s], dim, f"{name} (speaker {s})", std_floor)
            for s in speakers]
    rows.append(_as_mean_scale(fallback, dim, f"{name} (fallback)", std_floor)
                if fallback is not None
                else (np.zeros(dim, np.float32), np.ones(dim, np.float32)))
    means = tf.constant(np.stack([m for m, _ in rows]))
    scales = tf.constant(np.stack([s for _, s in rows]))
    # The last row is the fallback, so a lookup miss needs no branch in the graph.
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(speakers, tf.string), tf.range(len(speakers), dtype=tf.int64)),
        default_value=len(speakers))

    def normalise(array, speaker_id):
        row = table.lookup(speaker_id)
        return clip((array - tf.gather(means, row)) * tf.gather(scales, row), clip_sigma)

    return normalise


def identity_normaliser() -> NormaliseFn:
    """Returns ``fn(array, speaker_id) -> array``."""

    def normalise(array, speaker_id):
        del speaker_id
        return array

    return normalise


def check_mode(mode: str, name: str) -> str:
    """Raises ValueError unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise ValueError(f"feature '{name}': normalisation '{mode}' is not one of {MODES}")
    return mode
