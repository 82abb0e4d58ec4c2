"""Source-filter speech synthesis from a syllable plan.

A :class:`Plan` lists syllables (an optional consonant onset followed by a vowel
nucleus) with per-syllable prosody and voice-quality targets; :func:`render` turns
it into a waveform:

1. Control tracks (F0, open quotient, breathiness, jitter, shimmer, creak) are
   interpolated between syllable centres at the sample rate.
2. A Rosenberg glottal-flow pulse train is generated from the accumulated F0 phase,
   with per-cycle period jitter, per-cycle amplitude shimmer and, for creaky voice,
   alternating-cycle amplitude and a lowered F0 towards syllable ends. Its
   derivative (the flow derivative that includes lip radiation) is the voiced
   excitation; the open quotient sets how abrupt glottal closure is, hence how
   much high-frequency energy the voice has.
3. Aspiration noise, modulated by the glottal opening, is mixed in (breathiness).
4. The source passes through a one-pole spectral-tilt filter and a cascade of five
   second-order formant resonators whose coefficients are updated every 10 ms while
   formants glide between vowel targets (Klatt-style parameter frames).
5. Consonant-like noise bursts (fricatives, plosive bursts) are added in the
   syllable onsets, and the voiced level is calibrated so that ``loud_db``
   controls loudness independently of the filter gains.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from scipy import signal

# Formant targets (Hz) of five vowels for an adult male vocal tract, F1..F5.
VOWEL_FORMANTS = np.array([
    [730.0, 1090.0, 2440.0, 3400.0, 4200.0],   # a
    [530.0, 1840.0, 2480.0, 3450.0, 4300.0],   # e
    [290.0, 2250.0, 3000.0, 3550.0, 4350.0],   # i
    [570.0, 840.0, 2410.0, 3300.0, 4200.0],    # o
    [310.0, 870.0, 2250.0, 3300.0, 4150.0],    # u
])
VOWEL_NAMES = ("a", "e", "i", "o", "u")
FORMANT_BANDWIDTHS = np.array([70.0, 90.0, 130.0, 180.0, 250.0])

# Consonant kinds: 0 = none; noise band (Hz) and level re the syllable's vowel (dB).
CONSONANT_NAMES = ("none", "s", "sh", "h", "plosive")
_CONSONANT_BANDS = {1: (4000.0, 7400.0), 2: (2000.0, 4500.0), 3: (700.0, 5000.0),
                    4: (500.0, None)}
_CONSONANT_DB = {1: -13.0, 2: -15.0, 3: -22.0, 4: -6.0}

# Voiced RMS (full scale = 1) of a syllable at loud_db = 0: -26 dBFS leaves room for
# +10 dB of shouting before the soft limiter.
REFERENCE_RMS = 10.0 ** (-26.0 / 20.0)
NOISE_FLOOR_RMS = 10.0 ** (-66.0 / 20.0)
FRAME_S = 0.01           # formant parameter update period
_RAMP_S = 0.02           # vowel onset/offset ramp
_ASPIRATION_GAIN = 2.5   # aspiration level per unit breathiness, re the flow derivative


@dataclasses.dataclass(frozen=True)
class Voice:
    """A speaker's voice: the identity cues every utterance of the speaker carries.

    Attributes:
      f0_hz: Habitual F0.
      vtl_scale: Formant scaling from vocal-tract length (shorter tract = higher).
      formant_idio: Per-formant multipliers (5) giving speaker-specific vowels.
      open_quotient: Habitual glottal open quotient (larger = softer, breathier).
      breath: Habitual aspiration-noise level.
      jitter: Per-cycle relative period perturbation (std).
      shimmer: Per-cycle relative amplitude perturbation (std).
      tilt: Habitual coefficient of the one-pole spectral-tilt filter (0..1).
      rate_syl_s: Habitual syllable rate.
      loud_db: Habitual loudness offset.
      range_st: Habitual F0 accent range (semitones).
      creak: Habitual creakiness (0..1).
    """

    f0_hz: float
    vtl_scale: float
    formant_idio: tuple
    open_quotient: float
    breath: float
    jitter: float
    shimmer: float
    tilt: float
    rate_syl_s: float
    loud_db: float
    range_st: float
    creak: float


@dataclasses.dataclass
class Plan:
    """What to say and how: per-syllable arrays (length S) over one recording.

    Times are in seconds from the start of the recording. Prosodic values are
    absolute for the recording (the speaker's habits already applied): ``f0_st`` is
    in semitones re ``Voice.f0_hz``, ``loud_db`` re :data:`REFERENCE_RMS`.

    Attributes:
      duration_s: Length of the recording.
      cons_start: Start of each syllable's consonant (= ``vowel_start`` when none).
      cons_kind: Consonant kind index into :data:`CONSONANT_NAMES`.
      vowel_start, vowel_end: Vowel nucleus interval.
      vowel: Vowel index into :data:`VOWEL_FORMANTS`.
      f0_st, loud_db, open_quotient, tilt, breath, jitter, shimmer, creak, tremor,
        formant_shift, f1_raise: Per-syllable targets.
    """

    duration_s: float
    cons_start: np.ndarray
    cons_kind: np.ndarray
    vowel_start: np.ndarray
    vowel_end: np.ndarray
    vowel: np.ndarray
    f0_st: np.ndarray
    loud_db: np.ndarray
    open_quotient: np.ndarray
    tilt: np.ndarray
    breath: np.ndarray
    jitter: np.ndarray
    shimmer: np.ndarray
    creak: np.ndarray
    tremor: np.ndarray
    formant_shift: np.ndarray
    f1_raise: np.ndarray

    def speech_activity(self, rate_hz: float, num_frames: int) -> np.ndarray:
        """Fraction of each frame covered by a vowel nucleus, shape ``[num_frames]``."""
        step = 0.001
        grid = np.arange(int(np.ceil(num_frames / rate_hz / step))) * step + step / 2
        idx = np.searchsorted(self.vowel_start, grid, side="right") - 1
        safe = np.clip(idx, 0, None)
        voiced = (idx >= 0) & (grid < self.vowel_end[safe])
        frame = np.minimum((grid * rate_hz).astype(np.int64), num_frames - 1)
        counts = np.bincount(frame, weights=voiced.astype(float), minlength=num_frames)
        sizes = np.bincount(frame, minlength=num_frames)
        return counts / np.maximum(sizes, 1)


@functools.lru_cache(maxsize=None)
def _noise_filter(kind: int, sample_rate: int) -> np.ndarray:
    low, high = _CONSONANT_BANDS[kind]
    nyquist = sample_rate / 2.0
    if high is None or high >= 0.95 * nyquist:
        return signal.butter(2, low, btype="highpass", fs=sample_rate, output="sos")
    return signal.butter(2, (low, high), btype="bandpass", fs=sample_rate, output="sos")


@functools.lru_cache(maxsize=None)
def _aspiration_filter(sample_rate: int) -> np.ndarray:
    return signal.butter(2, 1200.0, btype="highpass", fs=sample_rate, output="sos")


def _unit_rms(x: np.ndarray) -> np.ndarray:
    return x / max(1e-12, float(np.sqrt(np.mean(x * x))))


def _check(plan: Plan) -> None:
    size = len(plan.vowel_start)
    problems = []
    if size == 0:
        problems.append("plan has no syllables")
    for field in dataclasses.fields(plan):
        value = getattr(plan, field.name)
        if isinstance(value, np.ndarray) and len(value) != size:
            problems.append(f"{field.name} has {len(value)} values for {size} syllables")
    if size and (np.any(plan.vowel_end <= plan.vowel_start)
                 or np.any(np.diff(plan.vowel_start) <= 0)
                 or np.any(plan.cons_start > plan.vowel_start)
                 or np.any(plan.cons_start[1:] < plan.vowel_end[:-1])
                 or plan.vowel_end[-1] > plan.duration_s):
        problems.append("syllable times must be increasing, non-overlapping and inside the "
                        "recording")
    if problems:
        raise ValueError("invalid synthesis plan: " + "; ".join(problems))


def _glottal_source(plan: Plan, voice: Voice, t: np.ndarray, sample_rate: int,
                    rng: np.random.Generator):
    """Returns (flow derivative, glottal flow) for every sample."""
    centers = 0.5 * (plan.vowel_start + plan.vowel_end)
    track = lambda values: np.interp(t, centers, values)  # noqa: E731

    idx = np.clip(np.searchsorted(plan.vowel_start, t, side="right") - 1, 0, None)
    span = plan.vowel_end[idx] - plan.vowel_start[idx]
    pos = np.clip((t - plan.vowel_start[idx]) / span, 0.0, 1.0)

    creak = track(plan.creak)
    # Each nucleus falls a little in pitch (declination within the syllable) and a
    # creaky voice drops into vocal fry towards the end of the syllable.
    semitones = track(plan.f0_st) - 0.8 * pos
    f0 = voice.f0_hz * 2.0 ** (semitones / 12.0)
    f0 *= 1.0 - 0.35 * creak * pos ** 2
    tremor = track(plan.tremor)
    f0 *= 1.0 + 0.025 * tremor * np.sin(2.0 * np.pi * 5.5 * t + rng.uniform(0, 2 * np.pi))
    f0 = np.clip(f0, 55.0, 600.0)

    # Jitter perturbs each glottal cycle's period: cycles are counted on the
    # unperturbed phase, then one random factor per cycle is applied.
    cycles0 = np.floor(np.cumsum(f0) / sample_rate).astype(np.int64)
    per_cycle = rng.standard_normal(int(cycles0[-1]) + 2)
    jitter = track(plan.jitter) + 0.03 * creak
    f0 = f0 * (1.0 + np.clip(jitter * per_cycle[cycles0], -0.3, 0.3))
    phase = np.cumsum(f0) / sample_rate
    cycle = np.floor(phase).astype(np.int64)
    phi = phase - cycle

    # Rosenberg pulse: opening phase ~62% and closing phase ~38% of the open quotient.
    oq = np.clip(track(plan.open_quotient), 0.3, 0.9)
    t_open = 0.62 * oq
    t_close = 0.38 * oq
    flow = np.where(phi < t_open, 0.5 * (1.0 - np.cos(np.pi * phi / t_open)),
                    np.where(phi < t_open + t_close,
                             np.cos(0.5 * np.pi * (phi - t_open) / t_close), 0.0))
    # d(flow)/d(phase) keeps the pulse shape independent of F0.
    derivative = np.diff(flow, prepend=flow[0]) * (sample_rate / f0)
    shimmer_draw = rng.standard_normal(int(cycle[-1]) + 2)
    amplitude = 1.0 + np.clip(track(plan.shimmer) * shimmer_draw[cycle], -0.6, 0.6)
    amplitude *= 1.0 - 0.45 * creak * (cycle & 1)
    return derivative * amplitude, flow


def _vowel_envelope(plan: Plan, t: np.ndarray):
    """Returns (envelope 0..1 per sample, syllable index per sample)."""
    idx = np.searchsorted(plan.vowel_start, t, side="right") - 1
    safe = np.clip(idx, 0, None)
    start, end = plan.vowel_start[safe], plan.vowel_end[safe]
    inside = (idx >= 0) & (t < end)
    ramp = np.minimum(_RAMP_S, 0.3 * (end - start))
    edge = np.clip(np.minimum(t - start, end - t) / ramp, 0.0, 1.0)
    pos = np.clip((t - start) / (end - start), 0.0, 1.0)
    env = np.where(inside, 0.5 * (1.0 - np.cos(np.pi * edge)) * (1.0 - 0.35 * pos), 0.0)
    return env, safe


def _formant_frames(plan: Plan, voice: Voice, frame_t: np.ndarray, sample_rate: int):
    """Formant frequencies and bandwidths [frames, 5] gliding between vowel targets."""
    span = plan.vowel_end - plan.vowel_start
    # Each target is held over the middle 40% of its nucleus; the rest is transition.
    knots = np.stack([plan.vowel_start + 0.3 * span, plan.vowel_end - 0.3 * span], 1).ravel()
    targets = (VOWEL_FORMANTS[plan.vowel] * voice.vtl_scale * np.asarray(voice.formant_idio)
               * (1.0 + plan.formant_shift)[:, None])
    targets[:, 0] *= 1.0 + plan.f1_raise
    log_targets = np.repeat(np.log(targets), 2, axis=0)
    freqs = np.exp(np.stack([np.interp(frame_t, knots, log_targets[:, k]) for k in range(5)], 1))
    freqs = np.minimum(freqs, 0.45 * sample_rate)
    breath = np.interp(frame_t, knots, np.repeat(plan.breath, 2))
    bands = np.tile(FORMANT_BANDWIDTHS, (len(frame_t), 1))
    # Glottal leakage in breathy voice damps the first formant.
    bands[:, 0] *= 1.0 + 3.0 * np.clip(breath, 0.0, None)
    return freqs, bands


def _filter_frames(source: np.ndarray, plan: Plan, voice: Voice, sample_rate: int) -> np.ndarray:
    hop = max(1, int(round(FRAME_S * sample_rate)))
    num = int(np.ceil(len(source) / hop))
    frame_t = (np.arange(num) + 0.5) * hop / sample_rate
    freqs, bands = _formant_frames(plan, voice, frame_t, sample_rate)
    centers = 0.5 * (plan.vowel_start + plan.vowel_end)
    tilt = np.clip(np.interp(frame_t, centers, plan.tilt), 0.0, 0.97)

    sos = np.zeros((num, 6, 6))
    sos[:, :, 3] = 1.0
    sos[:, 0, 0] = 1.0 - tilt
    sos[:, 0, 4] = -tilt
    radius = np.exp(-np.pi * bands / sample_rate)
    c1 = 2.0 * radius * np.cos(2.0 * np.pi * freqs / sample_rate)
    c2 = -radius ** 2
    sos[:, 1:, 0] = 1.0 - c1 - c2   # unit gain at DC
    sos[:, 1:, 4] = -c1
    sos[:, 1:, 5] = -c2

    padded = np.zeros(num * hop)
    padded[:len(source)] = source
    blocks = padded.reshape(num, hop)
    active = np.abs(blocks).max(axis=1) > 0
    out = np.zeros_like(blocks)
    state = np.zeros((6, 2))
    # Silent frames are skipped once the resonators have rung out (80 ms), which
    # halves the work on speech with pauses without changing the output audibly.
    tail_frames = int(np.ceil(0.08 / FRAME_S))
    quiet_for = tail_frames
    for b in range(num):
        if active[b]:
            quiet_for = 0
        elif quiet_for >= tail_frames:
            continue
        else:
            quiet_for += 1
            if quiet_for == tail_frames:
                out[b], _ = signal.sosfilt(sos[b], blocks[b], zi=state)
                state = np.zeros((6, 2))
                continue
        out[b], state = signal.sosfilt(sos[b], blocks[b], zi=state)
    return out.ravel()[:len(source)]


def _consonants(plan: Plan, t: np.ndarray, sample_rate: int, rng: np.random.Generator):
    idx = np.searchsorted(plan.cons_start, t, side="right") - 1
    safe = np.clip(idx, 0, None)
    inside = np.flatnonzero((idx >= 0) & (t < plan.vowel_start[safe])
                            & (plan.cons_kind[safe] > 0))
    out = np.zeros_like(t)
    if not len(inside):
        return out
    # Only consonant samples are computed: noise is stationary, so one filtered
    # noise run per kind, cut across the consonants of that kind, sounds the same.
    syl = safe[inside]
    tc = t[inside]
    start, end, kind = plan.cons_start[syl], plan.vowel_start[syl], plan.cons_kind[syl]
    length = np.maximum(end - start, 1e-3)
    pos = np.clip((tc - start) / length, 0.0, 1.0)
    edge = np.clip(np.minimum(tc - start, end - tc) / 0.012, 0.0, 1.0)
    fricative_env = 0.5 * (1.0 - np.cos(np.pi * edge))
    # A plosive is a closure (silence) released by a decaying burst into the vowel.
    release = 0.55
    burst_env = np.where(pos >= release, np.exp(-(pos - release) * length / 0.015), 0.0)
    level = 10.0 ** (plan.loud_db[syl] / 20.0)
    # Filter warm-up so every run starts in its stationary state.
    warm = int(0.01 * sample_rate)
    for k in np.unique(kind):
        sel = kind == k
        noise = rng.standard_normal(int(sel.sum()) + warm)
        shaped = _unit_rms(signal.sosfilt(_noise_filter(int(k), sample_rate), noise)[warm:])
        env = burst_env[sel] if k == 4 else fricative_env[sel]
        out[inside[sel]] = shaped * env * level[sel] * 10.0 ** (_CONSONANT_DB[int(k)] / 20.0)
    return out


def _soft_limit(x: np.ndarray, knee: float = 0.8, ceiling: float = 0.99) -> np.ndarray:
    # Only peaks above the knee are compressed, so normal speech stays linear.
    over = np.abs(x) > knee
    if over.any():
        room = ceiling - knee
        x = x.copy()
        x[over] = np.sign(x[over]) * (knee + room * np.tanh((np.abs(x[over]) - knee) / room))
    return x


def render(plan: Plan, voice: Voice, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Synthesises ``plan`` spoken by ``voice``.

    Args:
      plan: The syllables and their targets.
      voice: The speaker.
      sample_rate: Output rate in Hz.
      rng: Source of every random draw (jitter, shimmer, noises); the output is a
        deterministic function of the plan, the voice and the generator state.

    Returns:
      Float64 waveform in [-1, 1] of ``round(plan.duration_s * sample_rate)`` samples.

    Raises:
      ValueError: The plan is inconsistent.
    """
    _check(plan)
    n = int(round(plan.duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    env, syllable = _vowel_envelope(plan, t)
    gain = env * 10.0 ** (plan.loud_db[syllable] / 20.0)
    derivative, flow = _glottal_source(plan, voice, t, sample_rate, rng)
    centers = 0.5 * (plan.vowel_start + plan.vowel_end)
    breath = np.clip(np.interp(t, centers, plan.breath), 0.0, None)
    aspiration = signal.sosfilt(_aspiration_filter(sample_rate), rng.standard_normal(n))
    # Aspiration is turbulence at the open glottis, so it pulses with the flow.
    aspiration *= _ASPIRATION_GAIN * breath * (0.35 + 0.65 * flow)
    source = (derivative + aspiration) * gain
    voiced = _filter_frames(source, plan, voice, sample_rate)

    # Calibrate: voiced RMS equals the reference level times the RMS of the planned
    # syllable gains, so loud_db is the loudness whatever the formants and tilt do.
    mask = env > 0.5
    measured = float(np.sqrt(np.mean(voiced[mask] ** 2))) if mask.any() else 0.0
    wanted = REFERENCE_RMS * float(np.sqrt(np.mean((gain[mask] / env[mask]) ** 2))) \
        if mask.any() else 0.0
    scale = wanted / measured if measured > 0 else 0.0
    out = scale * voiced + REFERENCE_RMS * _consonants(plan, t, sample_rate, rng)
    out += NOISE_FLOOR_RMS * rng.standard_normal(n)
    return _soft_limit(out)


def to_pcm16(waveform: np.ndarray) -> np.ndarray:
    """Quantises a [-1, 1] float waveform to int16 (round half to even, clipped)."""
    return np.clip(np.round(waveform * 32767.0), -32768, 32767).astype(np.int16)
