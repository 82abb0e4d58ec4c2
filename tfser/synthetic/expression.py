"""Speakers, emotions and their acoustic expression: from latent state to a syllable plan.

An utterance's latent state is a mixture of emotions (weights summing to one), an
expression intensity and latent arousal / valence / dominance. Acoustic
parameters are the speaker's habits plus

* the intensity-scaled, mixture-weighted sum of each emotion's prototype profile
  (:data:`EMOTION_PROFILES`), plus
* a linear effect of the latent dimensions' deviation from the mixture's own
  dimensions (:data:`DIMENSION_EFFECTS`), so two angry utterances of different
  arousal sound different.

Continuous recordings use the dimensional effects only, evaluated along the latent
traces at each syllable's time.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from tfser.synthetic import config as config_lib
from tfser.synthetic import voice as voice_lib

EMOTIONS = config_lib.EMOTIONS

# Acoustic parameters an emotion or a dimension moves. ``*_log`` ones are log
# multipliers, the rest additive (semitones, dB or raw units).
PARAMETERS = ("f0_st", "range_log", "slope_st", "final_rise_st", "tempo_log", "loud_db",
              "open_quotient", "tilt", "breath", "jitter_log", "shimmer_log", "creak",
              "tremor", "formant_shift", "f1_raise", "pause_log")

_L = np.log
# Prototype deviations from the speaker's neutral voice at full intensity.
EMOTION_PROFILES: Dict[str, Dict[str, float]] = {
    # High arousal, pressed loud voice: raised F0, flatter spectral tilt, faster.
    "angry": dict(f0_st=4.0, range_log=_L(1.4), slope_st=-1.0, tempo_log=_L(1.15), loud_db=8.0,
                  open_quotient=-0.15, tilt=-0.3, breath=-0.02, jitter_log=_L(1.3),
                  shimmer_log=_L(1.3), formant_shift=0.02, f1_raise=0.08, pause_log=_L(0.7)),
    # Low, narrow, slow, soft and breathy.
    "sad": dict(f0_st=-3.0, range_log=_L(0.5), slope_st=-1.0, tempo_log=_L(0.72), loud_db=-7.0,
                open_quotient=0.12, tilt=0.22, breath=0.10, jitter_log=_L(1.4),
                shimmer_log=_L(1.3), creak=0.1, formant_shift=-0.03, f1_raise=-0.04,
                pause_log=_L(1.7)),
    # High F0 with a wide range; smiling raises formants.
    "happy": dict(f0_st=5.0, range_log=_L(1.7), final_rise_st=1.0, tempo_log=_L(1.08),
                  loud_db=4.0, open_quotient=-0.05, tilt=-0.12, breath=0.01, formant_shift=0.05,
                  f1_raise=0.03, pause_log=_L(0.9)),
    # Rising contour, wide range.
    "surprise": dict(f0_st=4.5, range_log=_L(1.6), slope_st=2.0, final_rise_st=7.0,
                     tempo_log=_L(1.02), loud_db=3.0, open_quotient=-0.04, tilt=-0.1,
                     formant_shift=0.02, f1_raise=0.06),
    # High, jittery, tremulous and fast.
    "fear": dict(f0_st=6.0, final_rise_st=1.0, tempo_log=_L(1.25), loud_db=0.5,
                 open_quotient=0.06, breath=0.07, jitter_log=_L(3.0), shimmer_log=_L(2.0),
                 tremor=1.0, pause_log=_L(0.8)),
    # Low, slow and creaky.
    "disgust": dict(f0_st=-2.5, range_log=_L(0.8), slope_st=-2.0, tempo_log=_L(0.8),
                    open_quotient=-0.08, tilt=0.05, creak=0.6, jitter_log=_L(2.0),
                    shimmer_log=_L(1.6), formant_shift=-0.02, f1_raise=-0.03,
                    pause_log=_L(1.4)),
    # Low arousal with a strongly falling contour.
    "contempt": dict(f0_st=-1.5, range_log=_L(0.9), slope_st=-5.0, final_rise_st=-2.0,
                     tempo_log=_L(0.88), loud_db=-2.0, open_quotient=-0.02, tilt=0.08,
                     creak=0.25, jitter_log=_L(1.2), pause_log=_L(1.3)),
    "neutral": {},
}

# Latent (arousal, valence, dominance) of each prototype, in [-1, 1].
EMOTION_DIMENSIONS: Dict[str, Tuple[float, float, float]] = {
    "angry": (0.8, -0.7, 0.7),
    "sad": (-0.6, -0.7, -0.5),
    "happy": (0.6, 0.8, 0.4),
    "surprise": (0.7, 0.2, 0.0),
    "fear": (0.7, -0.65, -0.6),
    "disgust": (-0.1, -0.6, 0.3),
    "contempt": (-0.3, -0.45, 0.6),
    "neutral": (0.0, 0.0, 0.0),
}

# Effect of one unit of (arousal, valence, dominance) on each parameter.
DIMENSION_EFFECTS: Dict[str, Tuple[float, float, float]] = {
    "f0_st": (4.0, 1.0, 0.0),
    "loud_db": (7.0, 0.5, 1.5),
    "tempo_log": (0.2, 0.0, 0.0),
    "range_log": (0.3, 0.25, 0.0),
    "tilt": (-0.25, -0.05, 0.0),
    "open_quotient": (-0.1, 0.0, -0.03),
    "breath": (-0.03, 0.0, -0.02),
    "formant_shift": (0.0, 0.03, 0.0),
    "f1_raise": (0.05, 0.0, 0.0),
    "slope_st": (0.0, 1.0, -1.0),
}

# Emotions that plausibly blend with each dominant one (relative weights).
BLEND_PARTNERS: Dict[str, Dict[str, float]] = {
    "angry": {"disgust": 3, "contempt": 2, "fear": 1, "sad": 1, "surprise": 1},
    "sad": {"neutral": 3, "fear": 2, "disgust": 1, "contempt": 1, "angry": 1},
    "happy": {"surprise": 3, "neutral": 2, "angry": 0.5},
    "surprise": {"happy": 3, "fear": 2, "angry": 1, "neutral": 1},
    "fear": {"surprise": 3, "sad": 2, "angry": 1},
    "disgust": {"angry": 3, "contempt": 3, "sad": 1},
    "contempt": {"disgust": 3, "angry": 2, "neutral": 2},
    "neutral": {"sad": 2, "happy": 2, "contempt": 1, "angry": 1, "surprise": 1},
}


@dataclasses.dataclass(frozen=True)
class Speaker:
    """A simulated speaker.

    Attributes:
      short_id: ``S01F`` style id used in file names.
      speaker_id: Corpus-prefixed id (``synthetic:S01F``).
      session: Session index (1..5).
      gender: ``female`` or ``male``.
      voice: The speaker's voice parameters.
    """

    short_id: str
    speaker_id: str
    session: int
    gender: str
    voice: voice_lib.Voice

    @property
    def session_id(self) -> str:
        return f"Ses{self.session}"


@dataclasses.dataclass(frozen=True)
class LatentState:
    """What an utterance expresses (the simulated truth).

    Attributes:
      mixture: Emotion -> weight (weights > 0, summing to 1), dominant first.
      intensity: Expression intensity in (0, 1].
      dims: Latent arousal, valence, dominance in [-1, 1].
    """

    mixture: Mapping[str, float]
    intensity: float
    dims: Tuple[float, float, float]

    @property
    def dominant(self) -> str:
        return max(self.mixture, key=self.mixture.get)

    def vector(self) -> np.ndarray:
        """Mixture weights in :data:`EMOTIONS` order."""
        return np.array([self.mixture.get(e, 0.0) for e in EMOTIONS])


def make_speakers(rng: np.random.Generator) -> List[Speaker]:
    """Ten speakers: sessions 1..5, one female and one male each (S01F, S01M, ...)."""
    speakers = []
    for session in range(1, 6):
        for gender in ("female", "male"):
            female = gender == "female"
            voice = voice_lib.Voice(
                f0_hz=float(rng.uniform(185, 235) if female else rng.uniform(95, 135)),
                vtl_scale=float(rng.uniform(1.12, 1.22) if female else rng.uniform(0.94, 1.04)),
                formant_idio=tuple(float(v) for v in rng.normal(1.0, 0.025, 5)),
                open_quotient=float(rng.uniform(0.55, 0.68) if female else rng.uniform(0.48, 0.62)),
                breath=float(rng.uniform(0.03, 0.09) if female else rng.uniform(0.01, 0.06)),
                jitter=float(rng.uniform(0.004, 0.010)),
                shimmer=float(rng.uniform(0.03, 0.07)),
                tilt=float(rng.uniform(0.5, 0.75)),
                rate_syl_s=float(rng.uniform(4.0, 5.2)),
                loud_db=float(rng.normal(0.0, 1.5)),
                range_st=float(rng.uniform(2.0, 3.5)),
                creak=float(rng.uniform(0.0, 0.05) if female else rng.uniform(0.02, 0.12)),
            )
            short = f"S{session:02d}{'F' if female else 'M'}"
            speakers.append(Speaker(short, f"{config_lib.CORPUS}:{short}", session, gender, voice))
    return speakers


def sample_latent(rng: np.random.Generator, dominant: str, cfg: config_lib.SynthConfig
                  ) -> LatentState:
    """Draws the mixture, intensity and latent dimensions of one utterance."""
    mixture = {dominant: 1.0}
    if rng.random() < cfg.blend_probability:
        partners = BLEND_PARTNERS[dominant]
        names = sorted(partners)
        weights = np.array([partners[n] for n in names], dtype=float)
        partner = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        weight = round(float(rng.uniform(*cfg.blend_weight_range)), 4)
        mixture = {dominant: round(1.0 - weight, 4), partner: weight}
    intensity = round(float(rng.uniform(*cfg.intensity_range)), 4)
    mean = intensity * sum(w * np.array(EMOTION_DIMENSIONS[e]) for e, w in mixture.items())
    dims = np.clip(mean + rng.normal(0.0, cfg.latent_noise, 3), -1.0, 1.0)
    return LatentState(mixture, intensity, tuple(round(float(d), 4) for d in dims))


def expression_parameters(state: LatentState) -> Dict[str, float]:
    """Emotion-driven deviations from the speaker's neutral voice (see module doc)."""
    params = dict.fromkeys(PARAMETERS, 0.0)
    implied = np.zeros(3)
    for emotion, weight in state.mixture.items():
        for name, value in EMOTION_PROFILES[emotion].items():
            params[name] += state.intensity * weight * value
        implied += state.intensity * weight * np.array(EMOTION_DIMENSIONS[emotion])
    residual = np.asarray(state.dims) - implied
    for name, coefs in DIMENSION_EFFECTS.items():
        params[name] += float(np.dot(coefs, residual))
    return params


def dimension_parameters(arousal: np.ndarray, valence: np.ndarray, gain: float = 1.3
                         ) -> Dict[str, np.ndarray]:
    """Deviations driven by arousal and valence only (continuous recordings).

    ``gain`` > 1 because the continuous traces rarely reach the prototypes'
    extremes, and prosody should still follow them audibly.
    """
    arousal = np.asarray(arousal, dtype=float)
    valence = np.asarray(valence, dtype=float)
    params = {name: np.zeros_like(arousal) for name in PARAMETERS}
    for name, (a, v, _) in DIMENSION_EFFECTS.items():
        params[name] = gain * (a * arousal + v * valence)
    return params


def _timeline(rng: np.random.Generator, phrases: Sequence[Tuple[float, float]],
              rate_at: Callable[[float], float], pause_at: Callable[[float], float]):
    """Syllable timing inside each speech phrase: lists of per-syllable values."""
    rows = []
    for phrase_index, (start, end) in enumerate(phrases):
        t = start
        first = len(rows)
        while True:
            stressed = rng.random() < 0.4
            duration = rng.uniform(0.8, 1.25) / rate_at(t) * (1.2 if stressed else 1.0)
            has_consonant = rng.random() < 0.72
            kind = int(rng.choice([1, 2, 3, 4], p=[0.25, 0.15, 0.2, 0.4])) if has_consonant else 0
            cons = duration * rng.uniform(0.25, 0.4) if has_consonant else 0.0
            if t + duration > end:
                if len(rows) == first:
                    # A phrase always has a syllable: squeeze one into what is left.
                    duration = end - t
                    cons = min(cons, 0.3 * duration)
                    kind = kind if cons > 0.01 else 0
                    cons = cons if kind else 0.0
                else:
                    break
            rows.append((t, kind, t + cons, t + duration, stressed, phrase_index))
            t += duration
            if rng.random() < 0.12:
                t += rng.uniform(0.06, 0.22) * pause_at(t)
            if t >= end:
                break
    return rows


def build_plan(rng: np.random.Generator, speaker: Speaker, duration_s: float,
               phrases: Sequence[Tuple[float, float]],
               params_at: Callable[[np.ndarray], Mapping[str, np.ndarray]]) -> voice_lib.Plan:
    """Lays out syllables in ``phrases`` with prosody from ``params_at(times)``.

    Args:
      rng: Random generator for timing, vowels and accents.
      speaker: Who speaks.
      duration_s: Recording length.
      phrases: Speech intervals (start, end) in seconds, increasing.
      params_at: Maps an array of times to expression parameters (name -> array of
        the same length), added to the speaker's habits.

    Returns:
      The synthesis plan.
    """
    v = speaker.voice

    def scalar(name, t):
        return float(params_at(np.array([t]))[name][0])

    rows = _timeline(
        rng, phrases,
        rate_at=lambda t: v.rate_syl_s * np.exp(scalar("tempo_log", t)),
        pause_at=lambda t: np.exp(scalar("pause_log", t)))
    onset, kind, v_start, v_end, stressed, phrase = (np.array(c) for c in zip(*rows))
    stressed = stressed.astype(float)
    count = len(onset)
    centers = 0.5 * (v_start + v_end)
    p = params_at(centers)

    # Position of each syllable inside its phrase (0..1) and phrase-final marks.
    rel = np.zeros(count)
    last = np.zeros(count)
    for index in np.unique(phrase):
        members = np.flatnonzero(phrase == index)
        rel[members] = np.linspace(0.0, 1.0, len(members)) if len(members) > 1 else 1.0
        last[members[-1]] = 1.0
        if len(members) > 1:
            last[members[-2]] = 0.4

    accent = (stressed - 0.4) + 0.45 * rng.standard_normal(count)
    f0_st = (p["f0_st"] + v.range_st * np.exp(p["range_log"]) * accent
             + p["slope_st"] * (rel - 0.5) - 1.5 * rel  # declination
             + p["final_rise_st"] * last)
    loud_db = (v.loud_db + p["loud_db"] + 2.5 * (stressed - 0.4) - 2.0 * rel
               + rng.normal(0.0, 1.0, count))
    vowels = np.empty(count, dtype=np.int64)
    previous = -1
    for i in range(count):
        # No vowel twice in a row, so formants always move between syllables.
        choice = int(rng.integers(0, len(voice_lib.VOWEL_NAMES) - 1))
        vowels[i] = choice + (choice >= previous) if previous >= 0 else choice
        previous = vowels[i]
    return voice_lib.Plan(
        duration_s=float(duration_s),
        cons_start=onset.astype(float),
        cons_kind=kind.astype(np.int64),
        vowel_start=v_start.astype(float),
        vowel_end=v_end.astype(float),
        vowel=vowels,
        f0_st=f0_st,
        loud_db=loud_db,
        open_quotient=v.open_quotient + p["open_quotient"],
        tilt=v.tilt + p["tilt"],
        breath=np.clip(v.breath + p["breath"], 0.0, None),
        jitter=v.jitter * np.exp(p["jitter_log"]),
        shimmer=v.shimmer * np.exp(p["shimmer_log"]),
        creak=np.clip(v.creak + p["creak"], 0.0, 1.0),
        tremor=np.clip(p["tremor"], 0.0, None),
        formant_shift=p["formant_shift"],
        f1_raise=p["f1_raise"],
    )


def utterance_plan(rng: np.random.Generator, speaker: Speaker, state: LatentState,
                   duration_s: float) -> voice_lib.Plan:
    """The plan of one categorical utterance: a single phrase with fixed expression."""
    params = expression_parameters(state)

    def params_at(times):
        return {k: np.full(len(times), val) for k, val in params.items()}

    lead = float(rng.uniform(0.06, 0.15))
    return build_plan(rng, speaker, duration_s, [(lead, duration_s - 0.06)], params_at)
