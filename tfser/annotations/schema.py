"""Typed records and the in-memory unified multi-annotator table.

Every corpus becomes one :class:`AnnotationTable`: three long-form tables plus a
small block of metadata.

* ``utterances`` - one row per utterance (or per long recording for continuous
  corpora): where its audio is, who speaks, which session and official split.
* ``ratings`` - one row per (utterance, rater, condition): the rater's primary
  category, the list of secondary categories, and per-rater dimensional values on
  the corpus's own scale (one float column per attribute named in
  ``meta.dimensions``).
* ``traces`` - time-continuous signals by reference: an attribute (or a frame
  feature set) sampled at ``rate_hz``, stored as an array file next to the table.

Loaders record facts in this shape; label policy lives in :mod:`tfser.labels`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1

# Rater types: who produced a rating.
RATER_TYPES = ("observer", "self", "crowd", "listener_aggregate", "intended")
# Trace kinds: a label trace (e.g. arousal over time) or a frame-feature stream.
TRACE_KINDS = ("label", "feature")
# Split names used by official partitions and split functions.
SPLIT_NAMES = ("train", "dev", "test")


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One utterance (or one continuous recording).

    Attributes:
      utt_id: Unique id within the table (corpus-native id).
      corpus: Corpus name (``emodb``, ``iemocap``, ``synthetic``, ...).
      audio_path: Audio file path, relative to the table's ``audio_root`` or absolute.
      duration_s: Duration in seconds of the part that is the utterance (> 0), or
        NaN when unknown (annotation-only items whose audio is absent).
      speaker_id: Corpus-prefixed speaker id, e.g. ``iemocap:Ses01F``; None when the
        corpus does not know it (such utterances cannot enter speaker-independent splits).
      start_s: Start of the segment inside ``audio_path`` (None = whole file).
      end_s: End of the segment inside ``audio_path`` (None = whole file).
      session_id: Recording session (IEMOCAP session, SEWA culture, ...).
      gender: ``female``, ``male`` or None when unknown.
      official_split: The corpus's own partition (``train``/``dev``/``test``) or None.
      intended_label: Category the actor was asked to portray (acted corpora).
      extra: Free corpus-specific fields (JSON-serialisable).
    """

    utt_id: str
    corpus: str
    audio_path: str
    duration_s: float
    speaker_id: Optional[str]
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    session_id: Optional[str] = None
    gender: Optional[str] = None
    official_split: Optional[str] = None
    intended_label: Optional[str] = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Rating:
    """One rater's judgement of one utterance.

    Attributes:
      utt_id: The rated utterance.
      rater_id: Rater id namespaced by corpus, e.g. ``iemocap:E3``.
      rater_type: One of :data:`RATER_TYPES`.
      primary: The primary category in the table's vocabulary, or None when the
        rater gave only dimensional values.
      primary_raw: The category exactly as the corpus wrote it.
      secondary: Secondary categories (may include names outside the primary
        vocabulary, which must then be in ``meta.secondary_categories``).
      dims: Per-rater dimensional values, keyed by attribute name.
      condition: Stimulus condition (CREMA-D ``voice``/``face``/``audiovisual``).
    """

    utt_id: str
    rater_id: str
    rater_type: str = "observer"
    primary: Optional[str] = None
    primary_raw: Optional[str] = None
    secondary: Sequence[str] = ()
    dims: Mapping[str, float] = dataclasses.field(default_factory=dict)
    condition: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Trace:
    """A time-continuous signal stored by reference.

    Attributes:
      utt_id: The recording the trace belongs to.
      rater_id: The rater, or ``consensus`` for a fused gold-standard trace, or
        ``none`` for a feature stream.
      kind: ``label`` (an attribute trace) or ``feature`` (frame features).
      attribute: Attribute name (``arousal``) or feature-set name (``au``).
      rate_hz: Frames per second.
      path: Array file (``.npy``, shape ``[T]`` or ``[T, D]``), relative to the
        table directory or absolute.
      num_frames: Number of frames in the array.
    """

    utt_id: str
    rater_id: str
    kind: str
    attribute: str
    rate_hz: float
    path: str
    num_frames: int


@dataclasses.dataclass
class TableMeta:
    """Metadata that types the table.

    Attributes:
      corpus: Corpus name.
      categories: The primary-category vocabulary (ordered).
      secondary_categories: Extra names allowed in secondary lists only.
      dimensions: Attribute name -> [min, max] of the corpus's rating scale.
      audio_root: Directory that relative audio paths are resolved against.
      description: Free text.
      schema_version: Version of this schema.
    """

    corpus: str
    categories: list = dataclasses.field(default_factory=list)
    secondary_categories: list = dataclasses.field(default_factory=list)
    dimensions: dict = dataclasses.field(default_factory=dict)
    audio_root: Optional[str] = None
    description: str = ""
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TableMeta":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"meta.json has unknown keys: {sorted(unknown)}")
        meta = cls(**dict(data))
        meta.dimensions = {k: [float(v[0]), float(v[1])] for k, v in meta.dimensions.items()}
        return meta


UTTERANCE_COLUMNS = (
    "utt_id", "corpus", "audio_path", "start_s", "end_s", "duration_s", "speaker_id",
    "session_id", "gender", "official_split", "intended_label", "extra",
)
UTTERANCE_REQUIRED = ("utt_id", "corpus", "audio_path", "duration_s", "speaker_id")
RATING_BASE_COLUMNS = (
    "utt_id", "rater_id", "rater_type", "condition", "primary", "primary_raw", "secondary",
)
RATING_REQUIRED = ("utt_id", "rater_id", "rater_type", "primary", "secondary")
TRACE_COLUMNS = ("utt_id", "rater_id", "kind", "attribute", "rate_hz", "path", "num_frames")
TRACE_REQUIRED = TRACE_COLUMNS

_UTT_FLOATS = ("start_s", "end_s", "duration_s")
_UTT_STRINGS = tuple(c for c in UTTERANCE_COLUMNS if c not in _UTT_FLOATS + ("extra",))


def _none_if_nan(value):
    if value is None or (np.isscalar(value) and pd.isna(value)):
        return None
    return value


def _object_column(series: pd.Series) -> pd.Series:
    """Strings stay Python objects with None for missing (pandas 3 would infer NaN-str)."""
    return pd.Series([_none_if_nan(v) for v in series.tolist()], index=series.index, dtype=object)


def utterances_frame(records: Sequence[Utterance]) -> pd.DataFrame:
    """Builds the canonical utterance DataFrame from records."""
    # Shallow field access: dataclasses.asdict deep-copies every `extra` dict, which
    # dominated loading of large corpora.
    names = [f.name for f in dataclasses.fields(Utterance)]
    rows = [{name: getattr(r, name) for name in names} for r in records]
    for row in rows:
        row["extra"] = dict(row["extra"])
    frame = pd.DataFrame(rows, columns=list(UTTERANCE_COLUMNS))
    return normalise_utterances(frame)


def ratings_frame(records: Sequence[Rating], dimensions: Sequence[str] = ()) -> pd.DataFrame:
    """Builds the canonical ratings DataFrame; one float column per dimension."""
    dims = list(dimensions)
    rows = []
    # In the frame NaN means "this rater gave no value"; an explicit NaN/inf given
    # by a loader is bad input and is reported with the row, never stored.
    bad = [f"ratings[{r.utt_id}, {r.rater_id}]: {name}={value!r} is not a finite number"
           for r in records for name, value in r.dims.items()
           if value is None or not np.isfinite(float(value))]
    if bad:
        raise ValueError(f"{len(bad)} non-finite dimensional value(s):\n  " + "\n  ".join(bad[:50]))
    for r in records:
        row = {
            "utt_id": r.utt_id, "rater_id": r.rater_id, "rater_type": r.rater_type,
            "condition": r.condition, "primary": r.primary, "primary_raw": r.primary_raw,
            "secondary": list(r.secondary),
        }
        for name in dims:
            row[name] = r.dims.get(name)
        extra_dims = set(r.dims) - set(dims)
        if extra_dims:
            raise ValueError(
                f"rating ({r.utt_id}, {r.rater_id}) has dimensions {sorted(extra_dims)} "
                f"not declared in the table's dimensions {dims}")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(RATING_BASE_COLUMNS) + dims)
    return normalise_ratings(frame, dims)


def traces_frame(records: Sequence[Trace]) -> pd.DataFrame:
    """Builds the canonical traces DataFrame."""
    frame = pd.DataFrame([dataclasses.asdict(r) for r in records], columns=list(TRACE_COLUMNS))
    return normalise_traces(frame)


def normalise_utterances(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerces column dtypes so that in-memory and on-disk tables compare equal."""
    frame = frame.copy()
    for col in UTTERANCE_COLUMNS:
        if col not in frame.columns:
            frame[col] = None if col != "extra" else [{} for _ in range(len(frame))]
    for col in _UTT_FLOATS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in _UTT_STRINGS:
        frame[col] = _object_column(frame[col])
    frame["extra"] = pd.Series([dict(e) if isinstance(e, Mapping) else {}
                                for e in frame["extra"].tolist()], index=frame.index, dtype=object)
    ordered = list(UTTERANCE_COLUMNS) + [c for c in frame.columns if c not in UTTERANCE_COLUMNS]
    return frame[ordered].reset_index(drop=True)


def _as_str_list(value) -> list:
    if value is None or (np.isscalar(value) and pd.isna(value)):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def normalise_ratings(frame: pd.DataFrame, dimensions: Sequence[str]) -> pd.DataFrame:
    frame = frame.copy()
    for col in RATING_BASE_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    for col in ("utt_id", "rater_id", "rater_type", "condition", "primary", "primary_raw"):
        frame[col] = _object_column(frame[col])
    frame["secondary"] = pd.Series([_as_str_list(v) for v in frame["secondary"].tolist()],
                                   index=frame.index, dtype=object)
    for name in dimensions:
        if name not in frame.columns:
            frame[name] = np.nan
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    ordered = list(RATING_BASE_COLUMNS) + list(dimensions)
    ordered += [c for c in frame.columns if c not in ordered]
    return frame[ordered].reset_index(drop=True)


def normalise_traces(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for col in TRACE_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    for col in ("utt_id", "rater_id", "kind", "attribute", "path"):
        frame[col] = _object_column(frame[col])
    frame["rate_hz"] = pd.to_numeric(frame["rate_hz"], errors="coerce").astype("float64")
    frame["num_frames"] = pd.to_numeric(frame["num_frames"], errors="coerce").astype("int64")
    return frame[list(TRACE_COLUMNS)].reset_index(drop=True)


@dataclasses.dataclass
class AnnotationTable:
    """The unified multi-annotator table of one corpus.

    Build it with :func:`build_table` (from records) or :func:`tfser.annotations.io.load_table`.
    ``root`` is the directory the table was loaded from (trace paths and, unless
    ``meta.audio_root`` says otherwise, audio paths are relative to it).
    """

    meta: TableMeta
    utterances: pd.DataFrame
    ratings: pd.DataFrame
    traces: pd.DataFrame
    root: Optional[str] = None

    @property
    def dimensions(self) -> list:
        return list(self.meta.dimensions)

    @property
    def categories(self) -> list:
        return list(self.meta.categories)

    def resolve_audio(self, audio_path: str) -> str:
        """Absolute path of an utterance's audio file."""
        import os
        if os.path.isabs(audio_path):
            return audio_path
        base = self.meta.audio_root or self.root or "."
        if not os.path.isabs(base) and self.root and base != self.root:
            base = os.path.join(self.root, base)
        return os.path.normpath(os.path.join(base, audio_path))

    def resolve_trace(self, path: str) -> str:
        import os
        if os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(self.root or ".", path))

    def load_trace(self, row_index: int) -> np.ndarray:
        """Loads the array of trace row ``row_index``."""
        return np.load(self.resolve_trace(self.traces.iloc[row_index]["path"]))

    def summary(self) -> dict:
        """Counts a researcher checks first."""
        return {
            "corpus": self.meta.corpus,
            "utterances": int(len(self.utterances)),
            "speakers": int(self.utterances["speaker_id"].nunique()),
            "sessions": int(self.utterances["session_id"].nunique()),
            "ratings": int(len(self.ratings)),
            "raters": int(self.ratings["rater_id"].nunique()),
            "traces": int(len(self.traces)),
        }


def build_table(
    meta: TableMeta,
    utterances: Sequence[Utterance],
    ratings: Sequence[Rating] = (),
    traces: Sequence[Trace] = (),
    root: Optional[str] = None,
) -> AnnotationTable:
    """Assembles a table from typed records (not yet validated)."""
    return AnnotationTable(
        meta=meta,
        utterances=utterances_frame(utterances),
        ratings=ratings_frame(ratings, list(meta.dimensions)),
        traces=traces_frame(traces),
        root=root,
    )
