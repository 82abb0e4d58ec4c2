"""FeaturizeConfig: what one featurization run extracts, labels, splits and writes.

Resolved in a fixed order - dataclass defaults, then a YAML file
(``configs/featurize/*.yaml``), then ``key=value`` overrides - then validated and
frozen. Unknown keys, unknown feature-set names and bad values raise ``ValueError``
naming the key. Example::

    # tfser-featurize --config=configs/featurize/synthetic_000.yaml --table=... --out=...
    feature_sets: [egemaps_functionals]
    labels: {views: [{name: emotion, kind: hard}]}
    split: {protocol: official, params: {}}
    normalisation: global             # or {egemaps_functionals: global, ...}
    speed_perturb: []                 # e.g. [0.9, 1.1]: extra TRAIN examples (001)
    sample_rate: 16000
    min_duration_s: 0.1
    num_shards: 1                     # files per speaker (and per augmented variant)
    continuous: false                 # true: one example per traced recording (003)
    traces: {head: traces, attributes: [arousal, valence, liking], rater: consensus,
             rate_hz: 10.0, label_shift_s: 0.0, features: [au]}   # continuous only
    select: {extra: {dialog_kind: [impro]}, labelled_by: emotion}   # optional
    audio_checks: {policy: warn, silence_dbfs: -60.0, clip_fraction: 0.001,
                   max_duration_s: 600.0}   # policy: warn | reject | off
    clip_sigma: 6.0                   # normalised features clipped to +-6 sigma (0: off)

Overrides use dotted keys and YAML values, e.g. ``split.protocol=loso``,
``feature_sets=[egemaps_functionals]``, ``labels.views.0.params.a=0.75``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

from tfser.audio import audio_io
from tfser.config import checks
from tfser.config import overrides as overrides_lib
from tfser.beam import work
from tfser.beam import label_fields
from tfser.features import dataset_info as features_info
from tfser.features import registry
from tfser.features import spectrogram
from tfser.labels import LabelSpec

NORMALISATIONS = ("global", "per_speaker", "none")
DEFAULT_NORMALISATION = "global"


_check = checks.Checks("featurize config")


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """The evaluation protocol (``tfser.annotations.splits.build_split`` name and params)."""

    protocol: str = "loso"
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SplitConfig":
        _check.keys(data, ("protocol", "params"), "split")
        protocol = data.get("protocol", cls.protocol)
        if not isinstance(protocol, str) or not protocol:
            _check.fail("split.protocol", f"must be a protocol name, got {protocol!r}")
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            _check.fail("split.params", f"must be a mapping of the protocol's arguments, "
                                        f"got {params!r}")
        # The protocol's own function checks the parameter names when the split is built.
        return cls(protocol=protocol, params=dict(params))


@dataclasses.dataclass(frozen=True)
class TraceConfig:
    """Continuous-recording settings (used only with ``continuous: true``).

    Attributes:
      head: Name of the sequence label head.
      attributes: Label-trace attributes stacked as the head's columns.
      rater: Whose traces are the target (``consensus`` = the fused gold standard).
      rate_hz: Frame rate of the traces; frame-level features must run at it.
      label_shift_s: Annotation-delay compensation in seconds (>= 0).
      features: Frame-feature traces stored with the table (e.g. ``au``) to include.
    """

    head: str = label_fields.DEFAULT_TRACE_HEAD
    attributes: Tuple[str, ...] = label_fields.DEFAULT_TRACE_ATTRIBUTES
    rater: str = label_fields.DEFAULT_TRACE_RATER
    rate_hz: float = 10.0
    label_shift_s: float = 0.0
    features: Tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TraceConfig":
        _check.fields(data, cls, "traces")
        merged = {**dataclasses.asdict(cls()), **data}
        return cls(head=_check.string(merged["head"], "traces.head"),
                   attributes=_check.names(merged["attributes"], "traces.attributes"),
                   rater=_check.string(merged["rater"], "traces.rater"),
                   rate_hz=_check.number(merged["rate_hz"], "traces.rate_hz", strict=True),
                   label_shift_s=_check.number(merged["label_shift_s"],
                                               "traces.label_shift_s"),
                   features=_check.names(merged["features"], "traces.features",
                                         allow_empty=True))


AUDIO_POLICIES = ("warn", "reject", "off")


@dataclasses.dataclass(frozen=True)
class AudioChecksConfig:
    """The audio checks of annotate's audio report, applied to every featurized utterance.

    Attributes:
      policy: ``warn`` (keep the utterance, count and log it), ``reject`` (reject it,
        and its augmented copies, with the problem as reason) or ``off``.
      silence_dbfs: RMS level below which audio counts as silent.
      clip_fraction: Share of full-scale samples from which audio counts as clipped.
      max_duration_s: Longest utterance; the default is the limit every export
        enforces, so training never learns from what serving refuses.
    """

    policy: str = "warn"
    silence_dbfs: float = audio_io.DEFAULT_SILENCE_DBFS
    clip_fraction: float = audio_io.DEFAULT_CLIP_FRACTION
    max_duration_s: float = audio_io.MAX_DURATION_S

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AudioChecksConfig":
        _check.fields(data, cls, "audio_checks")
        merged = {**dataclasses.asdict(cls()), **data}
        silence = _check.number(merged["silence_dbfs"], "audio_checks.silence_dbfs",
                                minimum=-200.0)
        if silence > 0.0:
            _check.fail("audio_checks.silence_dbfs", f"must be a level in dBFS between -200 "
                                                     f"and 0, got {silence!r}")
        clip = _check.number(merged["clip_fraction"], "audio_checks.clip_fraction",
                             strict=True)
        if clip > 1.0:
            _check.fail("audio_checks.clip_fraction", f"must be a share in (0, 1], got {clip!r}")
        return cls(policy=_check.choice(merged["policy"], "audio_checks.policy", AUDIO_POLICIES),
                   silence_dbfs=silence, clip_fraction=clip,
                   max_duration_s=_check.number(merged["max_duration_s"],
                                                "audio_checks.max_duration_s", strict=True))

    def check_args(self) -> Dict[str, float]:
        """Keyword arguments of :func:`tfser.audio.audio_io.check_audio`."""
        return {"silence_dbfs": self.silence_dbfs, "clip_fraction": self.clip_fraction,
                "max_duration_s": self.max_duration_s}


@dataclasses.dataclass(frozen=True)
class SelectConfig:
    """Which utterances of the table a run featurizes (the rest are *not selected*).

    Attributes:
      extra: Utterance ``extra`` field -> the values to keep, e.g. IEMOCAP's
        ``{dialog_kind: [impro]}`` (paper 001 uses the improvised dialogs only). An
        utterance whose field is missing or holds another value is left out.
      labelled_by: A label view; utterances it leaves unlabelled (masked) are left out
        of every part, so no head trains on them. Paper 001's *dominant* training set
        is ``labelled_by: <the hard view>``; None keeps them (its *all* set: the hard
        label is masked, soft and existence targets still train).
    """

    extra: Mapping[str, Tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    labelled_by: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SelectConfig":
        _check.keys(data, ("extra", "labelled_by"), "select")
        extra = data.get("extra") or {}
        if not isinstance(extra, Mapping):
            _check.fail("select.extra", f"must be a mapping of field -> values, got {extra!r}")
        values = {}
        for field, accepted in extra.items():
            accepted = tuple(accepted) if isinstance(accepted, (list, tuple)) else (accepted,)
            if not accepted:
                _check.fail(f"select.extra.{field}", "lists no value to keep")
            values[str(field)] = accepted
        labelled_by = data.get("labelled_by")
        if labelled_by is not None:
            labelled_by = _check.string(labelled_by, "select.labelled_by")
        return cls(extra=values, labelled_by=labelled_by)

    def to_dict(self) -> Dict[str, Any]:
        return {"extra": {k: list(v) for k, v in self.extra.items()},
                "labelled_by": self.labelled_by}


@dataclasses.dataclass(frozen=True)
class FeaturizeConfig:
    """A validated featurization configuration (build with :meth:`from_dict`).

    Attributes:
      feature_sets: Registered feature-set names (:mod:`tfser.features.registry`).
      labels: Label views to derive (None only for continuous runs, whose traces label).
      split: Evaluation protocol whose folds dataset_info.json describes.
      normalisation: Feature name -> ``global`` (per-fold train statistics),
        ``per_speaker`` (each speaker's own statistics, 002) or ``none``; which
        statistics the reader applies. All statistics are always recorded.
      speed_perturb: Speed factors applied to utterances that are in TRAIN in at least
        one fold, written as extra examples with variant ``speed<factor>`` (001: 0.9, 1.1).
      random_crops: Paper 004's random 4 s crops: this many extra examples
        (``crop1`` ..) of every TRAIN utterance longer than the segment, each a segment
        at a seeded random offset; evaluation keeps the centre crop. Only with
        ``spec_004``. The crops are drawn once, at featurize time, not anew each epoch.
      sample_rate: Audio is resampled to this rate before feature extraction.
      min_duration_s: Shorter segments are rejected.
      num_shards: Files per speaker (and per augmented variant of a speaker).
      continuous: One example per traced recording with a sequence target (003);
        otherwise recordings with label traces are left out.
      traces: Continuous settings.
      select: Which utterances to featurize (``extra`` fields, a label view).
      audio_checks: Silence, clipping and duration checks and what to do on a finding.
      clip_sigma: The reader and the export clip normalised features to +-this many
        standard deviations of the training statistics (0: no clipping), so that one
        exploding feature cannot drive a prediction.
      name: Free name of the configuration.
      description: Free text.
    """

    feature_sets: Tuple[str, ...]
    labels: Optional[LabelSpec] = None
    split: SplitConfig = SplitConfig()
    normalisation: Mapping[str, str] = dataclasses.field(default_factory=dict)
    speed_perturb: Tuple[float, ...] = ()
    random_crops: int = 0
    sample_rate: int = 16000
    min_duration_s: float = 0.0
    num_shards: int = 1
    continuous: bool = False
    traces: TraceConfig = TraceConfig()
    select: SelectConfig = SelectConfig()
    audio_checks: AudioChecksConfig = AudioChecksConfig()
    clip_sigma: float = features_info.DEFAULT_CLIP_SIGMA
    name: str = ""
    description: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeaturizeConfig":
        """Validates a plain dict (parsed YAML) into a config.

        Raises:
          ValueError: Unknown keys, unknown feature sets or bad values.
        """
        _check.fields(data, cls, "top level")
        if "feature_sets" not in data:
            _check.fail("feature_sets", "missing (list the feature sets to extract)")
        feature_sets = _check.names(data["feature_sets"], "feature_sets")
        for name in feature_sets:
            try:
                registry.get(name)
            except ValueError as error:
                _check.fail("feature_sets", str(error))
        continuous = _check.boolean(data.get("continuous", False), "continuous")
        if "traces" in data and not continuous:
            _check.fail("traces", "is only used with continuous: true")
        traces = TraceConfig.from_dict(data.get("traces") or {})
        labels = data.get("labels")
        if labels is None and not continuous:
            _check.fail("labels", "missing (a label spec with at least one view)")
        if labels is not None and not isinstance(labels, LabelSpec):
            try:
                labels = LabelSpec.from_dict(labels)
            except ValueError as error:
                _check.fail("labels", str(error))
        speed = tuple(_check.number(f, "speed_perturb", strict=True)
                      for f in _list(data.get("speed_perturb", []), "speed_perturb"))
        if 1.0 in speed or len(set(speed)) != len(speed):
            _check.fail("speed_perturb",
                        f"factors must be distinct and differ from 1, got {speed}")
        config = cls(
            feature_sets=feature_sets, labels=labels,
            split=SplitConfig.from_dict(data.get("split") or {}),
            normalisation=_normalisation(data.get("normalisation", DEFAULT_NORMALISATION),
                                         feature_sets + (traces.features if continuous else ())),
            speed_perturb=speed,
            random_crops=_random_crops(data.get("random_crops", 0), feature_sets),
            sample_rate=_check.integer(data.get("sample_rate", 16000), "sample_rate", 1),
            min_duration_s=_check.number(data.get("min_duration_s", 0.0), "min_duration_s"),
            num_shards=_check.integer(data.get("num_shards", 1), "num_shards", 1),
            continuous=continuous, traces=traces,
            select=_select(data.get("select") or {}, labels),
            audio_checks=AudioChecksConfig.from_dict(data.get("audio_checks") or {}),
            clip_sigma=_clip_sigma(data.get("clip_sigma", features_info.DEFAULT_CLIP_SIGMA)),
            name=str(data.get("name", "")), description=str(data.get("description", "")))
        _check_continuous(config)
        return config

    def to_dict(self) -> Dict[str, Any]:
        """Plain-dict form; ``from_dict(to_dict())`` gives an equal config."""
        data = {
            "name": self.name, "description": self.description,
            "feature_sets": list(self.feature_sets),
            "labels": self.labels.to_dict() if self.labels is not None else None,
            "split": {"protocol": self.split.protocol, "params": dict(self.split.params)},
            "normalisation": dict(self.normalisation),
            "speed_perturb": list(self.speed_perturb), "sample_rate": self.sample_rate,
            "min_duration_s": self.min_duration_s, "num_shards": self.num_shards,
            "continuous": self.continuous,
            "audio_checks": dataclasses.asdict(self.audio_checks),
            "clip_sigma": self.clip_sigma,
        }
        if self.random_crops:
            data["random_crops"] = self.random_crops
        if self.select != SelectConfig():
            # Only when set, so that the hash of every earlier config stays the same.
            data["select"] = self.select.to_dict()
        if self.continuous:
            traces = dataclasses.asdict(self.traces)
            data["traces"] = {k: list(v) if isinstance(v, tuple) else v
                              for k, v in traces.items()}
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def sha256(self) -> str:
        """Hash of the resolved configuration (canonical JSON)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def variants(self) -> Tuple[str, ...]:
        """Names of the augmented variants, e.g. ``("speed0.9", "speed1.1")``."""
        return (tuple(work.variant_name(f) for f in self.speed_perturb)
                + tuple(work.crop_variant_name(k) for k in range(1, self.random_crops + 1)))

    @property
    def crop_seconds(self) -> float:
        """Length of a random crop: the 004 spectrogram's segment."""
        return spectrogram.DEFAULT_SEGMENT_S

    @property
    def all_features(self) -> Tuple[str, ...]:
        """Audio feature sets, then (continuous runs) feature traces from the table."""
        return self.feature_sets + (self.traces.features if self.continuous else ())


def _list(value: Any, where: str) -> List[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        _check.fail(where, f"must be a list, got {value!r}")
    return list(value)


def _normalisation(value: Any, features: Tuple[str, ...]) -> Dict[str, str]:
    if isinstance(value, str):
        value = {name: value for name in features}
    _check.keys(value, features, "normalisation")
    out = {}
    for name in features:
        out[name] = _check.choice(value.get(name, DEFAULT_NORMALISATION),
                                  f"normalisation.{name}", NORMALISATIONS)
    return out


def _select(value: Any, labels: Optional[LabelSpec]) -> SelectConfig:
    select = SelectConfig.from_dict(value)
    views = [view.name for view in labels.views] if labels is not None else []
    if select.labelled_by is not None and select.labelled_by not in views:
        _check.fail("select.labelled_by", f"names no label view: {select.labelled_by!r}; "
                                          f"views: {views}")
    return select


# The registered feature set that random_crops applies to (004's 4 s spectrogram).
SPEC_004 = "spec_004"


def _random_crops(value: Any, feature_sets: Tuple[str, ...]) -> int:
    count = _check.integer(value, "random_crops", 0)
    if count and tuple(feature_sets) != (SPEC_004,):
        _check.fail("random_crops", f"crops 004's fixed-length segments: use it with "
                                    f"feature_sets: [{SPEC_004}] only, got "
                                    f"{list(feature_sets)}")
    return count


def _clip_sigma(value: Any) -> float:
    # Below ~3 sigma clipping would cut ordinary training data, not outliers.
    clip = _check.number(value, "clip_sigma")
    if 0.0 < clip < 3.0:
        _check.fail("clip_sigma", f"must be 0 (no clipping) or at least 3 standard deviations, "
                            f"got {value!r}")
    return clip


def _check_continuous(config: FeaturizeConfig) -> None:
    if not config.continuous:
        return
    if config.speed_perturb:
        _check.fail("speed_perturb", "cannot be combined with continuous: true (the traces "
                                     "would no longer line up with the audio)")
    taken = set(config.feature_sets) | set(registry.names())
    clash = sorted(set(config.traces.features) & taken)
    if clash:
        _check.fail("traces.features", f"{clash} clash with registered feature-set names")
    if config.labels is not None and config.traces.head in {v.name for v in config.labels.views}:
        _check.fail("traces.head",
                    f"'{config.traces.head}' is also the name of a label view")
    for name in config.feature_sets:
        spec = registry.feature_spec(name)
        if spec.sequence and spec.frame_rate_hz != config.traces.rate_hz:
            _check.fail("feature_sets",
                        f"continuous examples pair frame-level features with "
                        f"{config.traces.rate_hz:g} Hz traces, but '{name}' runs at "
                        f"{spec.frame_rate_hz:g} Hz (use e.g. windowed_egemaps_003)")


# ------------------------------------------------------------------ YAML


def read_yaml(path: str) -> Dict[str, Any]:
    """Reads a config file into a dict (an empty file is an error)."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, Mapping):
        raise checks.ConfigError(f"{path}: a featurize config must be a YAML mapping")
    return dict(data)


def load_config(path: Optional[str] = None, overrides: Iterable[str] = (),
                base: Optional[Mapping[str, Any]] = None) -> FeaturizeConfig:
    """Resolves defaults <- ``base`` <- file ``path`` <- ``overrides`` and validates.

    Raises:
      ValueError: On any invalid key or value (the message names it and the file).
    """
    data: Dict[str, Any] = dict(base or {})
    if path is not None:
        data.update(read_yaml(path))
    return overrides_lib.build_with_overrides(data, overrides, FeaturizeConfig.from_dict,
                                              path or "<config>")
