"""Validation of the unified table: every problem is collected, then one error is raised.

Validation never uses ``assert`` (it must also run under ``python -O``) and never
stops at the first problem: a researcher fixing a loader wants the full list, each
entry naming the table and the row id.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional

import numpy as np
import pandas as pd

from tfser.annotations import schema


@dataclasses.dataclass(frozen=True)
class Problem:
    """One validation finding."""

    table: str
    row: Optional[str]
    message: str

    def __str__(self) -> str:
        where = f"{self.table}[{self.row}]" if self.row is not None else self.table
        return f"{where}: {self.message}"


class AnnotationValidationError(ValueError):
    """Raised when a table breaks the schema; ``problems`` lists every finding."""

    def __init__(self, problems: List[Problem], max_shown: int = 50):
        self.problems = list(problems)
        shown = "\n  ".join(str(p) for p in self.problems[:max_shown])
        more = len(self.problems) - max_shown
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.problems)} problem(s) in annotation table:\n  {shown}{tail}")


def _missing_columns(frame: pd.DataFrame, required, table: str) -> List[Problem]:
    return [Problem(table, None, f"missing required column '{c}'")
            for c in required if c not in frame.columns]


def _rating_keys(ratings: pd.DataFrame) -> List[str]:
    """Row ids of the ratings table: ``utt, rater[, condition]``."""
    return [f"{u}, {r}" if c is None else f"{u}, {r}, {c}" for u, r, c in zip(
        ratings["utt_id"].tolist(), ratings["rater_id"].tolist(), ratings["condition"].tolist())]


def find_problems(table: schema.AnnotationTable) -> List[Problem]:
    """Returns every schema problem of ``table`` (empty list when valid)."""
    problems: List[Problem] = []
    utts, ratings, traces, meta = table.utterances, table.ratings, table.traces, table.meta

    if meta.schema_version != schema.SCHEMA_VERSION:
        problems.append(Problem("meta", None, f"schema_version {meta.schema_version} is not "
                                f"the supported version {schema.SCHEMA_VERSION}"))
    for name, (low, high) in meta.dimensions.items():
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            problems.append(Problem("meta", None, f"dimension '{name}' has an invalid scale "
                                    f"[{low}, {high}]"))
    if len(set(meta.categories)) != len(meta.categories):
        problems.append(Problem("meta", None, "categories contain duplicates"))

    missing = (_missing_columns(utts, schema.UTTERANCE_REQUIRED, "utterances")
               + _missing_columns(ratings, schema.RATING_REQUIRED, "ratings")
               + _missing_columns(traces, schema.TRACE_REQUIRED, "traces")
               + _missing_columns(ratings, list(meta.dimensions), "ratings"))
    if missing:
        # Row checks would only repeat the column problem on every row.
        return problems + missing

    # --- utterances
    dup = utts["utt_id"][utts["utt_id"].duplicated(keep=False)]
    for utt_id in sorted(set(dup)):
        problems.append(Problem("utterances", utt_id,
                                f"duplicate utt_id ({int((dup == utt_id).sum())} rows)"))
    for row in utts.itertuples(index=False):
        rid = row.utt_id
        if rid is None or rid == "":
            problems.append(Problem("utterances", None, "empty utt_id"))
            continue
        for col in ("corpus", "audio_path"):
            if not getattr(row, col):
                problems.append(Problem("utterances", rid, f"empty {col}"))
        dur = row.duration_s
        # NaN = unknown (annotation-only items such as CREMA-D votes without audio);
        # a known duration must be a positive finite number.
        if dur is not None and not np.isnan(dur) and (not np.isfinite(dur) or dur <= 0):
            problems.append(Problem("utterances", rid, f"duration_s must be > 0, got {dur}"))
        start, end = row.start_s, row.end_s
        if np.isfinite(start) != np.isfinite(end):
            problems.append(Problem("utterances", rid, "start_s and end_s must both be set or "
                                    "both be empty"))
        elif np.isfinite(start) and (start < 0 or end <= start):
            problems.append(Problem("utterances", rid, f"segment [{start}, {end}] is not a "
                                    "positive interval"))
        if row.official_split is not None and row.official_split not in schema.SPLIT_NAMES:
            problems.append(Problem("utterances", rid, f"official_split '{row.official_split}' "
                                    f"is not one of {schema.SPLIT_NAMES}"))
        if row.gender is not None and row.gender not in ("female", "male"):
            problems.append(Problem("utterances", rid, f"gender '{row.gender}' is not "
                                    "'female', 'male' or empty"))

    # --- ratings (vectorised: corpora such as MSP-Podcast carry ~1M rating rows;
    # only the rows with a problem are visited one by one)
    known_utts = set(utts["utt_id"])
    primary_vocab = set(meta.categories)
    secondary_vocab = primary_vocab | set(meta.secondary_categories)
    keys = _rating_keys(ratings)
    dup_rows = ratings[["utt_id", "rater_id", "condition"]].astype(str).duplicated(keep="first")
    for i in np.flatnonzero(dup_rows.to_numpy()):
        problems.append(Problem("ratings", keys[i], "duplicate rating (same utterance, rater "
                                "and condition)"))
    unknown_utt = ~ratings["utt_id"].isin(known_utts).to_numpy()
    for i in np.flatnonzero(unknown_utt):
        problems.append(Problem("ratings", keys[i],
                                f"unknown utterance '{ratings['utt_id'].iat[i]}'"))
    bad_type = ~ratings["rater_type"].isin(schema.RATER_TYPES).to_numpy()
    for i in np.flatnonzero(bad_type):
        problems.append(Problem("ratings", keys[i], f"rater_type '{ratings['rater_type'].iat[i]}'"
                                f" is not one of {schema.RATER_TYPES}"))
    primary = ratings["primary"]
    bad_primary = (primary.notna() & ~primary.isin(primary_vocab)).to_numpy()
    for i in np.flatnonzero(bad_primary):
        problems.append(Problem("ratings", keys[i], f"unknown primary category "
                                f"'{primary.iat[i]}' (vocabulary: {sorted(primary_vocab)})"))
    secondary = ratings["secondary"].tolist()
    for i, names in enumerate(secondary):
        unknown_sec = [name for name in names if name not in secondary_vocab]
        if unknown_sec:
            problems.append(Problem("ratings", keys[i], f"unknown secondary categories "
                                    f"{unknown_sec}"))
    has_dim = np.zeros(len(ratings), dtype=bool)
    for name, (low, high) in meta.dimensions.items():
        values = ratings[name].to_numpy(dtype="float64")
        for i in np.flatnonzero(np.isinf(values)):
            problems.append(Problem("ratings", keys[i], f"{name} is infinite"))
        finite = np.isfinite(values)
        has_dim |= finite
        outside = finite & ((values < low) | (values > high))
        for i in np.flatnonzero(outside):
            problems.append(Problem("ratings", keys[i],
                                    f"{name}={values[i]} outside the scale [{low}, {high}]"))
    # NaN in a dimension column means "this rater gave no value"; a row with no
    # category and no value at all carries nothing and is reported.
    empty = primary.isna().to_numpy() & np.array([not names for names in secondary], dtype=bool)
    empty &= ~has_dim
    for i in np.flatnonzero(empty):
        problems.append(Problem("ratings", keys[i], "rating carries no category and no "
                                "dimensional value (NaN everywhere)"))

    # --- traces
    for row in traces.itertuples(index=False):
        rid = f"{row.utt_id}, {row.rater_id}, {row.attribute}"
        if row.utt_id not in known_utts:
            problems.append(Problem("traces", rid, f"unknown utterance '{row.utt_id}'"))
        if row.kind not in schema.TRACE_KINDS:
            problems.append(Problem("traces", rid, f"kind '{row.kind}' is not one of "
                                    f"{schema.TRACE_KINDS}"))
        if not (np.isfinite(row.rate_hz) and row.rate_hz > 0):
            problems.append(Problem("traces", rid, f"rate_hz must be > 0, got {row.rate_hz}"))
        if row.num_frames <= 0:
            problems.append(Problem("traces", rid, f"num_frames must be > 0, got "
                                    f"{row.num_frames}"))
    tdup = traces[["utt_id", "rater_id", "kind", "attribute"]].astype(str).duplicated()
    for i in np.flatnonzero(tdup.to_numpy()):
        r = traces.iloc[i]
        problems.append(Problem("traces", f"{r.utt_id}, {r.rater_id}, {r.attribute}",
                                "duplicate trace"))
    return problems


def validate(table: schema.AnnotationTable) -> schema.AnnotationTable:
    """Raises :class:`AnnotationValidationError` listing every problem; returns the table."""
    problems = find_problems(table)
    if problems:
        raise AnnotationValidationError(problems)
    return table
