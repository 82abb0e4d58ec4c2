"""Evaluation outputs on disk: predictions, metrics.json, report.md and its figures.

:func:`write_outputs` fills an output directory with::

    predictions.parquet   one row per utterance (tfser.evaluation.columns layout)
    predictions.csv       the same; sequence cells as JSON lists
    metrics.json          the metrics dict (tfser.evaluation.metrics), run description
                          and the command that reproduces it
    report.md             the command on top, a summary table per head (pooled, mean
                          +- std over folds, each fold), per-class tables and figures
    <head>_confusion.png  pooled confusion matrix of every head with class decisions
    <head>_recall.png     pooled per-class recall, with the UA as a dashed line
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from tfser.evaluation import plots
from tfser.evaluation.columns import HeadLayout, csv_ready
from tfser.evaluation.metrics import class_report, lookup, scored_reference, summary_columns
from tfser.fileio import atomic

PREDICTIONS_PARQUET = "predictions.parquet"
PREDICTIONS_CSV = "predictions.csv"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
COUNTS = ("num_samples", "num_ratings", "num_frames")


def json_safe(value: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays converted, NaN and inf as None."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_predictions(frame: pd.DataFrame, out_dir: str) -> Dict[str, str]:
    """Writes ``predictions.parquet`` and ``predictions.csv``; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    parquet = os.path.join(out_dir, PREDICTIONS_PARQUET)
    csv = os.path.join(out_dir, PREDICTIONS_CSV)
    with atomic.atomic_path(parquet) as tmp:
        frame.to_parquet(tmp, index=False)
    with atomic.atomic_path(csv) as tmp:
        csv_ready(frame).to_csv(tmp, index=False)
    return {"parquet": parquet, "csv": csv}


def read_predictions(out_dir: str) -> pd.DataFrame:
    """The ``predictions.parquet`` of an evaluation directory."""
    return pd.read_parquet(os.path.join(out_dir, PREDICTIONS_PARQUET))


def read_metrics(out_dir: str) -> Dict[str, Any]:
    """The ``metrics.json`` of an evaluation directory."""
    with open(os.path.join(out_dir, METRICS_FILE), encoding="utf-8") as handle:
        return json.load(handle)


def write_metrics(metrics: Mapping[str, Any], out_dir: str) -> str:
    """Writes ``metrics.json`` (strict JSON: undefined values are null)."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, METRICS_FILE)
    atomic.write_text(path, json.dumps(json_safe(metrics), indent=1, allow_nan=False) + "\n")
    return path


def _file_stem(head: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", head)


def plot_head(head_metrics: Mapping[str, Any], layout: HeadLayout,
              out_dir: str) -> List[Dict[str, str]]:
    """Draws the pooled confusion matrix and per-class recall of a head with class
    decisions (categorical, soft and per-rater heads; nothing for the others).

    Returns:
      ``[{"caption", "file"}]`` with file names relative to ``out_dir``.
    """
    report = class_report(head_metrics["pooled"])
    if report is None:
        return []
    stem = _file_stem(layout.head)
    which = "" if layout.family == "categorical" else " (against the top target class)"
    figures = []
    confusion = f"{stem}_confusion.png"
    plots.plot_confusion_matrix(np.asarray(report["confusion"], dtype=np.float64),
                                layout.classes, os.path.join(out_dir, confusion),
                                title=f"{layout.head}: pooled confusion{which}")
    figures.append({"caption": f"{layout.head}: confusion matrix, pooled, rows "
                               f"normalised{which}", "file": confusion})
    recall = [np.nan if report["per_class_recall"][c] is None else
              report["per_class_recall"][c] for c in layout.classes]
    recall_file = f"{stem}_recall.png"
    plots.plot_per_class_recall(recall, layout.classes, os.path.join(out_dir, recall_file),
                                title=f"{layout.head}: per-class recall, pooled{which}",
                                reference=report["ua"])
    figures.append({"caption": f"{layout.head}: per-class recall, pooled (dashed: UA)"
                               f"{which}", "file": recall_file})
    return figures


def _format(value: Any, path: str) -> str:
    if value is None:
        return "–"
    if path.rsplit("/", 1)[-1] in COUNTS:
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def head_summary_rows(head_metrics: Mapping[str, Any], layout: HeadLayout,
                      include_folds: bool = True) -> List[List[str]]:
    """Rows ``[scope, value, ...]`` of the summary table of one head: pooled, mean +-
    std over folds (several folds only), then each fold; the columns are
    :func:`~tfser.evaluation.metrics.summary_columns` of the head and the reference it
    was scored against, if any."""
    columns = summary_columns(layout, scored_reference(head_metrics))
    per_fold = head_metrics["per_fold"]
    rows = [["pooled"] + [_format(lookup(head_metrics["pooled"], p), p) for _, p in columns]]
    if len(per_fold) > 1:
        mean, std = head_metrics["fold_mean"], head_metrics["fold_std"]
        cells = []
        for _, path in columns:
            m, s = mean.get(path), std.get(path)
            cells.append("–" if m is None else
                         f"{_format(m, path)} ± {_format(s, path)}" if s is not None
                         else _format(m, path))
        rows.append([f"mean ± std over {len(per_fold)} folds"] + cells)
    if include_folds:
        for fold, report in per_fold.items():
            rows.append([f"fold {fold}"] + [_format(lookup(report, p), p) for _, p in columns])
    return rows


def _per_class_lines(report: Mapping[str, Any], classes: Sequence[str]) -> List[str]:
    rows = [[c, str(report["support"][c]),
             _format(report["per_class_recall"][c], ""),
             _format(report["per_class_precision"][c], "")] for c in classes]
    return _table(["class", "support", "recall", "precision"], rows)


def _run_lines(metrics: Mapping[str, Any]) -> List[str]:
    run = metrics.get("run") or {}
    folds = metrics.get("folds", [])
    rows = [[key, str(value)] for key, value in (
        ("model dir", run.get("model_dir")), ("experiment", run.get("experiment")),
        ("data dir", run.get("data_dir")), ("part", run.get("part")),
        ("checkpoint", run.get("checkpoint"))) if value is not None]
    total = run.get("num_folds_in_protocol")
    protocol = run.get("protocol")
    described = f"{len(folds)}" + (f" of {total}" if total else "") + \
        (f" ({protocol})" if protocol else "")
    rows.append(["folds", f"{described}: {', '.join(folds)}"])
    rows.append(["utterances", str(metrics.get("num_utterances"))])
    return _table(["", ""], rows)


def render_report(metrics: Mapping[str, Any], layouts: Mapping[str, HeadLayout],
                  figures: Optional[Mapping[str, List[Dict[str, str]]]] = None) -> str:
    """The Markdown text of ``report.md``."""
    figures = figures or {}
    run = metrics.get("run") or {}
    title = run.get("experiment") or run.get("model_dir") or "predictions"
    lines = [f"# Evaluation: {title}", "", "Reproduce:", "", "```",
             metrics.get("command") or "(command not recorded)", "```", ""]
    if metrics.get("working_directory"):
        lines += [f"Working directory: `{metrics['working_directory']}`.", ""]
    lines += _run_lines(metrics) + [""]
    for entry in metrics.get("skipped_folds") or []:
        lines += [f"Skipped fold `{entry['fold']}`: {entry['reason']}.", ""]
    flagged = metrics.get("input_range") or {}
    if flagged.get("utterances"):
        lines += [f"Inputs out of range: {flagged['utterances']} utterance(s) have normalised "
                  f"features beyond +-{flagged['clip_sigma']:g} standard deviations of the "
                  f"training statistics ({flagged['values']} values, clipped; largest |z| "
                  f"{flagged['max_abs_z']:.1f}), e.g. {', '.join(flagged['examples'])}; "
                  "column `out_of_range_features` of the predictions lists them.", ""]
    lines += [f"Files: [{PREDICTIONS_PARQUET}]({PREDICTIONS_PARQUET}), "
              f"[{PREDICTIONS_CSV}]({PREDICTIONS_CSV}), [{METRICS_FILE}]({METRICS_FILE}).",
              ""]
    for head, layout in layouts.items():
        head_metrics = metrics["heads"][head]
        what = "attributes" if layout.family in ("regression", "sequence") else "classes"
        size = f"{len(layout.classes)} {what}"
        raters = f", {len(layout.raters)} raters" if layout.raters else ""
        lines += [f"## {head} ({layout.kind}, {size}{raters})", ""]
        header = ["scope"] + [label for label, _ in
                              summary_columns(layout, scored_reference(head_metrics))]
        lines += _table(header, head_summary_rows(head_metrics, layout)) + [""]
        report = class_report(head_metrics["pooled"])
        if report is not None:
            lines += ["Pooled, per class:", ""] + _per_class_lines(report, layout.classes)
            lines += [""]
        for figure in figures.get(head, []):
            lines += [f"![{figure['caption']}]({figure['file']})", ""]
    return "\n".join(lines)


def write_outputs(out_dir: str, frame: pd.DataFrame, metrics: Mapping[str, Any],
                  layouts: Mapping[str, HeadLayout]) -> Dict[str, str]:
    """Writes predictions, ``metrics.json``, the figures and ``report.md``.

    Args:
      out_dir: Output directory (created).
      frame: The predictions table.
      metrics: :func:`tfser.evaluation.metrics.compute_metrics` output, optionally with
        ``command``, ``working_directory`` and ``run`` (model dir, experiment, data dir,
        part, checkpoint, protocol, ``num_folds_in_protocol``) added.
      layouts: The heads' layouts.

    Returns:
      ``{"parquet", "csv", "metrics", "report"}`` paths, plus ``"<head>/<file>"`` for
      each figure.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = write_predictions(frame, out_dir)
    paths["metrics"] = write_metrics(metrics, out_dir)
    figures = {head: plot_head(metrics["heads"][head], layout, out_dir)
               for head, layout in layouts.items()}
    for head, items in figures.items():
        for item in items:
            paths[f"{head}/{item['file']}"] = os.path.join(out_dir, item["file"])
    report = os.path.join(out_dir, REPORT_FILE)
    atomic.write_text(report, render_report(metrics, layouts, figures) + "\n")
    paths["report"] = report
    return paths
