"""Parquet storage of the unified table: one file per table plus ``meta.json``.

Layout of a table directory::

    meta.json            schema version, vocabularies, dimension scales
    utterances.parquet
    ratings.parquet
    traces.parquet
    traces/...           trace arrays referenced by traces.parquet (optional)

``save_table`` validates before writing and ``load_table`` validates after
reading, so a table on disk is always a valid one; load -> save round-trips exactly.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tfser.annotations import schema
from tfser.annotations import validation
from tfser.fileio import atomic

META_FILE = "meta.json"
UTTERANCES_FILE = "utterances.parquet"
RATINGS_FILE = "ratings.parquet"
TRACES_FILE = "traces.parquet"
_VERSION_KEY = b"tfser.schema_version"


def _write_parquet(frame: pd.DataFrame, path: str) -> None:
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(arrow.schema.metadata or {})
    metadata[_VERSION_KEY] = str(schema.SCHEMA_VERSION).encode()
    arrow = arrow.replace_schema_metadata(metadata)
    with atomic.atomic_path(path) as tmp:
        pq.write_table(arrow, tmp)


def _read_parquet(path: str) -> pd.DataFrame:
    if not os.path.exists(path):
        raise FileNotFoundError(f"annotation table file missing: {path}")
    arrow = pq.read_table(path)
    version = (arrow.schema.metadata or {}).get(_VERSION_KEY)
    if version is None or int(version) != schema.SCHEMA_VERSION:
        raise validation.AnnotationValidationError([validation.Problem(
            os.path.basename(path), None,
            f"schema version {version!r} is not the supported {schema.SCHEMA_VERSION}")])
    return arrow.to_pandas()


def _utterances_to_disk(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["extra"] = frame["extra"].map(lambda e: json.dumps(e, sort_keys=True))
    return frame


def _utterances_from_disk(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["extra"] = frame["extra"].map(lambda s: json.loads(s) if s else {})
    return schema.normalise_utterances(frame)


def save_table(table: schema.AnnotationTable, directory: str, validate: bool = True) -> str:
    """Validates and writes ``table`` to ``directory``; returns the directory."""
    if validate:
        validation.validate(table)
    os.makedirs(directory, exist_ok=True)
    _write_parquet(_utterances_to_disk(table.utterances), os.path.join(directory, UTTERANCES_FILE))
    ratings = table.ratings.copy()
    ratings["secondary"] = ratings["secondary"].map(list)
    # An explicit list<string> type keeps empty lists typed on a table with no secondaries.
    arrow_ratings = pa.Table.from_pandas(ratings, preserve_index=False)
    idx = arrow_ratings.schema.get_field_index("secondary")
    arrow_ratings = arrow_ratings.set_column(
        idx, "secondary", pa.array(ratings["secondary"].tolist(), type=pa.list_(pa.string())))
    metadata = {_VERSION_KEY: str(schema.SCHEMA_VERSION).encode()}
    arrow_ratings = arrow_ratings.replace_schema_metadata(
        {**(arrow_ratings.schema.metadata or {}), **metadata})
    with atomic.atomic_path(os.path.join(directory, RATINGS_FILE)) as tmp:
        pq.write_table(arrow_ratings, tmp)
    _write_parquet(table.traces, os.path.join(directory, TRACES_FILE))
    # Key order is meaningful (the order of categories and dimensions), so keep it.
    atomic.write_json(os.path.join(directory, META_FILE), table.meta.to_dict(), indent=2)
    return directory


def load_table(directory: str, validate: bool = True) -> schema.AnnotationTable:
    """Reads a table directory written by :func:`save_table` (and validates it)."""
    meta_path = os.path.join(directory, META_FILE)
    if not os.path.exists(meta_path):
        raise FileNotFoundError(f"not an annotation table directory (no {META_FILE}): {directory}")
    with open(meta_path, encoding="utf-8") as handle:
        meta = schema.TableMeta.from_dict(json.load(handle))
    if meta.schema_version != schema.SCHEMA_VERSION:
        raise validation.AnnotationValidationError([validation.Problem(
            META_FILE, None, f"schema version {meta.schema_version} is not the supported "
            f"{schema.SCHEMA_VERSION}")])
    table = schema.AnnotationTable(
        meta=meta,
        utterances=_utterances_from_disk(_read_parquet(os.path.join(directory, UTTERANCES_FILE))),
        ratings=schema.normalise_ratings(_read_parquet(os.path.join(directory, RATINGS_FILE)),
                                         list(meta.dimensions)),
        traces=schema.normalise_traces(_read_parquet(os.path.join(directory, TRACES_FILE))),
        root=os.path.abspath(directory),
    )
    if validate:
        validation.validate(table)
    return table


def tables_equal(left: schema.AnnotationTable, right: schema.AnnotationTable) -> bool:
    """True when two tables hold the same metadata and rows (used by round-trip tests)."""
    if left.meta.to_dict() != right.meta.to_dict():
        return False
    try:
        pd.testing.assert_frame_equal(left.utterances, right.utterances)
        pd.testing.assert_frame_equal(
            left.ratings.assign(secondary=left.ratings["secondary"].map(tuple)),
            right.ratings.assign(secondary=right.ratings["secondary"].map(tuple)))
        pd.testing.assert_frame_equal(left.traces, right.traces)
    except AssertionError:
        return False
    return True
