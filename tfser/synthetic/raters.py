"""Simulated raters: personal confusions, reliability and leniency.

Every rater perceives an utterance's latent mixture through a personal confusion
matrix (shared confusions such as angry/disgust or happy/surprise, plus one or two
pairs the rater personally mixes up), with a clarity that grows with the rater's
reliability and the expression's intensity; what is not perceived clearly falls
back to a neutral-leaning guess. Each rater also has an "other" habit, a secondary
vocabulary habit, and on the 1..7 scales a leniency (offset), a scale (how
extreme) and noise. For continuous traces a rater has a reaction delay, a
smoothing time constant, a gain, a bias and noise.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import signal

from tfser.synthetic import config as config_lib

EMOTIONS = config_lib.EMOTIONS
_INDEX = {e: i for i, e in enumerate(EMOTIONS)}

# Confusions every listener makes (row: expressed, columns: relative weights).
_SHARED_CONFUSIONS: Dict[str, Dict[str, float]] = {
    "angry": {"disgust": 0.4, "contempt": 0.2, "fear": 0.1, "surprise": 0.1, "neutral": 0.2},
    "sad": {"neutral": 0.45, "fear": 0.2, "contempt": 0.1, "disgust": 0.1, "angry": 0.05},
    "happy": {"surprise": 0.5, "neutral": 0.35, "angry": 0.05},
    "surprise": {"happy": 0.4, "fear": 0.3, "neutral": 0.2, "angry": 0.1},
    "fear": {"surprise": 0.35, "sad": 0.25, "angry": 0.15, "neutral": 0.15},
    "disgust": {"angry": 0.3, "contempt": 0.35, "sad": 0.1, "neutral": 0.2},
    "contempt": {"disgust": 0.35, "neutral": 0.35, "angry": 0.15, "sad": 0.1},
    "neutral": {"sad": 0.3, "contempt": 0.2, "happy": 0.2, "surprise": 0.1, "angry": 0.1},
}
# Pairs a rater may personally tend to confuse (both directions).
_PERSONAL_PAIRS: Tuple[Tuple[str, str], ...] = (
    ("angry", "disgust"), ("happy", "surprise"), ("fear", "surprise"), ("sad", "neutral"),
    ("contempt", "neutral"), ("contempt", "disgust"), ("angry", "contempt"), ("fear", "sad"))
# Secondary (extended) labels a rater reaches for, given the chosen primary.
RELATED_SECONDARY: Dict[str, Tuple[str, ...]] = {
    "angry": ("annoyed", "frustrated", "disgust"),
    "sad": ("depressed", "disappointed", "concerned"),
    "happy": ("amused", "excited", "surprise"),
    "surprise": ("excited", "confused", "amused"),
    "fear": ("concerned", "confused", "surprise"),
    "disgust": ("annoyed", "contempt", "angry"),
    "contempt": ("annoyed", "disgust", "disappointed"),
    "neutral": ("concerned", "confused"),
    "other": ("confused", "concerned"),
}


def _neighbour_matrix(extra: Sequence[Tuple[str, str, float]] = ()) -> np.ndarray:
    matrix = np.zeros((len(EMOTIONS), len(EMOTIONS)))
    for source, targets in _SHARED_CONFUSIONS.items():
        for target, weight in targets.items():
            matrix[_INDEX[source], _INDEX[target]] += weight
    for a, b, strength in extra:
        matrix[_INDEX[a], _INDEX[b]] += strength
        matrix[_INDEX[b], _INDEX[a]] += strength
    return matrix / matrix.sum(axis=1, keepdims=True)


@dataclasses.dataclass(frozen=True)
class Rater:
    """One simulated rater.

    Attributes:
      rater_id: ``synthetic:R01`` style id.
      reliability: 0..1; how much of the expressed emotion the rater perceives.
      confusion_strength: Share of perceived mass that leaks to neighbours.
      tendencies: Personal confusion pairs with their strength.
      neutral_bias: Weight of "neutral" in the rater's fallback guess.
      other_rate: Probability of answering "other".
      secondary_rate: Mean number of secondary labels per rating.
      workload: Relative share of utterances the rater is assigned.
      dim_bias: Leniency on arousal, valence, dominance (latent units).
      dim_scale: Gain on the latent dimensions (< 1 compresses towards the middle).
      dim_noise: Std of the rater's dimensional noise (latent units).
      delay_s: Reaction delay of the rater's traces.
      smooth_s: Time constant of the rater's trace smoothing.
      trace_gain: Gain on the latent trace.
      trace_bias: Offset of the rater's traces.
      trace_noise: Std of the slowly varying trace noise.
    """

    rater_id: str
    reliability: float
    confusion_strength: float
    tendencies: Tuple[Tuple[str, str, float], ...]
    neutral_bias: float
    other_rate: float
    secondary_rate: float
    workload: float
    dim_bias: Tuple[float, float, float]
    dim_scale: float
    dim_noise: float
    delay_s: float
    smooth_s: float
    trace_gain: float
    trace_bias: float
    trace_noise: float

    def confusion(self) -> np.ndarray:
        """Row-stochastic perceived-given-expressed matrix over :data:`EMOTIONS`."""
        eye = np.eye(len(EMOTIONS))
        return ((1.0 - self.confusion_strength) * eye
                + self.confusion_strength * _neighbour_matrix(self.tendencies))


def make_raters(rng: np.random.Generator, cfg: config_lib.SynthConfig) -> List[Rater]:
    """Draws the rater pool ``synthetic:R01`` ... ``synthetic:R{n}`` (ids padded to the
    width of ``n``, at least two digits, so that they sort in pool order)."""
    raters = []
    width = max(2, len(str(cfg.n_raters)))
    for i in range(cfg.n_raters):
        picks = rng.choice(len(_PERSONAL_PAIRS), size=int(rng.integers(1, 3)), replace=False)
        tendencies = tuple((*_PERSONAL_PAIRS[int(p)], round(float(rng.uniform(0.3, 0.8)), 3))
                           for p in sorted(picks))
        raters.append(Rater(
            rater_id=f"{config_lib.CORPUS}:R{i + 1:0{width}d}",
            reliability=float(rng.uniform(0.72, 0.97)),
            confusion_strength=float(rng.uniform(0.08, 0.22)),
            tendencies=tendencies,
            neutral_bias=float(rng.uniform(0.2, 0.6)),
            other_rate=float(rng.uniform(0.01, 0.05)),
            secondary_rate=float(rng.uniform(0.6, 1.4)),
            workload=float(rng.uniform(0.6, 1.4)),
            dim_bias=tuple(float(b) for b in rng.normal(0.0, 0.12, 3)),
            dim_scale=float(rng.uniform(0.7, 1.15)),
            dim_noise=float(rng.uniform(0.12, 0.3)),
            delay_s=float(rng.uniform(*cfg.rater_delay_range)),
            smooth_s=float(rng.uniform(0.3, 1.2)),
            trace_gain=float(rng.uniform(0.7, 1.1)),
            trace_bias=float(rng.normal(0.0, 0.08)),
            trace_noise=float(rng.uniform(0.04, 0.1)),
        ))
    return raters


@dataclasses.dataclass(frozen=True)
class Judgement:
    """One rater's answer for one utterance (becomes a ``Rating`` record)."""

    rater_id: str
    primary: str
    secondary: Tuple[str, ...]
    dims: Dict[str, float]


def choose_raters(rng: np.random.Generator, raters: Sequence[Rater],
                  count_range: Tuple[int, int]) -> List[Rater]:
    """A workload-weighted subset of ``count_range`` raters, in pool order."""
    count = int(rng.integers(count_range[0], count_range[1] + 1))
    weights = np.array([r.workload for r in raters])
    chosen = rng.choice(len(raters), size=count, replace=False, p=weights / weights.sum())
    return [raters[i] for i in sorted(chosen)]


def judge(rng: np.random.Generator, rater: Rater, mixture: np.ndarray, intensity: float,
          dims: Sequence[float]) -> Judgement:
    """One rater's primary, secondary and 1..7 dimensional answers.

    Args:
      rng: Random generator.
      rater: Who rates.
      mixture: Latent mixture weights in :data:`EMOTIONS` order.
      intensity: Expression intensity (0..1].
      dims: Latent arousal, valence, dominance in [-1, 1].
    """
    confusion = rater.confusion()
    perceived = mixture @ confusion
    clarity = rater.reliability * (0.55 + 0.45 * intensity)
    # Unclear expressions are guessed: neutral-leaning, else a neighbour of the truth.
    fallback = (rater.neutral_bias * np.eye(len(EMOTIONS))[_INDEX["neutral"]]
                + (1.0 - rater.neutral_bias) * 0.5
                * (mixture + mixture @ _neighbour_matrix(rater.tendencies)))
    probs = clarity * perceived + (1.0 - clarity) * fallback
    blended = np.count_nonzero(mixture) > 1
    other = rater.other_rate * (2.0 if blended else 1.0)
    probs = np.append((1.0 - other) * probs / probs.sum(), other)
    names = EMOTIONS + (config_lib.OTHER,)
    primary = names[int(rng.choice(len(names), p=probs))]

    candidates = list(RELATED_SECONDARY[primary])
    if blended:
        # The blended emotion is a natural secondary pick.
        for emotion in (EMOTIONS[i] for i in np.argsort(-mixture)[:2]):
            if emotion != primary and emotion not in candidates and rng.random() < 0.6:
                candidates.insert(0, emotion)
    count = min(len(candidates), int(rng.poisson(rater.secondary_rate * 0.7)))
    secondary: Tuple[str, ...] = ()
    if count:
        weights = np.linspace(1.0, 0.4, len(candidates))
        picks = rng.choice(len(candidates), size=count, replace=False, p=weights / weights.sum())
        secondary = tuple(candidates[i] for i in sorted(picks))

    values = {}
    for k, name in enumerate(config_lib.LATENT_DIMENSIONS):
        latent = rater.dim_scale * dims[k] + rater.dim_bias[k] + rater.dim_noise * rng.normal()
        values[name] = float(np.clip(np.round(4.0 + 3.0 * latent), 1.0, 7.0))
    return Judgement(rater.rater_id, primary, secondary, values)


def rater_trace(rng: np.random.Generator, rater: Rater, latent: np.ndarray,
                rate_hz: float) -> np.ndarray:
    """A rater's continuous trace of one latent attribute (values in [-1, 1]).

    The rater follows the latent trace late (reaction delay, repeated first value
    at the start), smoothly (one-pole low-pass), with a personal gain and bias and
    slowly wandering noise.
    """
    frames = len(latent)
    shift = int(round(rater.delay_s * rate_hz))
    delayed = np.concatenate([np.full(min(shift, frames), latent[0]), latent[:frames - shift]])
    pole = float(np.exp(-1.0 / (rater.smooth_s * rate_hz)))
    smoothed = signal.lfilter([1.0 - pole], [1.0, -pole], delayed - delayed[0]) + delayed[0]
    wander = signal.lfilter([1.0 - 0.9], [1.0, -0.9], rng.standard_normal(frames))
    wander *= rater.trace_noise / max(1e-9, float(np.std(wander)) if frames > 1 else 1.0)
    trace = rater.trace_gain * smoothed + rater.trace_bias + wander
    trace += 0.02 * rng.standard_normal(frames)
    return np.clip(trace, -1.0, 1.0).astype(np.float32)


def plurality(primaries: Sequence[str]) -> Optional[str]:
    """The single most chosen of the eight emotions, or None on a tie or no vote."""
    counts = np.array([sum(p == e for p in primaries) for e in EMOTIONS])
    if counts.max() == 0 or np.count_nonzero(counts == counts.max()) > 1:
        return None
    return EMOTIONS[int(np.argmax(counts))]


def fleiss_kappa(votes: np.ndarray) -> float:
    """Fleiss' kappa of a [items, categories] vote-count matrix (rater counts may vary).

    Items with fewer than two votes are ignored.
    """
    votes = np.asarray(votes, dtype=float)
    totals = votes.sum(axis=1)
    keep = totals >= 2
    votes, totals = votes[keep], totals[keep]
    if not len(votes):
        raise ValueError("fleiss_kappa needs at least one item with two votes")
    agreement = ((votes * (votes - 1)).sum(axis=1) / (totals * (totals - 1))).mean()
    share = votes.sum(axis=0) / totals.sum()
    chance = float((share ** 2).sum())
    return float((agreement - chance) / (1.0 - chance))
