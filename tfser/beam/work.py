"""The pure core of featurization: one work item in, written examples or rejects out.

:func:`featurize_item` reads one utterance's audio, runs the feature extractors on it
(and on its speed-perturbed copies), attaches the labels and encodes each example with
:mod:`tfser.features.example_codec`. It never raises for bad *data*: every problem
becomes a :class:`Rejected` with a reason from :data:`REASONS`, so the Beam ``DoFn``
around it (:mod:`tfser.beam.transforms`) only routes outcomes. Programming errors
(a front-end returning the wrong shape) still raise and stop the run.

Checks, in order (cheapest first; a failing check rejects the original and every
augmented variant of the utterance, each counted in its own column):

1. no head has a label (``no label for any head``); partial labels are kept, masked;
2. the audio cannot be read (``unreadable audio``) or is empty / shorter than
   ``min_duration_s`` (``audio empty or too short``);
3. the audio checks of annotate's audio report (:func:`tfser.audio.audio_io.check_audio`:
   silence, clipping, longer than the export limit): with policy ``reject`` the
   utterance is rejected (``silent audio``, ``clipped audio``, ``audio too long``; the
   first problem is the reason, all of them the detail); with ``warn`` it is written
   and its problems travel with its summary, for the driver to count and log;
4. per variant: a front-end fails (``feature extraction failed``), returns NaN/inf
   (``NaN features``), a feature trace is missing (``missing feature trace``) or a
   continuous recording has no frames left to align (``no frames to align``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from tfser.beam import stats as stats_lib
from tfser.audio import audio_io
from tfser.features import augment
from tfser.features import example_codec
from tfser.beam import label_fields
from tfser.features import registry

ORIGINAL = "original"

NO_LABEL = "no label for any head"
UNREADABLE_AUDIO = "unreadable audio"
SHORT_AUDIO = "audio empty or too short"
FEATURE_ERROR = "feature extraction failed"
NAN_FEATURES = "NaN features"
MISSING_TRACE = "missing feature trace"
NO_FRAMES = "no frames to align"
SILENT_AUDIO = "silent audio"
CLIPPED_AUDIO = "clipped audio"
LONG_AUDIO = "audio too long"
# check_audio's problem kind -> reject reason (audio_checks policy ``reject``).
AUDIO_CHECK_REASONS = {audio_io.SILENT: SILENT_AUDIO, audio_io.CLIPPED: CLIPPED_AUDIO,
                       audio_io.TOO_LONG: LONG_AUDIO}
REASONS = (NO_LABEL, UNREADABLE_AUDIO, SHORT_AUDIO, FEATURE_ERROR, NAN_FEATURES, MISSING_TRACE,
           NO_FRAMES, SILENT_AUDIO, CLIPPED_AUDIO, LONG_AUDIO)
AUDIO_POLICY_OFF, AUDIO_POLICY_WARN, AUDIO_POLICY_REJECT = "off", "warn", "reject"
# AudioError problems that mean "nothing (or too little) to hear" rather than "broken".
_SHORT_MARKERS = ("holds no samples", "shorter than the minimum")


@dataclasses.dataclass(frozen=True)
class WorkItem:
    """Everything a worker needs for one utterance (built by the driver, picklable).

    Attributes:
      utt_id: Utterance id.
      speaker_id: Speaker id.
      session_id: Session id ('' when unknown).
      group: File-safe speaker name (shard group of the original examples).
      audio_path: Absolute audio path.
      start_s: Segment start in seconds, or None.
      end_s: Segment end in seconds, or None.
      labels: Head -> value of every derived view (weight 0 where unlabelled).
      speed_factors: Speed-perturbation factors to apply (only for utterances that are
        in TRAIN in at least one fold; empty otherwise).
      random_crops: Random segments of ``crop_seconds`` to write as extra examples
        (``crop1`` ..; only for TRAIN utterances longer than the segment; 0 otherwise).
      crop_seconds: Length of a random crop (paper 004: 4 s).
      stats_part: The utterance's part (``train``/``dev``/``test``) when the protocol's
        one fold shares speakers across parts: its moments are then kept apart, so that
        training statistics pool training utterances only; '' otherwise.
      trace_targets: [T, A] continuous targets, or None (continuous runs only).
      trace_features: Name -> [T, D] frame features stored with the table (003's
        action units); a configured name missing here rejects the recording.
    """

    utt_id: str
    speaker_id: str
    session_id: str
    group: str
    audio_path: str
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    labels: Mapping[str, example_codec.LabelValue] = dataclasses.field(default_factory=dict)
    speed_factors: Tuple[float, ...] = ()
    random_crops: int = 0
    crop_seconds: float = 0.0
    stats_part: str = ""
    trace_targets: Optional[np.ndarray] = None
    trace_features: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class WorkSettings:
    """Run-wide settings shipped to every worker.

    Attributes:
      definitions: Audio feature sets, in config order.
      trace_feature_specs: Specs of the table's frame-feature traces (continuous runs).
      label_specs: Every label head, including the trace head of continuous runs.
      sample_rate: Audio rate for the extractors.
      min_duration_s: Shorter audio is rejected.
      num_shards: Files per shard group.
      trace_head: Name of the sequence head, or None for utterance-level runs.
      trace_shift: Annotation-delay compensation in trace frames.
      audio_policy: ``off``, ``warn`` or ``reject`` (see the module docstring).
      audio_check_args: Keyword arguments of ``audio_io.check_audio`` (thresholds).
    """

    definitions: Tuple[registry.FeatureDefinition, ...]
    trace_feature_specs: Tuple[example_codec.FeatureSpec, ...] = ()
    label_specs: Tuple[example_codec.LabelFieldSpec, ...] = ()
    sample_rate: int = 16000
    min_duration_s: float = 0.0
    num_shards: int = 1
    trace_head: Optional[str] = None
    trace_shift: int = 0
    audio_policy: str = AUDIO_POLICY_OFF
    audio_check_args: Mapping[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Written:
    """One encoded example and what the driver needs to account for it."""

    utt_id: str
    speaker_id: str
    variant: str
    group: str
    shard: int
    serialized: bytes
    audio_s: float
    frames: Mapping[str, int]
    moments: Mapping[str, stats_lib.Moments]
    audio_problems: Tuple[str, ...] = ()

    def record(self) -> Dict[str, Any]:
        """JSON-ready summary (without the example bytes)."""
        return {"utt_id": self.utt_id, "speaker_id": self.speaker_id, "variant": self.variant,
                "group": self.group, "shard": self.shard, "audio_s": self.audio_s,
                "frames": dict(self.frames), "bytes": len(self.serialized),
                "audio_problems": list(self.audio_problems)}


@dataclasses.dataclass(frozen=True)
class Rejected:
    """An example that was not written, and why."""

    utt_id: str
    speaker_id: str
    variant: str
    reason: str
    detail: str = ""

    def record(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


Outcome = Union[Written, Rejected]


def variant_name(factor: float) -> str:
    """``0.9 -> "speed0.9"`` (the ``variant`` of speed-perturbed examples)."""
    return f"speed{factor:g}"


def variant_group(group: str, variant: str) -> str:
    """Shard group of a variant: the speaker's own group for originals."""
    return group if variant == ORIGINAL else f"{group}.{variant}"


def shard_of(utt_id: str, num_shards: int) -> int:
    """Stable shard index (the same on every worker, run and Python version)."""
    digest = hashlib.sha1(utt_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % num_shards


def crop_variant_name(index: int) -> str:
    """``1 -> "crop1"`` (the ``variant`` of the random crops of one utterance)."""
    return f"crop{index}"


def item_variants(item: WorkItem) -> List[str]:
    """Every example an utterance gives: the original, then its augmented copies."""
    return [variant for variant, _ in _variants(item)]


def _variants(item: WorkItem) -> List[Tuple[str, Optional[Tuple[str, float]]]]:
    """``(variant, (kind, parameter))``: speed factors, then crop indices."""
    return ([(ORIGINAL, None)] + [(variant_name(f), ("speed", f)) for f in item.speed_factors]
            + [(crop_variant_name(k), ("crop", k)) for k in range(1, item.random_crops + 1)])


def random_crop(waveform: np.ndarray, sample_rate: int, seconds: float, utt_id: str,
                index: int) -> np.ndarray:
    """A ``seconds``-long segment at a random offset, the same on every run and worker
    (the offset is drawn from a generator seeded by the utterance id and the index)."""
    length = int(round(seconds * sample_rate))
    if len(waveform) <= length:
        return waveform
    digest = hashlib.sha1(f"{utt_id}/crop{index}".encode("utf-8")).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    offset = int(rng.integers(0, len(waveform) - length + 1))
    return waveform[offset:offset + length]


def _augment(item: WorkItem, waveform: np.ndarray, sample_rate: int,
             transform: Optional[Tuple[str, float]]) -> np.ndarray:
    if transform is None:
        return waveform
    kind, parameter = transform
    if kind == "speed":
        return augment.speed_perturb(waveform, sample_rate, parameter)
    return random_crop(waveform, sample_rate, item.crop_seconds, item.utt_id, int(parameter))


def _reject_all(item: WorkItem, reason: str, detail: str) -> Iterator[Rejected]:
    for variant, _ in _variants(item):
        yield Rejected(item.utt_id, item.speaker_id, variant, reason, detail)


def _read(item: WorkItem, settings: WorkSettings):
    """The waveform, or a (reason, detail) pair."""
    try:
        waveform = audio_io.read_audio(item.audio_path, settings.sample_rate, item.start_s,
                                       item.end_s, min_duration_s=settings.min_duration_s,
                                       clip_fraction=None)
    except audio_io.AudioError as error:
        short = any(marker in error.problem for marker in _SHORT_MARKERS)
        return None, (SHORT_AUDIO if short else UNREADABLE_AUDIO, str(error))
    return waveform, None


def _audio_problems(item: WorkItem, settings: WorkSettings) -> Tuple[str, ...]:
    """Findings of the audio checks (empty when the policy is ``off``)."""
    if settings.audio_policy == AUDIO_POLICY_OFF:
        return ()
    return tuple(audio_io.check_audio(item.audio_path, start_s=item.start_s, end_s=item.end_s,
                                      **dict(settings.audio_check_args)))


def audio_check_reason(problem: str) -> str:
    """The reject reason of one ``check_audio`` finding (``silent: ...`` -> silent audio)."""
    return AUDIO_CHECK_REASONS.get(problem.split(":", 1)[0], UNREADABLE_AUDIO)


def _extract(extractors: Sequence[registry.FeatureExtractor], waveform: np.ndarray):
    """``(features, stats_frames, None)``, or ``(None, None, (reason, detail))``."""
    features, stats_frames = {}, {}
    for extractor in extractors:
        name = extractor.spec.name
        try:
            out = extractor.extract(waveform)
        except ValueError as error:
            text = str(error)
            reason = NAN_FEATURES if "nan" in text.lower() else FEATURE_ERROR
            return None, None, (reason, f"{name}: {text}")
        bad = int(out.values.size - np.count_nonzero(np.isfinite(out.values)))
        if bad:
            return None, None, (NAN_FEATURES, f"{name}: {bad} of {out.values.size} values "
                                              "are NaN or infinite")
        features[name] = out.values
        # None = the stored values themselves (after any alignment below).
        stats_frames[name] = out.stats_frames
    return features, stats_frames, None


def _continuous(item: WorkItem, settings: WorkSettings, features: Dict[str, np.ndarray]):
    """``(features, trace label or None, None)``, or ``(None, None, (reason, detail))``.

    Adds the table's feature traces, aligns every sequence with the targets.
    """
    for spec in settings.trace_feature_specs:
        if spec.name not in item.trace_features:
            return None, None, (MISSING_TRACE, f"no '{spec.name}' trace for {item.utt_id}")
        trace = np.asarray(item.trace_features[spec.name], np.float32)
        if not np.isfinite(trace).all():
            return None, None, (NAN_FEATURES, f"{spec.name}: the feature trace holds NaN or "
                                              "infinite values")
        features[spec.name] = trace
    if item.trace_targets is None:
        return features, None, None
    sequences = {k: v for k, v in features.items() if v.ndim == 2}
    try:
        aligned, targets = label_fields.align_sequences(sequences, item.trace_targets,
                                                        settings.trace_shift)
    except ValueError as error:
        return None, None, (NO_FRAMES, str(error))
    features.update(aligned)
    return features, example_codec.LabelValue(targets.astype(np.float32), 1.0), None


def featurize_item(item: WorkItem, extractors: Sequence[registry.FeatureExtractor],
                   settings: WorkSettings) -> Iterator[Outcome]:
    """Featurizes one utterance and its augmented variants.

    Args:
      item: The utterance.
      extractors: Built extractors, one per ``settings.definitions`` entry.
      settings: Run settings.

    Yields:
      One :class:`Written` or :class:`Rejected` per variant (the original first).
    """
    labels = dict(item.labels)
    if not label_fields.has_any_label(labels) and item.trace_targets is None:
        yield from _reject_all(item, NO_LABEL, "every head is unlabelled (weight 0)")
        return
    waveform, problem = _read(item, settings)
    if problem:
        yield from _reject_all(item, *problem)
        return
    audio_problems = _audio_problems(item, settings)
    if audio_problems and settings.audio_policy == AUDIO_POLICY_REJECT:
        yield from _reject_all(item, audio_check_reason(audio_problems[0]),
                               "; ".join(audio_problems))
        return
    specs = {spec.head: spec for spec in settings.label_specs}
    shard = shard_of(item.utt_id, settings.num_shards)
    for variant, transform in _variants(item):
        signal = _augment(item, waveform, settings.sample_rate, transform)
        features, stats_frames, problem = _extract(extractors, signal)
        if problem is None and settings.trace_head is not None:
            features, trace_label, problem = _continuous(item, settings, features)
            if problem is None and trace_label is not None:
                labels[settings.trace_head] = trace_label
        if problem:
            yield Rejected(item.utt_id, item.speaker_id, variant, *problem)
            continue
        moments = {}
        if variant == ORIGINAL:
            # Augmented copies never enter normalisation statistics.
            moments = {name: stats_lib.Moments.of(
                values if stats_frames.get(name) is None else stats_frames[name])
                for name, values in features.items()}
        group = variant_group(item.group, variant)
        meta = {"utt_id": item.utt_id, "speaker_id": item.speaker_id,
                "session_id": item.session_id, "group": group, "variant": variant}
        serialized = example_codec.encode_example(meta, features, labels, specs)
        yield Written(item.utt_id, item.speaker_id, variant, group, shard, serialized,
                      audio_s=len(signal) / float(settings.sample_rate),
                      frames={k: int(v.shape[0]) for k, v in features.items() if v.ndim == 2},
                      moments=moments, audio_problems=audio_problems)
