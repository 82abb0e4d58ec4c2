"""Spectrogram front-ends in ``tf.signal``, shared by featurization, training and serving.

Two front-ends, each a pure TensorFlow function of a float waveform in [-1, 1]:

* :func:`log_power_spectrogram_001` (paper 001): 40 ms Hamming frames, 10 ms hop,
  1600-point DFT (10 Hz per bin at 16 kHz), bins 0..399 = [0, 4000) Hz - the bin at
  exactly 4 kHz is not included - and ``log(power + 1e-10)``. [T, 400].
* :func:`spectrogram_004` (paper 004, VGGVox-style): a fixed 4 s segment (zero-padded
  at the end when shorter; centre crop, or a seeded random crop for training, when
  longer), 25 ms Hamming frames, 10 ms hop, 1024-point FFT, bins 0..511 = [0, 8000) Hz
  at 15.625 Hz (the Nyquist bin is dropped), magnitude (not log) normalised to zero
  mean and unit variance per frequency bin over the segment's frames. [398, 512].

The functions accept ``[..., N]`` waveforms (a single utterance or a batch of equal
length rows) of unknown length, and work eagerly, in ``tf.data.Dataset.map`` and in a
``tf.function`` with input signature ``[None]``. :func:`compute` is the numpy entry
used by the Beam pipeline: it runs the very same function inside a ``tf.function``,
and :class:`SpectrogramLayer` wraps it for a Keras model that is fed raw waveforms, so
the features of training, featurization and serving agree by construction.

Framing uses no end padding: ``T = 1 + (N - frame_length) // hop`` (trailing samples
shorter than a hop are dropped), and inputs shorter than one frame are zero-padded to
one frame in-graph, because ``tf.signal.stft`` returns zero frames for them (NaN after
any statistic over time). Windows are periodic Hamming windows (as in
``scipy.signal.get_window``). VGGVox additionally applies pre-emphasis and dithering;
paper 004 does not mention them and they are not applied here.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Callable, Dict, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

LOG_POWER_001 = "log_power_spectrogram_001"
SPECTROGRAM_004 = "spectrogram_004"
# Added to the power before the log: the floor for digital silence (log(1e-10) ~ -23).
LOG_POWER_EPS = 1e-10
# Added to the per-bin variance: keeps an all-zero bin (a silent segment) at exactly 0.
NORM_EPS = 1e-8
DEFAULT_SEGMENT_S = 4.0


@dataclasses.dataclass(frozen=True)
class StftSettings:
    """Framing of one front-end at one sample rate (all in samples / bins)."""

    frame_length: int
    frame_step: int
    fft_length: int
    num_bins: int
    sample_rate: int

    def bin_frequencies(self) -> np.ndarray:
        """Centre frequency in Hz of each kept bin."""
        return np.arange(self.num_bins) * (self.sample_rate / self.fft_length)

    def num_frames(self, num_samples: int) -> int:
        """Frames for a waveform of ``num_samples`` (short inputs give one frame)."""
        return 1 + max(0, int(num_samples) - self.frame_length) // self.frame_step


def _samples(seconds: float, sample_rate: int, what: str) -> int:
    value = seconds * sample_rate
    if abs(value - round(value)) > 1e-6:
        raise ValueError(f"{what} of {seconds} s is not a whole number of samples at "
                         f"{sample_rate} Hz")
    return int(round(value))


def _check_rate(sample_rate) -> int:
    if isinstance(sample_rate, (tf.Tensor, np.ndarray)) or isinstance(sample_rate, bool):
        raise ValueError(f"sample_rate must be a Python int (it fixes the graph), got "
                         f"{sample_rate!r}")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate}")
    return int(sample_rate)


def stft_settings(kind: str, sample_rate: int = 16000) -> StftSettings:
    """Framing of ``kind`` (:data:`LOG_POWER_001` or :data:`SPECTROGRAM_004`).

    Raises:
      ValueError: Unknown kind, or a sample rate the front-end cannot use (001 needs at
        least 8 kHz and a multiple of 100 Hz, so that the 10 Hz grid reaches 4 kHz).
    """
    sample_rate = _check_rate(sample_rate)
    if kind == LOG_POWER_001:
        if sample_rate < 8000 or sample_rate % 100:
            raise ValueError(f"{kind} needs a sample rate >= 8000 Hz and a multiple of "
                             f"100 Hz (10 Hz DFT grid up to 4 kHz), got {sample_rate}")
        return StftSettings(frame_length=_samples(0.040, sample_rate, "the frame"),
                            frame_step=_samples(0.010, sample_rate, "the hop"),
                            fft_length=sample_rate // 10, num_bins=400,
                            sample_rate=sample_rate)
    if kind == SPECTROGRAM_004:
        frame_length = _samples(0.025, sample_rate, "the frame")
        if frame_length > 1024:
            raise ValueError(f"{kind}: a 25 ms frame at {sample_rate} Hz is longer than "
                             f"the 1024-point FFT")
        return StftSettings(frame_length=frame_length,
                            frame_step=_samples(0.010, sample_rate, "the hop"),
                            fft_length=1024, num_bins=512, sample_rate=sample_rate)
    raise ValueError(f"unknown spectrogram kind {kind!r}; choose from {sorted(SPECTROGRAMS)}")


def segment_length(sample_rate: int = 16000, segment_s: float = DEFAULT_SEGMENT_S) -> int:
    """Samples in a 004 segment.

    Raises:
      ValueError: A non-positive duration or one that is not a whole number of samples.
    """
    if not (np.isfinite(segment_s) and segment_s > 0):
        raise ValueError(f"segment_s must be a positive number, got {segment_s}")
    return _samples(segment_s, _check_rate(sample_rate), "segment_s")


def output_shape(kind: str, num_samples: Optional[int], sample_rate: int = 16000,
                 segment_s: float = DEFAULT_SEGMENT_S) -> Tuple[Optional[int], int]:
    """``(frames, bins)`` for one waveform of ``num_samples`` (``None`` = unknown)."""
    settings = stft_settings(kind, sample_rate)
    if kind == SPECTROGRAM_004:
        num_samples = segment_length(sample_rate, segment_s)
    frames = None if num_samples is None else settings.num_frames(num_samples)
    return frames, settings.num_bins


def _as_waveform(waveform) -> tf.Tensor:
    waveform = tf.convert_to_tensor(waveform)
    if not waveform.dtype.is_floating:
        raise ValueError(f"waveform must be float in [-1, 1], got dtype {waveform.dtype.name}")
    if waveform.shape.rank is None or waveform.shape.rank < 1:
        raise ValueError(f"waveform must have a known rank >= 1 ([..., samples]), got "
                         f"shape {waveform.shape}")
    return tf.cast(waveform, tf.float32)


def _pad_end(waveform: tf.Tensor, min_length: int) -> tf.Tensor:
    """Zero-pads the last axis up to ``min_length`` samples (no-op when long enough)."""
    missing = tf.maximum(min_length - tf.shape(waveform)[-1], 0)
    rank = waveform.shape.rank
    paddings = tf.concat([tf.zeros([rank - 1, 2], tf.int32),
                          tf.reshape(tf.stack([0, missing]), [1, 2])], axis=0)
    return tf.pad(waveform, paddings)


def _stft(waveform: tf.Tensor, settings: StftSettings) -> tf.Tensor:
    """Complex STFT of the kept bins, [..., T, num_bins]."""
    waveform = _pad_end(waveform, settings.frame_length)
    stft = tf.signal.stft(waveform, frame_length=settings.frame_length,
                          frame_step=settings.frame_step, fft_length=settings.fft_length,
                          window_fn=tf.signal.hamming_window, pad_end=False)
    return stft[..., :settings.num_bins]


def log_power_spectrogram_001(waveform, sample_rate: int = 16000) -> tf.Tensor:
    """Log power spectrogram of paper 001: [..., T, 400] float32.

    Args:
      waveform: Float [..., N] waveform(s) in [-1, 1]; N may be unknown.
      sample_rate: Python int; 16 kHz gives 640-sample frames, 160-sample hop and a
        1600-point DFT.

    Returns:
      ``log(|X|^2 + 1e-10)`` for bins 0..399 (0 to 3990 Hz in 10 Hz steps) and
      ``T = 1 + (max(N, 640) - 640) // 160`` frames at 16 kHz.
    """
    settings = stft_settings(LOG_POWER_001, sample_rate)
    stft = _stft(_as_waveform(waveform), settings)
    power = tf.math.square(tf.math.real(stft)) + tf.math.square(tf.math.imag(stft))
    return tf.math.log(power + LOG_POWER_EPS)


def _fix_length(waveform: tf.Tensor, length: int, random_crop: bool, seed) -> tf.Tensor:
    """Crops (centre or seeded random offset) and zero-pads the last axis to ``length``."""
    excess = tf.maximum(tf.shape(waveform)[-1] - length, 0)
    if random_crop:
        offset = tf.random.stateless_uniform([], seed=seed, minval=0, maxval=excess + 1,
                                             dtype=tf.int32)
    else:
        offset = excess // 2
    waveform = _pad_end(waveform[..., offset:offset + length], length)
    return tf.ensure_shape(waveform, waveform.shape[:-1].concatenate([length]))


def spectrogram_004(waveform, sample_rate: int = 16000, segment_s: float = DEFAULT_SEGMENT_S,
                    random_crop: bool = False, seed=None) -> tf.Tensor:
    """Normalised magnitude spectrogram of a fixed-length segment (paper 004).

    Args:
      waveform: Float [..., N] waveform(s) in [-1, 1]; N may be unknown. All rows of a
        batch share one crop offset.
      sample_rate: Python int.
      segment_s: Segment duration; 4 s = 64 000 samples at 16 kHz.
      random_crop: Crop longer inputs at a random offset (training) instead of the centre.
      seed: Shape-[2] integer seed of the random crop (``tf.random.stateless_uniform``),
        required when ``random_crop``; in ``tf.data``, zip the dataset with
        ``tf.data.Dataset.random(seed).batch(2)`` to give every element its own seed.

    Returns:
      [..., 398, 512] float32 at 16 kHz, each bin with zero mean and unit variance over
      the 398 frames (bins that are constant, e.g. of a silent segment, are 0).

    Raises:
      ValueError: ``random_crop`` without a seed, or bad settings.
    """
    settings = stft_settings(SPECTROGRAM_004, sample_rate)
    if random_crop and seed is None:
        raise ValueError("spectrogram_004: random_crop=True needs a shape-[2] integer seed")
    waveform = _fix_length(_as_waveform(waveform), segment_length(sample_rate, segment_s),
                           bool(random_crop), seed)
    magnitude = tf.abs(_stft(waveform, settings))
    mean, variance = tf.nn.moments(magnitude, axes=[-2], keepdims=True)
    return (magnitude - mean) * tf.math.rsqrt(variance + NORM_EPS)


SPECTROGRAMS: Dict[str, Callable[..., tf.Tensor]] = {
    LOG_POWER_001: log_power_spectrogram_001,
    SPECTROGRAM_004: spectrogram_004,
}

_COMPILED: Dict[tuple, Callable] = {}
_COMPILED_LOCK = threading.Lock()


def _compiled(kind: str, sample_rate: int, segment_s: float) -> Callable:
    """One traced function per settings; the [None] signature avoids retracing per length."""
    key = (kind, sample_rate, segment_s)
    with _COMPILED_LOCK:
        if key not in _COMPILED:
            options = {"segment_s": segment_s} if kind == SPECTROGRAM_004 else {}
            function = SPECTROGRAMS[kind]

            @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
            def run(waveform):
                return function(waveform, sample_rate=sample_rate, **options)

            _COMPILED[key] = run
        return _COMPILED[key]


def compute(kind: str, waveform: np.ndarray, sample_rate: int = 16000,
            segment_s: float = DEFAULT_SEGMENT_S) -> np.ndarray:
    """Numpy entry for featurization: the TF front-end on one utterance.

    Deterministic only (004 uses the centre crop): random crops are augmentation and
    belong in training, where :func:`spectrogram_004` or :class:`SpectrogramLayer` run.

    Args:
      kind: :data:`LOG_POWER_001` or :data:`SPECTROGRAM_004`.
      waveform: Mono float [N] waveform in [-1, 1].
      sample_rate: Its rate in Hz.
      segment_s: 004 segment duration (ignored by 001).

    Returns:
      float32 [T, F] array.

    Raises:
      ValueError: Unknown kind, a non-1-D, non-float or non-finite waveform.
    """
    stft_settings(kind, sample_rate)
    if kind == SPECTROGRAM_004:
        segment_length(sample_rate, segment_s)
    waveform = np.asarray(waveform)
    if waveform.ndim != 1 or not np.issubdtype(waveform.dtype, np.floating):
        raise ValueError(f"waveform must be a 1-D float array, got shape {waveform.shape} "
                         f"and dtype {waveform.dtype}")
    if not np.isfinite(waveform).all():
        raise ValueError("waveform holds NaN or infinite samples")
    run = _compiled(kind, int(sample_rate), float(segment_s))
    return run(tf.constant(waveform, dtype=tf.float32)).numpy()


@keras.saving.register_keras_serializable(package="tfser")
class SpectrogramLayer(keras.layers.Layer):
    """A spectrogram front-end as a Keras layer: [B, N] waveforms -> [B, T, F].

    Args:
      kind: :data:`LOG_POWER_001` or :data:`SPECTROGRAM_004`.
      sample_rate: Rate of the input waveforms in Hz.
      segment_s: 004 segment duration (ignored by 001).
      random_crop: 004 only: random crop when called with ``training=True`` (centre
        crop otherwise, e.g. at evaluation and serving).
      seed: Seed of the random crops (``None`` = unseeded).
      **kwargs: Base layer arguments; ``dtype`` defaults to float32 so that a mixed
        precision policy does not run the FFT in float16.
    """

    def __init__(self, kind: str, sample_rate: int = 16000,
                 segment_s: float = DEFAULT_SEGMENT_S, random_crop: bool = False,
                 seed: Optional[int] = None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self._settings = stft_settings(kind, sample_rate)
        if kind == SPECTROGRAM_004:
            segment_length(sample_rate, segment_s)
        elif random_crop:
            raise ValueError(f"random_crop applies to {SPECTROGRAM_004} only, not {kind}")
        self.kind = kind
        self.sample_rate = int(sample_rate)
        self.segment_s = float(segment_s)
        self.random_crop = bool(random_crop)
        self.seed = seed
        self._seed_generator = keras.random.SeedGenerator(seed) if self.random_crop else None

    def call(self, inputs, training=None):
        if self.kind == LOG_POWER_001:
            return log_power_spectrogram_001(inputs, sample_rate=self.sample_rate)
        if self.random_crop and training:
            seed = keras.random.randint((2,), 0, 2**31 - 1, seed=self._seed_generator,
                                        dtype="int32")
            return spectrogram_004(inputs, self.sample_rate, self.segment_s,
                                   random_crop=True, seed=seed)
        return spectrogram_004(inputs, self.sample_rate, self.segment_s)

    def compute_output_shape(self, input_shape):
        frames, bins = output_shape(self.kind, input_shape[-1], self.sample_rate,
                                    self.segment_s)
        return tuple(input_shape[:-1]) + (frames, bins)

    def get_config(self):
        config = super().get_config()
        config.update({"kind": self.kind, "sample_rate": self.sample_rate,
                       "segment_s": self.segment_s, "random_crop": self.random_crop,
                       "seed": self.seed})
        return config
