"""Split types, the speaker-leak check and helpers shared by the split protocols."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from tfser.annotations import schema
from tfser.fileio import atomic

PARTS = schema.SPLIT_NAMES  # ("train", "dev", "test")
_JSON_FORMAT = "tfser.split_protocol"
_JSON_VERSION = 1
_MAX_LISTED = 20

LOSO_DEV_POLICIES = ("next", "same_gender", "session_partner", "random", "none")
SESSION_DEV_POLICIES = ("next_session", "next_session_speaker", "random_speaker", "none")

UtterancesLike = Union[pd.DataFrame, schema.AnnotationTable]


class SpeakerLeakError(ValueError):
    """A speaker (or an utterance) appears in more than one part of a split.

    Attributes:
      leaks: Speaker id -> the parts it appears in.
    """

    def __init__(self, message: str, leaks: Optional[Mapping[str, Tuple[str, ...]]] = None):
        super().__init__(message)
        self.leaks = dict(leaks or {})


@dataclasses.dataclass(frozen=True)
class Split:
    """One train / dev / test partition of utterance ids.

    Attributes:
      name: Fold name, e.g. ``loso:emodb:03``.
      train: Training utterance ids (table order).
      dev: Development utterance ids (may be empty).
      test: Test utterance ids.
      train_speakers: Sorted speakers of ``train``.
      dev_speakers: Sorted speakers of ``dev``.
      test_speakers: Sorted speakers of ``test``.
      speaker_independent: False only for splits built by an explicit opt-in
        (:func:`by_group_split`, ``official_split(allow_speaker_overlap=True)``).
    """

    name: str
    train: Tuple[str, ...]
    dev: Tuple[str, ...]
    test: Tuple[str, ...]
    train_speakers: Tuple[str, ...] = ()
    dev_speakers: Tuple[str, ...] = ()
    test_speakers: Tuple[str, ...] = ()
    speaker_independent: bool = True

    def part(self, part: str) -> Tuple[str, ...]:
        """Utterance ids of ``part`` (``train``, ``dev`` or ``test``)."""
        _check_part(part)
        return getattr(self, part)

    def speakers(self, part: str) -> Tuple[str, ...]:
        """Speakers of ``part`` (``train``, ``dev`` or ``test``)."""
        _check_part(part)
        return getattr(self, f"{part}_speakers")

    def assignment(self) -> Dict[str, str]:
        """Maps every utterance id of the split to its part name."""
        return {utt: part for part in PARTS for utt in self.part(part)}

    def sizes(self) -> Dict[str, int]:
        """Number of utterances per part."""
        return {part: len(self.part(part)) for part in PARTS}

    def to_dict(self) -> dict:
        """JSON-ready dictionary (tuples become lists)."""
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Split":
        """Inverse of :meth:`to_dict`; unknown keys raise ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"split {data.get('name')!r} has unknown keys {sorted(unknown)}")
        values = {k: tuple(str(x) for x in v) if isinstance(v, (list, tuple)) else v
                  for k, v in data.items()}
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class SplitProtocol:
    """The folds of one evaluation protocol and how they were made.

    Attributes:
      protocol: Protocol name (``loso``, ``loso_session``, ``speaker_kfold``,
        ``official`` or ``by_group``).
      folds: The folds, in a deterministic order.
      params: The parameters the protocol was built with (JSON-serialisable).
    """

    protocol: str
    folds: Tuple[Split, ...]
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.folds)

    def __iter__(self) -> Iterator[Split]:
        return iter(self.folds)

    def __getitem__(self, index: int) -> Split:
        return self.folds[index]

    @property
    def speaker_independent(self) -> bool:
        """True when every fold is speaker-independent."""
        return all(fold.speaker_independent for fold in self.folds)

    def to_dict(self) -> dict:
        return {"format": _JSON_FORMAT, "version": _JSON_VERSION, "protocol": self.protocol,
                "params": dict(self.params), "folds": [f.to_dict() for f in self.folds]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SplitProtocol":
        if data.get("format") != _JSON_FORMAT or data.get("version") != _JSON_VERSION:
            raise ValueError(f"not a tfser split protocol (format {data.get('format')!r}, "
                             f"version {data.get('version')!r}; expected {_JSON_FORMAT!r} "
                             f"version {_JSON_VERSION})")
        return cls(protocol=str(data["protocol"]),
                   folds=tuple(Split.from_dict(f) for f in data["folds"]),
                   params=dict(data.get("params") or {}))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SplitProtocol":
        return cls.from_dict(json.loads(text))

    def save(self, path: str) -> str:
        """Writes the protocol as JSON (atomically) and returns ``path``."""
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        atomic.write_text(path, self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path: str) -> "SplitProtocol":
        with open(path, encoding="utf-8") as handle:
            return cls.from_json(handle.read())


# ----------------------------------------------------------------------------- helpers


def _check_part(part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"unknown split part '{part}'; parts are {PARTS}")


def _listed(values: Sequence[Any]) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:_MAX_LISTED])
    more = f", ... ({len(values) - _MAX_LISTED} more)" if len(values) > _MAX_LISTED else ""
    return shown + more


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    return bool(np.isscalar(value) and pd.isna(value))


def _frame(utts: UtterancesLike, columns: Sequence[str] = ()) -> pd.DataFrame:
    """The utterance frame of ``utts`` with unique utt_ids and the needed columns."""
    frame = utts.utterances if isinstance(utts, schema.AnnotationTable) else utts
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected an utterances DataFrame or an AnnotationTable, got "
                         f"{type(utts).__name__}")
    missing = [c for c in ("utt_id", *columns) if c not in frame.columns]
    if missing:
        raise ValueError(f"utterances frame lacks column(s) {missing}")
    if len(frame) == 0:
        raise ValueError("utterances frame is empty; there is nothing to split")
    ids = frame["utt_id"]
    empty = [i for i, v in enumerate(ids.tolist()) if _is_missing(v)]
    if empty:
        raise ValueError(f"utterances rows {_listed(empty)} have no utt_id")
    dup = sorted(set(ids[ids.duplicated()].tolist()))
    if dup:
        raise ValueError(f"duplicate utt_id(s) in utterances: {_listed(dup)}")
    return frame


def _speakers(frame: pd.DataFrame) -> pd.Series:
    """speaker_id per utterance (index = utt_id); unknown speakers raise ValueError."""
    frame = _frame(frame, ["speaker_id"])
    speakers = frame["speaker_id"].tolist()
    missing = [u for u, s in zip(frame["utt_id"].tolist(), speakers) if _is_missing(s)]
    if missing:
        raise ValueError(
            f"{len(missing)} utterance(s) have no speaker_id, so speaker independence cannot "
            f"be guaranteed: {_listed(missing)}. Drop them from the utterances before "
            "splitting (or, for a split that is not speaker-independent, use by_group_split).")
    return pd.Series([str(s) for s in speakers], index=frame["utt_id"].tolist(), dtype=object)


def _column_by_speaker(frame: pd.DataFrame, column: str) -> Dict[str, Tuple[str, ...]]:
    """Speaker -> sorted distinct non-missing values of ``column``."""
    out: Dict[str, set] = {}
    for speaker, value in zip(frame["speaker_id"].tolist(), frame[column].tolist()):
        values = out.setdefault(str(speaker), set())
        if not _is_missing(value):
            values.add(str(value))
    return {s: tuple(sorted(v)) for s, v in out.items()}


def _make_split(name: str, speaker_of: pd.Series, train_speakers, dev_speakers,
                test_speakers) -> Split:
    """Builds a fold from three disjoint speaker sets (utterances keep table order)."""
    part_of = {}
    for part, group in (("train", train_speakers), ("dev", dev_speakers),
                        ("test", test_speakers)):
        for speaker in group:
            part_of[speaker] = part
    ids = {part: [] for part in PARTS}
    for utt, speaker in speaker_of.items():
        ids[part_of[speaker]].append(str(utt))
    return Split(name=name, train=tuple(ids["train"]), dev=tuple(ids["dev"]),
                 test=tuple(ids["test"]), train_speakers=tuple(sorted(train_speakers)),
                 dev_speakers=tuple(sorted(dev_speakers)),
                 test_speakers=tuple(sorted(test_speakers)))


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


# ------------------------------------------------------------------------ leak check


def find_speaker_overlap(split: Split, utts: Optional[UtterancesLike] = None
                         ) -> Dict[str, Tuple[str, ...]]:
    """Speakers found in more than one part of ``split``.

    Args:
      split: The split to inspect.
      utts: Utterances (DataFrame or table). When given, speakers are looked up from
        the utterances themselves, so a split whose recorded speaker lists are wrong
        is still checked; otherwise the split's ``*_speakers`` fields are used.

    Returns:
      Speaker id -> parts it appears in (only leaking speakers; empty when clean).
      Utterances with an unknown speaker are ignored here.

    Raises:
      ValueError: When ``utts`` is given and the split names utterances it lacks.
    """
    parts_of: Dict[str, set] = {}
    if utts is None:
        for part in PARTS:
            for speaker in split.speakers(part):
                parts_of.setdefault(speaker, set()).add(part)
    else:
        frame = _frame(utts, ["speaker_id"])
        speaker_of = dict(zip(frame["utt_id"].tolist(), frame["speaker_id"].tolist()))
        unknown = [u for part in PARTS for u in split.part(part) if u not in speaker_of]
        if unknown:
            raise ValueError(f"split '{split.name}' names {len(unknown)} utterance(s) missing "
                             f"from the utterances: {_listed(unknown)}")
        for part in PARTS:
            for utt in split.part(part):
                speaker = speaker_of[utt]
                if not _is_missing(speaker):
                    parts_of.setdefault(str(speaker), set()).add(part)
    return {s: tuple(p for p in PARTS if p in parts)
            for s, parts in sorted(parts_of.items()) if len(parts) > 1}


def check_no_speaker_leak(split: Split, utts: Optional[UtterancesLike] = None) -> Split:
    """Raises :class:`SpeakerLeakError` unless ``split``'s parts are speaker-disjoint.

    Also rejects an utterance listed in two parts. With ``utts``, speakers are
    recomputed from the utterances and every utterance in the split must be known and
    have a speaker.

    Args:
      split: The split to check.
      utts: Optional utterances (DataFrame or AnnotationTable) the split was made from.

    Returns:
      ``split`` unchanged, so the call can be chained.

    Raises:
      SpeakerLeakError: Naming each leaking speaker (or utterance) and its parts.
      ValueError: When ``utts`` lacks utterances of the split or they have no speaker.
    """
    seen: Dict[str, List[str]] = {}
    for part in PARTS:
        for utt in split.part(part):
            seen.setdefault(utt, []).append(part)
    repeated = {u: tuple(p) for u, p in seen.items() if len(p) > 1}
    if repeated:
        shown = "; ".join(f"{u} in {'/'.join(p)}" for u, p in list(repeated.items())[:_MAX_LISTED])
        raise SpeakerLeakError(f"split '{split.name}' lists {len(repeated)} utterance(s) in "
                               f"more than one part: {shown}")
    if utts is not None and seen:
        frame = _frame(utts, ["speaker_id"])
        # An utterance without a speaker could belong to anyone, so a split holding one
        # cannot be certified speaker-independent.
        _speakers(frame[frame["utt_id"].isin(list(seen))])
    leaks = find_speaker_overlap(split, utts)
    if leaks:
        shown = "; ".join(f"{s} in {'/'.join(p)}" for s, p in list(leaks.items())[:_MAX_LISTED])
        raise SpeakerLeakError(f"split '{split.name}' is not speaker-independent: "
                               f"{len(leaks)} speaker(s) appear in more than one part: {shown}",
                               leaks)
    return split


def _finish(protocol: str, folds: Sequence[Split], params: Mapping[str, Any],
            frame: pd.DataFrame) -> SplitProtocol:
    for fold in folds:
        check_no_speaker_leak(fold, frame)
        if not fold.train or not fold.test:
            raise ValueError(f"fold '{fold.name}' has an empty train or test part "
                             f"(sizes {fold.sizes()})")
    return SplitProtocol(protocol=protocol, folds=tuple(folds), params=dict(params))
