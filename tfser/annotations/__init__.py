"""The unified multi-annotator table: typed records, Parquet I/O, validation, splits."""

from tfser.annotations import splits
from tfser.annotations.io import load_table, save_table, tables_equal
from tfser.annotations.schema import (
    SCHEMA_VERSION, AnnotationTable, Rating, TableMeta, Trace, Utterance, build_table)
from tfser.annotations.validation import AnnotationValidationError, Problem, find_problems, validate

__all__ = [
    "SCHEMA_VERSION", "AnnotationTable", "AnnotationValidationError", "Problem", "Rating",
    "TableMeta", "Trace", "Utterance", "build_table", "find_problems", "load_table",
    "save_table", "splits", "tables_equal", "validate",
]
