"""Reading audio files: decode, mix to mono, resample, cut segments, check.

Everything goes through libsndfile (``soundfile``), so WAV, FLAC, OGG/Vorbis and, with
libsndfile >= 1.1, MP3 are read the same way. The decoded signal is mixed down to mono
(mean of the channels), resampled with soxr's high-quality filter to the configured
rate and returned as float32 in [-1, 1].

Every failure raises :class:`AudioError` (a ``ValueError``) whose message starts with
the file path and says what is wrong, because corpus copies fail in recognisable ways:

* the file is missing, is a folder, or is a symbolic link to a missing file;
* it is not audio at all - most often a git-LFS pointer stub (a ~130-byte text file
  starting ``version https://git-lfs``) left by a zip download or a clone without
  ``git lfs pull``, which is reported as such;
* libsndfile cannot decode it (corrupt or unsupported);
* it holds no samples, or fewer seconds than a configured minimum;
* it holds NaN or infinite samples (float WAVs written by broken tools).

Clipping is not an error - many corpora contain a few clipped shouts - but when at
least ``clip_fraction`` (0.1 % by default) of the samples sit at full scale a
:class:`ClippingWarning` is issued through :mod:`warnings`.

:func:`probe` reads only the header (for durations in annotation tables);
:func:`read_audio` decodes; :func:`check_audio` runs both and also flags silent files,
and reports files that are too long, returning problems as text instead of raising
(for corpus audio reports and featurize's ``audio_checks``).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import List, Optional

import numpy as np
import soundfile
import soxr

DEFAULT_SAMPLE_RATE = 16000
# Share of samples at full scale from which a file is reported as clipped.
DEFAULT_CLIP_FRACTION = 0.001
# 16-bit PCM decodes to at most 32767/32768 on the positive side; anything at or
# above this magnitude is "full scale" for every integer subtype.
FULL_SCALE = 32767.0 / 32768.0
# RMS below this level (dB relative to full scale) counts as silence in check_audio.
DEFAULT_SILENCE_DBFS = -60.0
# Longest utterance tfser featurizes or serves: 10 minutes. Longer inputs are almost
# always a mistake (a whole session instead of its segments, a wrong sample rate, int16
# samples read as frames). Featurize checks it (audio_checks) and every export refuses
# longer requests, so training never sees what serving would refuse.
MAX_DURATION_S = 600.0
# Kinds of problem check_audio reports beyond decoding: the word before the colon.
SILENT, CLIPPED, TOO_LONG = "silent", "clipped", "too long"
# Problem of a symbolic link whose target is missing (a moved or unmounted corpus).
DANGLING_LINK = "dangling symbolic link"
# End times may overshoot the file by this much (rounding in annotation tools) before
# a segment is treated as lying outside the file.
SEGMENT_TOLERANCE_S = 0.05
_LFS_MAGIC = b"version https://git-lfs"
# libsndfile estimates MP3 lengths from the bitrate, so a shorter decode is normal there.
_INEXACT_LENGTH_FORMATS = ("MP3", "MPEG")


class AudioError(ValueError):
    """An audio file that cannot be used; ``path`` and ``problem`` say which and why."""

    def __init__(self, path: str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ClippingWarning(UserWarning):
    """A file with at least the configured share of samples at full scale."""


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What an audio header says.

    Attributes:
      sample_rate: Samples per second per channel.
      channels: Number of channels.
      frames: Samples per channel (an estimate for MP3).
      duration_s: ``frames / sample_rate``.
      format: Container name from libsndfile (``WAV``, ``FLAC``, ``OGG``, ``MP3``...).
      subtype: Sample encoding (``PCM_16``, ``FLOAT``, ``VORBIS``...).
    """

    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    format: str
    subtype: str = ""


def is_lfs_pointer(path: str) -> bool:
    """True when ``path`` is a git-LFS pointer stub (text) instead of the real file."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_LFS_MAGIC)) == _LFS_MAGIC
    except OSError:
        return False


def _check_exists(path: str) -> None:
    if os.path.islink(path) and not os.path.exists(path):
        raise AudioError(path, f"{DANGLING_LINK}: points to {os.readlink(path)!r}, which "
                               "does not exist")
    if not os.path.exists(path):
        raise AudioError(path, "file not found")
    if os.path.isdir(path):
        raise AudioError(path, "is a folder, not an audio file")


def _undecodable(path: str, error: Exception) -> AudioError:
    """Turns a libsndfile failure into an AudioError that names the likely cause."""
    if is_lfs_pointer(path):
        return AudioError(path, "is a git-LFS pointer stub (text starting 'version "
                          "https://git-lfs'), not audio; fetch the real file with "
                          "'git lfs pull' or a full download")
    if os.path.getsize(path) == 0:
        return AudioError(path, "is an empty file (0 bytes)")
    return AudioError(path, f"cannot be decoded as audio (corrupt or unsupported format): "
                            f"{error}")


def probe(path: str) -> AudioInfo:
    """Reads the header of an audio file (no samples are decoded).

    Args:
      path: Audio file.

    Returns:
      The :class:`AudioInfo` of the file.

    Raises:
      AudioError: When the file is missing, not decodable (e.g. a git-LFS pointer), or
        its header announces no samples.
    """
    path = os.fspath(path)
    _check_exists(path)
    try:
        info = soundfile.info(path)
    except Exception as error:  # libsndfile raises several types for bad input
        raise _undecodable(path, error) from error
    if info.samplerate <= 0:
        raise AudioError(path, f"header gives an invalid sample rate {info.samplerate}")
    if info.frames <= 0:
        raise AudioError(path, "holds no samples (0 frames)")
    return AudioInfo(sample_rate=int(info.samplerate), channels=int(info.channels),
                     frames=int(info.frames), duration_s=info.frames / float(info.samplerate),
                     format=str(info.format), subtype=str(info.subtype))


def _segment_frames(path: str, info: AudioInfo, start_s: Optional[float],
                    end_s: Optional[float]) -> tuple:
    """First frame and frame count of ``[start_s, end_s)`` inside the file."""
    start_s = 0.0 if start_s is None else float(start_s)
    end_s = info.duration_s if end_s is None else float(end_s)
    if not (np.isfinite(start_s) and np.isfinite(end_s)):
        raise AudioError(path, f"segment [{start_s}, {end_s}] is not finite")
    if start_s < 0 or end_s <= start_s:
        raise AudioError(path, f"segment [{start_s}, {end_s}] s is not a positive interval")
    if start_s >= info.duration_s:
        raise AudioError(path, f"segment starts at {start_s:.3f} s but the file lasts "
                               f"{info.duration_s:.3f} s")
    if end_s > info.duration_s + SEGMENT_TOLERANCE_S:
        raise AudioError(path, f"segment ends at {end_s:.3f} s but the file lasts "
                               f"{info.duration_s:.3f} s")
    first = int(round(start_s * info.sample_rate))
    last = min(info.frames, int(round(end_s * info.sample_rate)))
    return first, max(0, last - first)


def _decode(path: str, info: AudioInfo, first: int, count: int) -> np.ndarray:
    """Reads ``count`` frames from ``first`` as float32 [T, channels]."""
    try:
        with soundfile.SoundFile(path) as handle:
            if first and handle.seekable():
                handle.seek(first)
                data = handle.read(count, dtype="float32", always_2d=True)
            elif first:
                # Unseekable streams: decode up to the segment end and drop the head.
                data = handle.read(first + count, dtype="float32", always_2d=True)[first:]
            else:
                data = handle.read(count, dtype="float32", always_2d=True)
    except Exception as error:
        raise _undecodable(path, error) from error
    if len(data) < count and info.format not in _INEXACT_LENGTH_FORMATS:
        raise AudioError(path, f"is truncated: the header promises {count} frames from "
                               f"frame {first} but only {len(data)} could be decoded")
    return data


def clipped_fraction(samples: np.ndarray, full_scale: float = FULL_SCALE) -> float:
    """Share of samples whose magnitude is at or above ``full_scale``."""
    samples = np.asarray(samples)
    if samples.size == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(samples) >= full_scale)) / samples.size


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for digital silence)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(samples * samples)))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def _decode_checked(path: str, start_s: Optional[float], end_s: Optional[float],
                    min_duration_s: float) -> tuple:
    """Decodes a segment as float32 [T, channels] and applies the hard checks."""
    path = os.fspath(path)
    info = probe(path)
    first, count = _segment_frames(path, info, start_s, end_s)
    seconds = count / float(info.sample_rate)
    if count == 0:
        raise AudioError(path, "the requested segment holds no samples")
    if seconds < min_duration_s:
        raise AudioError(path, f"lasts {seconds:.3f} s, shorter than the minimum "
                               f"{min_duration_s:.3f} s")
    data = _decode(path, info, first, count)
    if data.size == 0:
        raise AudioError(path, "holds no samples (nothing could be decoded)")
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        raise AudioError(path, f"holds {bad} NaN or infinite sample value(s)")
    return data, info


def _clipping_problem(data: np.ndarray, clip_fraction: Optional[float]) -> Optional[str]:
    # Measured before mixing and resampling, which would smear full-scale runs.
    if clip_fraction is None or clip_fraction > 1.0:
        return None
    share = clipped_fraction(data)
    if share > 0 and share >= clip_fraction:
        return (f"{CLIPPED}: {100.0 * share:.2f}% of samples are at full scale "
                f"(threshold {100.0 * clip_fraction:.2f}%)")
    return None


def read_audio(path: str, sample_rate: Optional[int] = DEFAULT_SAMPLE_RATE,
               start_s: Optional[float] = None, end_s: Optional[float] = None,
               min_duration_s: float = 0.0, clip_fraction: Optional[float] = DEFAULT_CLIP_FRACTION,
               quality: str = "HQ") -> np.ndarray:
    """Decodes (a segment of) an audio file to mono float32 at ``sample_rate``.

    Args:
      path: Audio file in any format libsndfile reads.
      sample_rate: Output rate in Hz; ``None`` keeps the file's own rate.
      start_s: Segment start in seconds (None = start of file). Only the frames of the
        segment are read.
      end_s: Segment end in seconds (None = end of file).
      min_duration_s: Shortest acceptable segment, in seconds.
      clip_fraction: Share of full-scale samples from which a :class:`ClippingWarning`
        is issued (``None`` or a value > 1 disables the check).
      quality: soxr quality preset (``HQ`` by default, ``VHQ`` for archival work).

    Returns:
      A 1-D float32 array.

    Raises:
      AudioError: Missing, undecodable or empty file, a segment outside the file, a
        segment shorter than ``min_duration_s``, or NaN/inf samples.
      ValueError: A non-positive ``sample_rate``.
    """
    if sample_rate is not None and int(sample_rate) <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    path = os.fspath(path)
    data, info = _decode_checked(path, start_s, end_s, min_duration_s)
    clipping = _clipping_problem(data, clip_fraction)
    if clipping:
        warnings.warn(f"{path}: {clipping}", ClippingWarning, stacklevel=2)
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if sample_rate is not None and int(sample_rate) != info.sample_rate:
        mono = soxr.resample(mono, info.sample_rate, int(sample_rate), quality=quality)
    return np.ascontiguousarray(mono, dtype=np.float32)


def check_audio(path: str, min_duration_s: float = 0.0,
                silence_dbfs: float = DEFAULT_SILENCE_DBFS,
                start_s: Optional[float] = None, end_s: Optional[float] = None,
                clip_fraction: Optional[float] = DEFAULT_CLIP_FRACTION,
                max_duration_s: Optional[float] = None) -> List[str]:
    """Opens and decodes a file and lists what is wrong with it (empty list = usable).

    Used for corpus audio reports, where one bad file must not stop the run. Decoding
    is at the file's own rate (no resampling is needed to judge it). Clipping is listed
    here too, as a finding rather than a warning.

    Args:
      path: Audio file.
      min_duration_s: Shorter (segments of) files are reported as too short.
      silence_dbfs: Files whose RMS level is below this are reported as silent.
      start_s: Optional segment start in seconds.
      end_s: Optional segment end in seconds.
      clip_fraction: Share of full-scale samples reported as clipping.
      max_duration_s: Longer (segments of) files are reported as too long (None: no
        limit; :data:`MAX_DURATION_S` is the one featurize and serving use).

    Returns:
      Problems in words, e.g. ``["silent: RMS -inf dBFS < -60.0 dBFS"]``; the word
      before the colon is :data:`SILENT`, :data:`CLIPPED` or :data:`TOO_LONG` for
      files that decode.
    """
    try:
        data, info = _decode_checked(os.fspath(path), start_s, end_s, min_duration_s)
    except AudioError as error:
        return [error.problem]
    problems = []
    seconds = data.shape[0] / float(info.sample_rate)
    if max_duration_s is not None and seconds > max_duration_s:
        problems.append(f"{TOO_LONG}: lasts {seconds:.1f} s, longer than the maximum "
                        f"{max_duration_s:g} s")
    clipping = _clipping_problem(data, clip_fraction)
    if clipping:
        problems.append(clipping)
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    level = rms_dbfs(mono)
    if level < silence_dbfs:
        problems.append(f"{SILENT}: RMS {level:.1f} dBFS < {silence_dbfs:.1f} dBFS")
    return problems
