"""Annotate one corpus: load it, summarise its ratings, write the table and reports.

:func:`annotate` is what ``tfser-annotate`` runs. It writes to ``out_dir``:

* the table (``meta.json``, ``utterances.parquet``, ``ratings.parquet``,
  ``traces.parquet``; see :mod:`tfser.annotations.io`);
* ``rejects.csv`` - every item set aside, with its reason (always written, maybe empty);
* ``summary.json`` - the counts printed (see :mod:`tfser.labels.corpus_report`);
* with ``audio_check``, ``audio_report.csv`` - every utterance whose audio is missing,
  unreadable, silent, too short or clipped. Loaders that check audio themselves
  (declaring the ``audio_check`` option: emodb, crema_d) record the findings in
  ``extra["audio_problem"]``; for the others every file is decoded here.

It loads and summarises, so it stands on the labels floor (corpora may not import
labels).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
import pandas as pd

from tfser import corpora
from tfser.annotations import io as table_io
from tfser.annotations import schema
from tfser.audio import audio_io
from tfser.config.errors import UserError
from tfser.corpora.base import LoadResult
from tfser.corpora.options import parse_options
from tfser.fileio import atomic
from tfser.labels.corpus_report import print_summary, summarise

# Longer audio reports are only written to the CSV, not printed in full.
MAX_PRINTED_PROBLEMS = 20
AUDIO_REPORT_FILE = "audio_report.csv"
SUMMARY_FILE = "summary.json"


def load(corpus: str, root: str, audio_check: bool = False,
         options: Optional[Mapping[str, Any]] = None,
         out_dir: Optional[str] = None) -> Tuple[LoadResult, bool]:
    """Runs the corpus loader with checked options.

    Loaders that write arrays (SEWA traces) put them beside the table (``out_dir``), so
    the output folder is self-contained and portable.

    Returns:
      ``(result, checked)``: the loader's result and whether the loader itself checked
      the audio (it declares an ``audio_check`` option).
    """
    result = corpora.load_corpus(corpus, root, options, audio_check=audio_check,
                                 table_dir=out_dir)
    return result, bool(audio_check and corpora.checks_audio(corpus))


def reconcile(result: LoadResult) -> Tuple[bool, str]:
    """Whether items found = written + rejected, and the line that says so."""
    written, rejected = len(result.table.utterances), len(result.rejects)
    ok = result.items_found == written + rejected
    sign = "=" if ok else "!="
    return ok, (f"items found = written + rejected: {result.items_found} {sign} {written} + "
                f"{rejected}")


def audio_report(table: schema.AnnotationTable, checked_by_loader: bool) -> pd.DataFrame:
    """Utterances whose audio has a problem: columns utt_id, audio_path, problem."""
    rows = []
    for utt in table.utterances.itertuples(index=False):
        if checked_by_loader:
            problem = utt.extra.get("audio_problem")
        else:
            start = None if np.isnan(utt.start_s) else float(utt.start_s)
            end = None if np.isnan(utt.end_s) else float(utt.end_s)
            problems = audio_io.check_audio(table.resolve_audio(utt.audio_path),
                                            start_s=start, end_s=end)
            problem = "; ".join(problems) or None
        if problem:
            rows.append({"utt_id": utt.utt_id, "audio_path": utt.audio_path,
                         "problem": problem})
    return pd.DataFrame(rows, columns=["utt_id", "audio_path", "problem"])


def write_outputs(result: LoadResult, out_dir: str, summary: Dict[str, Any],
                  report: Optional[pd.DataFrame]) -> None:
    """Writes the table, rejects.csv, summary.json and (optionally) the audio report."""
    table_io.save_table(result.table, out_dir)
    result.write_rejects(out_dir)
    atomic.write_text(os.path.join(out_dir, SUMMARY_FILE),
                      json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    if report is not None:
        with atomic.atomic_path(os.path.join(out_dir, AUDIO_REPORT_FILE)) as tmp:
            report.to_csv(tmp, index=False)


def _print_report(report: pd.DataFrame, out) -> None:
    print(f"\naudio problems: {len(report)} (written to {AUDIO_REPORT_FILE})", file=out)
    for row in report.head(MAX_PRINTED_PROBLEMS).itertuples(index=False):
        print(f"  {row.utt_id}: {row.problem}", file=out)
    if len(report) > MAX_PRINTED_PROBLEMS:
        print(f"  ... and {len(report) - MAX_PRINTED_PROBLEMS} more", file=out)


def annotate(corpus: str, root: str, out_dir: str, audio_check: bool = False,
             options: Optional[Mapping[str, Any]] = None, out=None) -> int:
    """Loads, summarises and writes one corpus; returns the process exit status.

    Args:
      corpus: One of :data:`tfser.corpora.LOADERS`.
      root: The corpus folder.
      out_dir: Output folder (created).
      audio_check: Also report audio problems in ``audio_report.csv``.
      options: Loader options by name, as text or typed (see each loader's ``OPTIONS``).
      out: Stream the summary is printed to (default stdout).

    Returns:
      0 when written and the counts reconcile, 1 when they do not (the outputs are still
      written, so the rejects can be inspected), 2 when the corpus cannot be loaded (the
      reason is printed to stderr).
    """
    out = out or sys.stdout
    try:
        result, checked = load(corpus, root, audio_check, options, out_dir)
    except (UserError, FileNotFoundError, ValueError, ImportError) as error:
        print(f"tfser-annotate: cannot load {corpus} from {root}: {error}", file=sys.stderr)
        return 2
    summary = summarise(result)
    report = audio_report(result.table, checked) if audio_check else None
    write_outputs(result, out_dir, summary, report)
    print_summary(summary, out)
    if report is not None:
        _print_report(report, out)
    print(f"\nrejects: {len(result.rejects)} (written to rejects.csv)", file=out)
    ok, line = reconcile(result)
    print(line, file=out)
    return 0 if ok else 1


__all__ = ["AUDIO_REPORT_FILE", "SUMMARY_FILE", "annotate", "audio_report", "load",
           "parse_options", "reconcile", "write_outputs"]
