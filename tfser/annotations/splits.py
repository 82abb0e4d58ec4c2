"""Speaker-independent train / dev / test splits over a table's utterances.

A model that has heard a speaker in training is scored on that speaker's voice as
much as on emotion, so every protocol here keeps speakers disjoint across parts and
proves it: each split function ends by calling :func:`check_no_speaker_leak`.
Utterances whose speaker is unknown cannot be placed safely and make every
speaker-independent function raise.

Protocols (each returns a :class:`SplitProtocol`, a list of :class:`Split` folds):

* :func:`leave_one_speaker_out` - one fold per speaker; one further speaker is held
  out for development (paper 001: 8 train / 1 dev / 1 test over 10 speakers).
* :func:`leave_one_session_out` - one fold per recording session (paper 002).
* :func:`speaker_grouped_kfold` - k folds of whole speakers, balanced by utterances.
* :func:`official_split` - the corpus's own partition (``official_split`` column).
* :func:`by_group_split` - an explicit opt-in for partitions that are *not*
  speaker-independent (e.g. speaker identification split by sentence, paper 004).

There is deliberately no utterance-random split. :func:`build_split` dispatches by
protocol name for configuration files.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from tfser.annotations import schema

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
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
            handle.write("\n")
        os.replace(tmp, path)
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


# ----------------------------------------------------------------------- protocols


def _pick_next(ordered: Sequence[str], start: str, allowed) -> Optional[str]:
    """First speaker after ``start`` in cyclic sorted order satisfying ``allowed``."""
    i = ordered.index(start)
    for step in range(1, len(ordered)):
        candidate = ordered[(i + step) % len(ordered)]
        if allowed(candidate):
            return candidate
    return None


def leave_one_speaker_out(utts: UtterancesLike, dev_policy: str = "next",
                          seed: int = 0) -> SplitProtocol:
    """Leave-one-speaker-out folds with one held-out development speaker per fold.

    Speakers are sorted by id; fold ``i`` tests the ``i``-th speaker. The development
    speaker of a fold is chosen by ``dev_policy``:

    * ``"next"``: the next speaker after the test speaker in cyclic sorted order (the
      last speaker's dev speaker is the first one). Paper 001's 8/1/1 protocol over 10
      speakers.
    * ``"same_gender"``: the next speaker in cyclic sorted order with the same gender
      as the test speaker; falls back to ``"next"`` when the test speaker's gender is
      unknown or nobody else shares it. Keeps the dev set's gender like the test set's.
    * ``"session_partner"``: the next speaker in cyclic sorted order who shares a
      recording session with the test speaker (IEMOCAP's two speakers of a session);
      falls back to ``"next"`` when there is none.
    * ``"random"``: a seeded draw among the other speakers (one
      ``numpy.random.default_rng(seed)`` stream, drawn fold by fold in sorted order).
    * ``"none"``: no development speaker; all other speakers train.

    Args:
      utts: Utterances DataFrame or AnnotationTable (needs ``utt_id``, ``speaker_id``;
        ``gender`` / ``session_id`` for the policies using them).
      dev_policy: One of :data:`LOSO_DEV_POLICIES`.
      seed: Seed of the ``"random"`` policy (ignored otherwise).

    Returns:
      A :class:`SplitProtocol` named ``loso`` with one fold per speaker.

    Raises:
      ValueError: On unknown speakers, an unknown policy or too few speakers (at least
        3 with a dev speaker, 2 without).
    """
    if dev_policy not in LOSO_DEV_POLICIES:
        raise ValueError(f"dev_policy '{dev_policy}' is not one of {LOSO_DEV_POLICIES}")
    seed = _check_seed(seed)
    columns = {"same_gender": ["gender"], "session_partner": ["session_id"]}.get(dev_policy, [])
    frame = _frame(utts, ["speaker_id", *columns])
    speaker_of = _speakers(frame)
    ordered = sorted(set(speaker_of.tolist()))
    needed = 2 if dev_policy == "none" else 3
    if len(ordered) < needed:
        raise ValueError(f"leave-one-speaker-out with dev_policy='{dev_policy}' needs at least "
                         f"{needed} speakers, got {len(ordered)}: {ordered}")
    attribute = _column_by_speaker(frame, columns[0]) if columns else {}
    rng = np.random.default_rng(seed)

    folds = []
    for test in ordered:
        if dev_policy == "none":
            dev = None
        elif dev_policy == "random":
            others = [s for s in ordered if s != test]
            dev = others[int(rng.integers(len(others)))]
        else:
            dev = None
            mine = set(attribute.get(test, ()))
            if dev_policy == "same_gender" and len(mine) == 1:
                dev = _pick_next(ordered, test, lambda s: set(attribute.get(s, ())) == mine)
            elif dev_policy == "session_partner" and mine:
                dev = _pick_next(ordered, test, lambda s: bool(mine & set(attribute.get(s, ()))))
            if dev is None:
                dev = _pick_next(ordered, test, lambda s: True)
        dev_set = [dev] if dev is not None else []
        train = [s for s in ordered if s != test and s not in dev_set]
        folds.append(_make_split(f"loso:{test}", speaker_of, train, dev_set, [test]))
    return _finish("loso", folds, {"dev_policy": dev_policy, "seed": seed}, frame)


def leave_one_session_out(utts: UtterancesLike, dev: str = "next_session",
                          seed: int = 0) -> SplitProtocol:
    """Leave-one-session-out folds (paper 002): the test part is one whole session.

    Sessions are sorted by id; fold ``i`` tests the ``i``-th session. The development
    part is chosen by ``dev`` among the speakers of the *other* sessions:

    * ``"next_session"``: every speaker of the next session in cyclic sorted order.
    * ``"next_session_speaker"``: the first speaker (sorted by id) of the next session
      in cyclic sorted order; the rest of that session trains.
    * ``"random_speaker"``: one speaker drawn from the other sessions' speakers with a
      single ``numpy.random.default_rng(seed)`` stream, fold by fold in sorted order.
    * ``"none"``: no development part.

    Every speaker must belong to exactly one session, otherwise holding out a session
    would leak that speaker.

    Args:
      utts: Utterances DataFrame or AnnotationTable (needs ``utt_id``, ``speaker_id``,
        ``session_id``).
      dev: One of :data:`SESSION_DEV_POLICIES`.
      seed: Seed of ``"random_speaker"`` (ignored otherwise).

    Returns:
      A :class:`SplitProtocol` named ``loso_session`` with one fold per session.

    Raises:
      ValueError: On unknown speakers or sessions, an unknown policy, or too few
        sessions (3 with ``"next_session"``, otherwise 2).
      SpeakerLeakError: When a speaker spans several sessions.
    """
    if dev not in SESSION_DEV_POLICIES:
        raise ValueError(f"dev '{dev}' is not one of {SESSION_DEV_POLICIES}")
    seed = _check_seed(seed)
    frame = _frame(utts, ["speaker_id", "session_id"])
    speaker_of = _speakers(frame)
    no_session = [u for u, s in zip(frame["utt_id"].tolist(), frame["session_id"].tolist())
                  if _is_missing(s)]
    if no_session:
        raise ValueError(f"{len(no_session)} utterance(s) have no session_id, so they cannot "
                         f"be placed by session: {_listed(no_session)}")
    sessions_of = _column_by_speaker(frame, "session_id")
    spanning = {s: v for s, v in sessions_of.items() if len(v) > 1}
    if spanning:
        shown = "; ".join(f"{s} in sessions {', '.join(v)}" for s, v in sorted(spanning.items()))
        raise SpeakerLeakError(f"leave-one-session-out would leak {len(spanning)} speaker(s) "
                               f"recorded in several sessions: {shown}",
                               {s: ("train", "test") for s in spanning})
    session_of = {s: v[0] for s, v in sessions_of.items()}
    sessions = sorted(set(session_of.values()))
    needed = 3 if dev == "next_session" else 2
    if len(sessions) < needed:
        raise ValueError(f"leave-one-session-out with dev='{dev}' needs at least {needed} "
                         f"sessions, got {len(sessions)}: {sessions}")
    members = {x: sorted(s for s, v in session_of.items() if v == x) for x in sessions}
    rng = np.random.default_rng(seed)

    folds = []
    for i, test_session in enumerate(sessions):
        test = members[test_session]
        others = [s for s in sorted(session_of) if session_of[s] != test_session]
        next_session = sessions[(i + 1) % len(sessions)]
        if dev == "next_session":
            dev_set = members[next_session]
        elif dev == "next_session_speaker":
            dev_set = members[next_session][:1]
        elif dev == "random_speaker":
            dev_set = [others[int(rng.integers(len(others)))]]
        else:
            dev_set = []
        train = [s for s in others if s not in dev_set]
        folds.append(_make_split(f"loso_session:{test_session}", speaker_of, train, dev_set,
                                 test))
    return _finish("loso_session", folds, {"dev": dev, "seed": seed}, frame)


def speaker_grouped_kfold(utts: UtterancesLike, k: int = 5, seed: int = 0,
                          dev_fraction: float = 0.1) -> SplitProtocol:
    """k folds of whole speakers, balanced by utterance counts.

    Assignment (written here rather than taken from scikit-learn so that folds stay
    identical across library versions):

    1. Speakers are shuffled with ``numpy.random.default_rng(seed)`` and then stably
       sorted by descending utterance count, so equal-size speakers are ordered by the
       seed.
    2. Each speaker in turn joins the test group with the fewest utterances so far
       (lowest group index on ties) - the classic greedy balancing.
    3. Fold ``i`` tests group ``i``. Its development speakers are taken from the
       remaining speakers in the order of one further seeded permutation (derived
       from ``seed`` and ``i``) until they hold at least ``dev_fraction`` of the
       remaining utterances (at least one speaker when ``dev_fraction > 0``); at
       least one speaker always stays in training.

    Args:
      utts: Utterances DataFrame or AnnotationTable (needs ``utt_id``, ``speaker_id``).
      k: Number of folds, ``2 <= k <= number of speakers``.
      seed: Seed of the assignment.
      dev_fraction: Target share of the non-test utterances used for development, in
        ``[0, 1)``; 0 gives no development part.

    Returns:
      A :class:`SplitProtocol` named ``speaker_kfold``; every speaker is tested in
      exactly one fold.

    Raises:
      ValueError: On unknown speakers or bad ``k`` / ``seed`` / ``dev_fraction``.
    """
    seed = _check_seed(seed)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    k = int(k)
    dev_fraction = float(dev_fraction)
    if not 0.0 <= dev_fraction < 1.0:
        raise ValueError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    frame = _frame(utts, ["speaker_id"])
    speaker_of = _speakers(frame)
    sizes = speaker_of.value_counts()
    ordered = sorted(sizes.index.tolist())
    if k > len(ordered):
        raise ValueError(f"k={k} folds need at least {k} speakers, got {len(ordered)}")
    rng = np.random.default_rng(seed)
    shuffled = [ordered[i] for i in rng.permutation(len(ordered))]
    by_size = sorted(shuffled, key=lambda s: -int(sizes[s]))
    groups: List[List[str]] = [[] for _ in range(k)]
    totals = [0] * k
    for speaker in by_size:
        target = int(np.argmin(totals))
        groups[target].append(speaker)
        totals[target] += int(sizes[speaker])

    folds = []
    for i, group in enumerate(groups):
        rest = [s for s in ordered if s not in group]
        dev_set: List[str] = []
        if dev_fraction > 0:
            if len(rest) < 2:
                raise ValueError(f"fold {i} leaves {len(rest)} non-test speaker(s); a "
                                 "development speaker needs at least 2 (lower k or set "
                                 "dev_fraction=0)")
            order = np.random.default_rng([seed, i]).permutation(len(rest))
            goal = dev_fraction * sum(int(sizes[s]) for s in rest)
            held = 0
            for j in order:
                if dev_set and held >= goal:
                    break
                if len(dev_set) == len(rest) - 1:
                    break
                dev_set.append(rest[j])
                held += int(sizes[rest[j]])
        train = [s for s in rest if s not in dev_set]
        folds.append(_make_split(f"speaker_kfold:{i}", speaker_of, train, dev_set, group))
    return _finish("speaker_kfold", folds,
                   {"k": k, "seed": seed, "dev_fraction": dev_fraction}, frame)


def _partition_split(name: str, frame: pd.DataFrame, part_of: Sequence[str],
                     speaker_independent: bool) -> Split:
    ids = {part: [] for part in PARTS}
    speakers = {part: set() for part in PARTS}
    for utt, speaker, part in zip(frame["utt_id"].tolist(), frame["speaker_id"].tolist(),
                                  part_of):
        ids[part].append(str(utt))
        if not _is_missing(speaker):
            speakers[part].add(str(speaker))
    return Split(name=name, train=tuple(ids["train"]), dev=tuple(ids["dev"]),
                 test=tuple(ids["test"]), train_speakers=tuple(sorted(speakers["train"])),
                 dev_speakers=tuple(sorted(speakers["dev"])),
                 test_speakers=tuple(sorted(speakers["test"])),
                 speaker_independent=speaker_independent)


def official_split(utts: UtterancesLike, allow_speaker_overlap: bool = False) -> SplitProtocol:
    """The corpus's own partition, read from the ``official_split`` column.

    Args:
      utts: Utterances DataFrame or AnnotationTable.
      allow_speaker_overlap: Accept an official partition that shares speakers across
        parts (the fold is then marked ``speaker_independent=False`` and utterances
        without a speaker are allowed). Off by default.

    Returns:
      A :class:`SplitProtocol` named ``official`` with one fold.

    Raises:
      ValueError: When an utterance has no official split or an invalid one, when
        train or test is empty, or (by default) when an utterance has no speaker.
      SpeakerLeakError: When the partition shares speakers and
        ``allow_speaker_overlap`` is False.
    """
    frame = _frame(utts, ["speaker_id", "official_split"])
    values = frame["official_split"].tolist()
    missing = [u for u, v in zip(frame["utt_id"].tolist(), values) if _is_missing(v)]
    if missing:
        raise ValueError(f"{len(missing)} utterance(s) have no official_split: "
                         f"{_listed(missing)}")
    bad = [f"{u}={v!r}" for u, v in zip(frame["utt_id"].tolist(), values) if v not in PARTS]
    if bad:
        raise ValueError(f"official_split values must be one of {PARTS}: {_listed(bad)}")
    if not allow_speaker_overlap:
        _speakers(frame)
    fold = _partition_split("official", frame, values, not allow_speaker_overlap)
    params = {"allow_speaker_overlap": bool(allow_speaker_overlap)}
    if allow_speaker_overlap:
        if not fold.train or not fold.test:
            raise ValueError(f"official split has an empty train or test part "
                             f"(sizes {fold.sizes()})")
        return SplitProtocol("official", (fold,), params)
    return _finish("official", [fold], params, frame)


def _group_values(frame: pd.DataFrame, group_column: str) -> List[Any]:
    if group_column in frame.columns:
        values = frame[group_column].tolist()
    elif "extra" in frame.columns:
        values = [e.get(group_column) if isinstance(e, Mapping) else None
                  for e in frame["extra"].tolist()]
    else:
        raise ValueError(f"'{group_column}' is neither a utterances column nor a key of "
                         "'extra'")
    missing = [u for u, v in zip(frame["utt_id"].tolist(), values) if _is_missing(v)]
    if missing:
        raise ValueError(f"{len(missing)} utterance(s) have no '{group_column}' value: "
                         f"{_listed(missing)}")
    return [str(v) for v in values]


def by_group_split(utts: UtterancesLike, group_column: str, test_groups: Sequence[Any],
                   dev_groups: Sequence[Any] = (), *,
                   speaker_independent: bool) -> SplitProtocol:
    """A split by an arbitrary grouping column: NOT speaker-independent.

    For protocols that must share speakers across parts, e.g. speaker identification
    split by sentence (paper 004). Because such a split answers a different question
    than emotion recognition on unseen speakers, the caller must acknowledge it by
    passing ``speaker_independent=False``; the resulting fold is marked that way and
    is not checked for speaker leaks.

    Args:
      utts: Utterances DataFrame or AnnotationTable.
      group_column: A utterances column, or a key of the ``extra`` dict column.
      test_groups: Group values whose utterances form the test part.
      dev_groups: Group values whose utterances form the development part.
      speaker_independent: Must be ``False`` (keyword-only acknowledgement).

    Returns:
      A :class:`SplitProtocol` named ``by_group`` with one fold; every other group
      trains.

    Raises:
      ValueError: Without the acknowledgement, on missing group values, on groups
        listed in both parts or absent from the data, or on an empty train/test part.
    """
    if speaker_independent is not False:
        raise ValueError("by_group_split does not keep speakers apart; pass "
                         "speaker_independent=False to acknowledge it, or use a "
                         "speaker-independent protocol (loso, loso_session, speaker_kfold)")
    frame = _frame(utts)
    if "speaker_id" not in frame.columns:
        frame = frame.assign(speaker_id=None)
    values = _group_values(frame, group_column)
    test = {str(g) for g in test_groups}
    dev = {str(g) for g in dev_groups}
    both = sorted(test & dev)
    if both:
        raise ValueError(f"groups {both} are listed as both test and dev")
    absent = sorted((test | dev) - set(values))
    if absent:
        raise ValueError(f"groups {absent} do not occur in column '{group_column}'")
    part_of = ["test" if v in test else "dev" if v in dev else "train" for v in values]
    fold = _partition_split(f"by_group:{group_column}", frame, part_of, False)
    if not fold.train or not fold.test:
        raise ValueError(f"by_group split has an empty train or test part (sizes "
                         f"{fold.sizes()})")
    params = {"group_column": group_column, "test_groups": sorted(test),
              "dev_groups": sorted(dev), "speaker_independent": False}
    return SplitProtocol("by_group", (fold,), params)


_PROTOCOLS = {
    "loso": leave_one_speaker_out,
    "loso_session": leave_one_session_out,
    "speaker_kfold": speaker_grouped_kfold,
    "official": official_split,
}
PROTOCOL_NAMES = tuple(_PROTOCOLS)


def build_split(utts: UtterancesLike, protocol: str, **params: Any) -> SplitProtocol:
    """Builds the folds of a protocol named in a configuration.

    Args:
      utts: Utterances DataFrame or AnnotationTable.
      protocol: ``loso``, ``loso_session``, ``speaker_kfold`` or ``official``.
      **params: Keyword arguments of the protocol's function.

    Returns:
      The :class:`SplitProtocol`.

    Raises:
      ValueError: For an unknown protocol name (with a specific explanation for
        utterance-random splits) or parameters the protocol does not take.
    """
    name = str(protocol).strip().lower()
    if name in ("random", "random_utterance", "utterance_random", "shuffle"):
        raise ValueError(
            f"protocol '{protocol}' is not offered: an utterance-random split puts the same "
            "speakers in train and test, so scores measure speaker memorisation as much as "
            f"emotion recognition. Use one of {list(PROTOCOL_NAMES)} (e.g. 'speaker_kfold').")
    if name not in _PROTOCOLS:
        raise ValueError(f"unknown split protocol '{protocol}'; known: {list(PROTOCOL_NAMES)}")
    function = _PROTOCOLS[name]
    accepted = set(inspect.signature(function).parameters) - {"utts"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(f"protocol '{name}' does not take parameter(s) {unknown}; it "
                         f"accepts {sorted(accepted)}")
    return function(utts, **params)
