"""tfser-annotate: turns a corpus on disk into the unified multi-annotator table.

Usage::

    tfser-annotate --corpus=NAME --root=DIR --out=DIR [--audio_check]
                   [--option key=value ...]

``NAME`` is one of :data:`tfser.corpora.LOADERS` (emodb, iemocap, msp_podcast, crema_d,
ravdess, sewa, manifest, synthetic). ``--option`` passes loader options; values are read
as JSON when they parse (``--option=require_audio=true``, ``--option=categories=["a","b"]``)
and as text otherwise (``--option=manifest=my.csv``).

Writes to ``--out``:

* the table (``meta.json``, ``utterances.parquet``, ``ratings.parquet``,
  ``traces.parquet``; see :mod:`tfser.annotations.io`);
* ``rejects.csv`` - every item set aside, with its reason (always written, maybe empty);
* ``summary.json`` - the counts printed on screen;
* with ``--audio_check``, ``audio_report.csv`` - every utterance whose audio is missing,
  unreadable, silent, too short or clipped. Loaders that check audio themselves
  (``audio_check`` option: emodb, crema_d) record the findings in
  ``extra["audio_problem"]``; for the others every file is decoded here.

Prints counts per speaker, split and class (raw primary votes per rater type and
condition, and the plurality label distribution), agreement (Fleiss' kappa and nominal
Krippendorff's alpha per vote group; alpha is skipped when every rater id rates a single
utterance, as for CREMA-D's anonymous vote counts), and ``items found = written +
rejected``. Exits with status 1 when those numbers do not reconcile, 2 when the corpus
cannot be read.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
from absl import app
from absl import flags

from tfser.annotations import io as table_io
from tfser.annotations import schema
from tfser.corpora import LOADERS, get_loader
from tfser.corpora.base import LoadResult
from tfser.labels import agreement as agreement_lib
from tfser.audio import audio_io
from tfser.labels import derive

FLAGS = flags.FLAGS
_DEFINED = False
# Krippendorff's alpha builds a raters x utterances matrix; beyond this many cells the
# figure is skipped rather than exhausting memory.
MAX_ALPHA_CELLS = 50_000_000
# Longer audio reports are only written to the CSV, not printed in full.
MAX_PRINTED_PROBLEMS = 20
AUDIO_REPORT_FILE = "audio_report.csv"
SUMMARY_FILE = "summary.json"
DEFAULT_VOTE_TYPES = ("observer", "crowd")


def define_flags() -> None:
    """Defines the command-line flags (at run time, so pipelines can share ``--out``)."""
    global _DEFINED
    if _DEFINED:
        return
    flags.DEFINE_enum("corpus", None, sorted(LOADERS), "Corpus loader to use.")
    flags.DEFINE_string("root", None, "Folder of the corpus on disk.")
    flags.DEFINE_string("out", None, "Output folder of the unified table.")
    flags.DEFINE_boolean("audio_check", False,
                         "Open every audio file and report missing, unreadable, silent, "
                         "too short or clipped ones in audio_report.csv.")
    flags.DEFINE_multi_string("option", [], "Loader option key=value (value as JSON when "
                                            "it parses, else text); repeatable.")
    for name in ("corpus", "root", "out"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


# --- loading ---------------------------------------------------------------------------

def parse_options(items: Sequence[str]) -> Dict[str, Any]:
    """``["key=value", ...]`` -> options; values are JSON when they parse, else text.

    Raises:
      ValueError: For an item without ``=``.
    """
    options: Dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--option '{item}' is not key=value")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def load(corpus: str, root: str, audio_check: bool = False,
         options: Optional[Dict[str, Any]] = None,
         out_dir: Optional[str] = None) -> Tuple[LoadResult, bool]:
    """Runs the corpus loader.

    The loader is called directly rather than through ``load_corpus`` so that a count
    mismatch still leaves a result whose rejects can be written and numbers printed.

    Returns:
      ``(result, checked)``: the loader's result and whether the loader itself checked
      the audio (it accepts an ``audio_check`` option).
    """
    loader = get_loader(corpus)
    options = dict(options or {})
    accepts = "audio_check" in inspect.signature(loader).parameters
    if audio_check and accepts:
        options["audio_check"] = True
    # Loaders that write arrays (SEWA traces) put them beside the table, so the
    # output directory is self-contained and portable.
    if out_dir and "table_dir" in inspect.signature(loader).parameters:
        options.setdefault("table_dir", out_dir)
    return loader(root, **options), bool(audio_check and accepts)


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


# --- summary ---------------------------------------------------------------------------

def _counts(values) -> Dict[str, int]:
    series = pd.Series([("(none)" if v is None else str(v)) for v in values], dtype=object)
    return {str(k): int(v) for k, v in series.value_counts().sort_index().items()}


def vote_groups(table: schema.AnnotationTable) -> List[Tuple[Tuple[str, ...], Optional[str]]]:
    """(rater types, condition) selections worth summarising.

    Observer and crowd ratings when there are any (else every rater type present, e.g.
    EmoDB's intended labels), once per condition when the table has conditions, and
    once over all rows when some rows have no condition.
    """
    ratings = table.ratings
    present = [t for t in schema.RATER_TYPES if (ratings["rater_type"] == t).any()]
    types = tuple(t for t in DEFAULT_VOTE_TYPES if t in present) or tuple(present)
    if not types:
        return []
    selected = ratings[ratings["rater_type"].isin(types)]
    conditions = sorted({c for c in selected["condition"] if c is not None})
    groups = [(types, c) for c in conditions]
    if selected["condition"].isna().any():
        # Rows without a condition can only be selected together with all the others.
        groups.append((types, None))
    return groups


def _group_name(types: Tuple[str, ...], condition: Optional[str],
                conditional: bool = False) -> str:
    if condition:
        return "+".join(types) + f" / {condition}"
    return "+".join(types) + (" / all conditions" if conditional else "")


def raw_vote_counts(table: schema.AnnotationTable) -> pd.DataFrame:
    """Primary categories counted per (rater_type, condition) - every rating row."""
    ratings = table.ratings[table.ratings["primary"].notna()]
    if ratings.empty:
        return pd.DataFrame()
    group = ratings["rater_type"] + ratings["condition"].map(
        lambda c: f" / {c}" if c is not None else "")
    return pd.crosstab(ratings["primary"].astype(str), group.astype(str))


def plurality_distribution(table: schema.AnnotationTable, types: Tuple[str, ...],
                           condition: Optional[str]) -> Dict[str, int]:
    """Plurality labels (ties dropped) of one vote group: class or status -> utterances."""
    spec = {"views": [{"name": "hard", "kind": "hard"}], "rater_types": list(types),
            "condition": condition}
    frame = derive(table, spec).to_frame()
    outcome = [label if label is not None else f"({status})"
               for label, status in zip(frame["hard"], frame["hard/status"])]
    return _counts(outcome)


def _alpha_skip_reason(ratings: pd.DataFrame, num_utterances: int) -> Optional[str]:
    """Why Krippendorff's alpha is not computed on these rating rows (None = compute)."""
    if ratings.empty or ratings.groupby("utt_id").size().max() < 2:
        return "not computed: fewer than 2 ratings per utterance"
    per_rater = ratings.groupby("rater_id")["utt_id"].nunique()
    if per_rater.max() < 2:
        return "not computed: every rater id rates one utterance (anonymous votes)"
    cells = len(per_rater) * num_utterances
    if cells > MAX_ALPHA_CELLS:
        return f"not computed: the raters x utterances matrix would have {cells} cells"
    return None


def _figure(compute) -> Any:
    try:
        return float(compute())
    except ValueError as error:
        return f"not computed: {error}"


def agreement(table: schema.AnnotationTable, types: Tuple[str, ...],
              condition: Optional[str]) -> Dict[str, Any]:
    """Agreement of one vote group (text saying why when a figure is not computed).

    Fleiss' kappa and nominal Krippendorff's alpha of the primary categories, and
    interval Krippendorff's alpha of each dimensional attribute.
    """
    classes = list(table.meta.categories)
    ratings = table.ratings[table.ratings["rater_type"].isin(types)]
    if condition is not None:
        ratings = ratings[ratings["condition"] == condition]
    categorical = ratings[ratings["primary"].notna()]
    figures: Dict[str, Any] = {}
    if not categorical.empty:
        if categorical.groupby("utt_id").size().max() < 2:
            figures["fleiss_kappa"] = "not computed: fewer than 2 ratings per utterance"
        else:
            figures["fleiss_kappa"] = _figure(lambda: agreement_lib.table_fleiss_kappa(
                table, classes, rater_types=types, condition=condition))
        skip = _alpha_skip_reason(categorical, len(table.utterances))
        figures["krippendorff_alpha"] = skip or _figure(
            lambda: agreement_lib.table_krippendorff_alpha(
                table, classes, rater_types=types, condition=condition))
    for name in table.dimensions:
        rated = ratings[ratings[name].notna()]
        if rated.empty:
            continue
        skip = _alpha_skip_reason(rated, len(table.utterances))
        figures[f"krippendorff_alpha/{name}"] = skip or _figure(
            lambda name=name: agreement_lib.table_dimension_alpha(
                table, name, rater_types=types, condition=condition))
    return figures


def summarise(result: LoadResult) -> Dict[str, Any]:
    """Everything printed and written to ``summary.json``."""
    table = result.table
    utts = table.utterances
    summary: Dict[str, Any] = dict(table.summary())
    summary["items_found"] = result.items_found
    summary["rejected"] = len(result.rejects)
    summary["per_speaker"] = _counts(utts["speaker_id"])
    summary["per_split"] = _counts(utts["official_split"])
    summary["per_intended_label"] = _counts(utts["intended_label"])
    raw = raw_vote_counts(table)
    summary["raw_votes"] = {str(col): {str(k): int(v) for k, v in raw[col].items() if v}
                            for col in raw.columns}
    summary["listener_test"] = listener_test(utts)
    summary["plurality"] = {}
    summary["agreement"] = {}
    groups = vote_groups(table)
    conditional = any(c is not None for _, c in groups)
    for types, condition in groups:
        name = _group_name(types, condition, conditional)
        summary["plurality"][name] = plurality_distribution(table, types, condition)
        summary["agreement"][name] = agreement(table, types, condition)
    return summary


def listener_test(utts: pd.DataFrame) -> Dict[str, Any]:
    """Per-utterance listener agreement that a corpus ships as aggregates (EmoDB's
    perception test: ``recognition_pct`` in ``extra``); empty when the corpus has none."""
    recognition = pd.to_numeric(pd.Series(
        [extra.get("recognition_pct") for extra in utts["extra"]], index=utts.index),
        errors="coerce")
    attached = recognition.notna()
    if not attached.any():
        return {}
    by_label = recognition[attached].groupby(utts.loc[attached, "intended_label"]).mean()
    return {
        "attached": int(attached.sum()),
        "of": int(len(utts)),
        "mean_recognition_pct": round(float(recognition[attached].mean()), 2),
        "min_recognition_pct": round(float(recognition[attached].min()), 2),
        "mean_recognition_pct_by_label": {str(k): round(float(v), 2) for k, v in by_label.items()},
    }


# --- output ----------------------------------------------------------------------------

def _print_counts(title: str, counts: Dict[str, int], out) -> None:
    print(f"\n{title}", file=out)
    width = max((len(k) for k in counts), default=0)
    for key, value in counts.items():
        print(f"  {key:<{width}}  {value}", file=out)


def print_summary(summary: Dict[str, Any], out=None) -> None:
    """Prints the summary in plain text."""
    out = out or sys.stdout
    print(f"corpus {summary['corpus']}: {summary['utterances']} utterances, "
          f"{summary['speakers']} speakers, {summary['ratings']} ratings by "
          f"{summary['raters']} rater ids, {summary['traces']} traces", file=out)
    _print_counts("utterances per speaker", summary["per_speaker"], out)
    _print_counts("utterances per official split", summary["per_split"], out)
    _print_counts("utterances per intended label", summary["per_intended_label"], out)
    test = summary.get("listener_test")
    if test:
        print(f"\nlistener test attached to {test['attached']} of {test['of']} utterances: "
              f"recognition mean {test['mean_recognition_pct']:.1f} %, "
              f"min {test['min_recognition_pct']:.1f} %", file=out)
        _print_counts("mean recognition % per intended label",
                      test["mean_recognition_pct_by_label"], out)
    if summary["raw_votes"]:
        print("\nraw primary votes (rater type / condition)", file=out)
        print(pd.DataFrame(summary["raw_votes"]).fillna(0).astype(int).to_string(), file=out)
    for name, counts in summary["plurality"].items():
        _print_counts(f"plurality label ({name}; ties dropped)", counts, out)
    for name, figures in summary["agreement"].items():
        print(f"\nagreement ({name})", file=out)
        for key, value in figures.items():
            shown = f"{value:.3f}" if isinstance(value, float) else value
            print(f"  {key}: {shown}", file=out)


def write_outputs(result: LoadResult, out_dir: str, summary: Dict[str, Any],
                  report: Optional[pd.DataFrame]) -> None:
    """Writes the table, rejects.csv, summary.json and (optionally) the audio report."""
    table_io.save_table(result.table, out_dir)
    result.write_rejects(out_dir)
    with open(os.path.join(out_dir, SUMMARY_FILE), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
    if report is not None:
        report.to_csv(os.path.join(out_dir, AUDIO_REPORT_FILE), index=False)


def annotate(corpus: str, root: str, out_dir: str, audio_check: bool = False,
             options: Optional[Dict[str, Any]] = None, out=None) -> int:
    """Loads, summarises and writes one corpus; returns the process exit status."""
    out = out or sys.stdout
    try:
        result, checked = load(corpus, root, audio_check, options, out_dir)
    except (FileNotFoundError, ValueError, ImportError) as error:
        print(f"tfser-annotate: cannot load {corpus} from {root}: {error}", file=sys.stderr)
        return 2
    summary = summarise(result)
    report = audio_report(result.table, checked) if audio_check else None
    write_outputs(result, out_dir, summary, report)
    print_summary(summary, out)
    if report is not None:
        print(f"\naudio problems: {len(report)} (written to {AUDIO_REPORT_FILE})", file=out)
        for row in report.head(MAX_PRINTED_PROBLEMS).itertuples(index=False):
            print(f"  {row.utt_id}: {row.problem}", file=out)
        if len(report) > MAX_PRINTED_PROBLEMS:
            print(f"  ... and {len(report) - MAX_PRINTED_PROBLEMS} more", file=out)
    print(f"\nrejects: {len(result.rejects)} (written to rejects.csv)", file=out)
    ok, line = reconcile(result)
    print(line, file=out)
    return 0 if ok else 1


def main(argv) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        options = parse_options(FLAGS.option)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    return annotate(FLAGS.corpus, FLAGS.root, FLAGS.out, FLAGS.audio_check, options)


def run() -> None:
    """Console-script entry point (``tfser-annotate``)."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
