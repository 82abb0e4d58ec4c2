"""Featurization on Apache Beam: annotation table -> sharded TFRecords + dataset_info.json.

Entry points: :func:`build_pipeline` (Python) and ``tfser-featurize`` (command line,
``pipelines/featurize.py``); configurations in ``configs/featurize/*.yaml`` are read by
:func:`load_config`. The DoFns only call :mod:`tfser.features` and its
:mod:`~tfser.features.example_codec`; the pure per-utterance work is in
:mod:`tfser.beam.work` and is usable without Beam.
"""

from tfser.beam.config import (FeaturizeConfig, SelectConfig, SplitConfig, TraceConfig,
                               load_config)
from tfser.beam.dataset_info import (
    CONFIG_FILE, DATASET_INFO_FILE, EXAMPLES_DIR, REJECTS_FILE, ReconciliationError,
    feature_specs, fold_files, label_specs, read_info)
from tfser.beam.pipeline import FeaturizeResult, build_pipeline, make_pipeline_options
from tfser.beam.plan import Plan, make_plan

__all__ = [
    "CONFIG_FILE", "DATASET_INFO_FILE", "EXAMPLES_DIR", "REJECTS_FILE", "FeaturizeConfig",
    "FeaturizeResult", "Plan", "ReconciliationError", "SelectConfig", "SplitConfig", "TraceConfig",
    "build_pipeline", "feature_specs", "fold_files", "label_specs", "load_config",
    "make_pipeline_options", "make_plan", "read_info",
]
