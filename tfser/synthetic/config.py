"""Sizes, vocabularies and knobs of the synthetic corpus.

Everything the generator can be asked to vary lives in :class:`SynthConfig`; the
acoustic model's fixed tables (vowel formants, emotion profiles) live next to the
code that uses them.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

from tfser.annotations import vocabulary

CORPUS = "synthetic"

# Paper 000's eight primary categories, in its order.
EMOTIONS: Tuple[str, ...] = (
    vocabulary.ANGRY, vocabulary.SAD, vocabulary.HAPPY, vocabulary.SURPRISE, vocabulary.FEAR,
    vocabulary.DISGUST, vocabulary.CONTEMPT, vocabulary.NEUTRAL)
# A legal primary choice that label views exclude by policy.
OTHER = vocabulary.OTHER
CATEGORIES: Tuple[str, ...] = EMOTIONS + (OTHER,)
SECONDARY_CATEGORIES: Tuple[str, ...] = tuple(vocabulary.SECONDARY_EXTRA)
# Categorical-rating dimensions, rated on an integer 1..7 scale. Alphabetical,
# because meta.json is written with sorted keys and a table must equal itself
# after a save/load round trip.
DIMENSIONS: Tuple[str, ...] = ("arousal", "dominance", "valence")
# Order of the latent (arousal, valence, dominance) triples used inside the simulation.
LATENT_DIMENSIONS: Tuple[str, ...] = ("arousal", "valence", "dominance")
DIMENSION_SCALE = (1.0, 7.0)
# Attributes of the continuous (SEWA-like) traces, each in [-1, 1].
TRACE_ATTRIBUTES: Tuple[str, ...] = ("arousal", "valence", "liking")
# Facial action units of the synthetic visual stream (intensities 0..5).
AU_NAMES: Tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU09", "AU12", "AU15", "AU25", "AU26")

SIZES = ("small", "default", "crowd", "large")
# The scale test of issue 15: ~20,000 utterances (~20 h of audio), the default
# durations and rater pool; generation streams every file to disk as it is made.
LARGE_UTTERANCES = 20000
# A CREMA-D-like crowd: many raters, each rating a few dozen utterances (~30 on the
# default corpus: 600 utterances x 20-30 raters / 500), instead of ten raters rating
# most of the corpus. Combine with any size: ``SynthConfig.for_size("small", **CROWD)``.
CROWD = {"n_raters": 500, "raters_per_utterance": (20, 30)}


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """Sizes and simulation parameters of one synthetic corpus.

    The speaker layout is fixed (5 sessions, one female and one male speaker each,
    like IEMOCAP); everything else can be changed.

    Attributes:
      n_utterances: Number of categorical (rated) utterances.
      duration_range: Min and max duration in seconds of a categorical utterance.
      n_continuous: Number of long continuous recordings (SEWA-like).
      continuous_duration_range: Min and max duration in seconds of a recording.
      n_raters: Size of the simulated rater pool.
      raters_per_utterance: Min and max number of raters of one utterance.
      raters_per_recording: Number of raters tracing one continuous recording.
      class_weights: Relative frequency of each dominant emotion, in
        :data:`EMOTIONS` order (neutral most frequent; fear, disgust, contempt rare).
      min_per_class: Lower bound on utterances per dominant emotion, so that
        every class occurs even in the small corpus.
      blend_probability: Probability that an utterance blends a second emotion.
      blend_weight_range: Range of the second emotion's mixture weight.
      intensity_range: Range of the expression intensity (0 = neutral voice,
        1 = full prototype); weak expressions are what raters disagree on.
      latent_noise: Std of the noise added to the mixture's arousal, valence and
        dominance to get the utterance's latent dimensions.
      rater_delay_range: Range of the raters' reaction delays on traces (seconds).
      sample_rate: Audio sample rate (Hz).
      trace_rate_hz: Frame rate of traces and of the action-unit stream.
      sessions_per_split: Official split of each session index (1-based).
      workers: Processes used to synthesise audio (1 = in-process). The output
        does not depend on it. Workers are spawned, so a calling script needs the
        usual ``if __name__ == "__main__":`` guard.
    """

    n_utterances: int = 600
    duration_range: Tuple[float, float] = (1.5, 6.0)
    n_continuous: int = 10
    continuous_duration_range: Tuple[float, float] = (20.0, 60.0)
    n_raters: int = 10
    raters_per_utterance: Tuple[int, int] = (5, 7)
    raters_per_recording: int = 6
    class_weights: Tuple[float, ...] = (0.14, 0.14, 0.16, 0.10, 0.05, 0.06, 0.05, 0.30)
    min_per_class: int = 5
    blend_probability: float = 0.3
    blend_weight_range: Tuple[float, float] = (0.2, 0.45)
    intensity_range: Tuple[float, float] = (0.45, 1.0)
    latent_noise: float = 0.12
    rater_delay_range: Tuple[float, float] = (1.0, 3.0)
    sample_rate: int = 16000
    trace_rate_hz: float = 10.0
    sessions_per_split: Dict[int, str] = dataclasses.field(
        default_factory=lambda: {1: "train", 2: "train", 3: "train", 4: "dev", 5: "test"})
    workers: int = 1

    @classmethod
    def for_size(cls, size: str, **overrides) -> "SynthConfig":
        """The configuration of a named size.

        Args:
          size: ``default`` (~600 utterances of 1.5-6 s and 10 recordings of
            20-60 s), ``small`` (~80 utterances of 1-2.5 s and 3 recordings of
            ~20 s, for tests) or ``crowd`` (the default corpus rated by a crowd:
            :data:`CROWD`, 500 raters with ~30 ratings each) or ``large``
            (:data:`LARGE_UTTERANCES` utterances of 1.5-6 s, ~20 h, and the default
            10 recordings; for scale benchmarks).
          **overrides: Fields to change on top of the named size.

        Raises:
          ValueError: Unknown size or field.
        """
        if size == "default":
            base = {}
        elif size == "crowd":
            base = dict(CROWD)
        elif size == "large":
            base = {"n_utterances": LARGE_UTTERANCES}
        elif size == "small":
            base = dict(n_utterances=80, duration_range=(1.0, 2.5), n_continuous=3,
                        continuous_duration_range=(18.0, 22.0))
        else:
            raise ValueError(f"unknown synthetic corpus size '{size}'; choose one of {SIZES}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown SynthConfig fields {sorted(unknown)}")
        base.update(overrides)
        return cls(**base)

    def check(self) -> None:
        """Raises ValueError listing every inconsistent setting."""
        problems = []
        if self.n_utterances < len(EMOTIONS) * self.min_per_class:
            problems.append(f"n_utterances={self.n_utterances} is below "
                            f"{len(EMOTIONS)} classes x min_per_class={self.min_per_class}")
        if len(self.class_weights) != len(EMOTIONS) or min(self.class_weights) <= 0:
            problems.append(f"class_weights needs {len(EMOTIONS)} positive values")
        lo, hi = self.duration_range
        if not 0.5 <= lo <= hi:
            problems.append(f"duration_range {self.duration_range} must satisfy 0.5 <= min <= max")
        clo, chi = self.continuous_duration_range
        if self.n_continuous and not 5.0 <= clo <= chi:
            problems.append(f"continuous_duration_range {self.continuous_duration_range} must "
                            "satisfy 5 <= min <= max")
        rlo, rhi = self.raters_per_utterance
        if not 1 <= rlo <= rhi <= self.n_raters:
            problems.append(f"raters_per_utterance {self.raters_per_utterance} must lie within "
                            f"1..n_raters={self.n_raters}")
        if self.n_continuous and not 1 <= self.raters_per_recording <= self.n_raters:
            problems.append(f"raters_per_recording={self.raters_per_recording} must lie within "
                            f"1..n_raters={self.n_raters}")
        if not 0 <= self.blend_probability <= 1:
            problems.append("blend_probability must be in [0, 1]")
        if not 0 < self.blend_weight_range[0] <= self.blend_weight_range[1] < 0.5:
            problems.append("blend_weight_range must lie in (0, 0.5) so the dominant emotion "
                            "stays dominant")
        if not 0 < self.intensity_range[0] <= self.intensity_range[1] <= 1:
            problems.append("intensity_range must lie in (0, 1]")
        if self.sample_rate < 8000:
            problems.append("sample_rate must be at least 8000 Hz")
        if set(self.sessions_per_split) != {1, 2, 3, 4, 5} or not set(
                self.sessions_per_split.values()) <= {"train", "dev", "test"}:
            problems.append("sessions_per_split must map sessions 1..5 to train/dev/test")
        if self.workers < 1:
            problems.append("workers must be >= 1")
        if problems:
            raise ValueError("invalid SynthConfig:\n  " + "\n  ".join(problems))
