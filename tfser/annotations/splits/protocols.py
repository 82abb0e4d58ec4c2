"""The speaker-independent split protocols and the by-name dispatcher."""

from __future__ import annotations

import inspect
from typing import Any, List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from tfser.annotations.splits.base import (
    SpeakerLeakError,
    Split,
    SplitProtocol,
    _listed,
    _is_missing,
    _frame,
    _speakers,
    _column_by_speaker,
    _make_split,
    _check_seed,
    _finish,
    PARTS,
    LOSO_DEV_POLICIES,
    SESSION_DEV_POLICIES,
    UtterancesLike)


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
    # Not speaker-independent: its params must say `speaker_independent: false`.
    "by_group": by_group_split,
}
PROTOCOL_NAMES = tuple(_PROTOCOLS)


def build_split(utts: UtterancesLike, protocol: str, **params: Any) -> SplitProtocol:
    """Builds the folds of a protocol named in a configuration.

    Args:
      utts: Utterances DataFrame or AnnotationTable.
      protocol: ``loso``, ``loso_session``, ``speaker_kfold``, ``official``, or
        ``by_group`` (not speaker-independent; its params must acknowledge it).
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
    parameters = inspect.signature(function).parameters
    accepted = set(parameters) - {"utts"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(f"protocol '{name}' does not take parameter(s) {unknown}; it "
                         f"accepts {sorted(accepted)}")
    missing = sorted(p for p in accepted if p not in params
                     and parameters[p].default is inspect.Parameter.empty)
    if missing:
        raise ValueError(f"protocol '{name}' needs parameter(s) {missing} in split.params")
    return function(utts, **params)
