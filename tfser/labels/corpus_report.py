"""What a corpus table says before any training: counts, raw votes, plurality, agreement.

:func:`summarise` turns a loader's result into the figures ``tfser-annotate`` prints
and writes to ``summary.json``; :func:`print_summary` prints them as plain text. The
figures are statistics of the ratings, so they live beside the label views they read:

* counts per speaker, official split and intended label;
* raw primary votes per rater type and condition (every rating row);
* the plurality label distribution of each vote group (ties dropped);
* agreement per vote group: Fleiss' kappa and nominal Krippendorff's alpha of the
  primary categories, interval alpha of each dimension. Alpha is skipped, with the
  reason, when every rater id rates a single utterance (CREMA-D's anonymous votes) or
  the raters x utterances matrix would be too large;
* a listener test the corpus ships as aggregates (EmoDB's ``recognition_pct``).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import pandas as pd

from tfser.annotations import schema
from tfser.corpora.base import LoadResult
from tfser.labels import agreement as agreement_lib
from tfser.labels.derive import derive

# Krippendorff's alpha builds a raters x utterances matrix; beyond this many cells the
# figure is skipped rather than exhausting memory.
MAX_ALPHA_CELLS = 50_000_000
DEFAULT_VOTE_TYPES = ("observer", "crowd")
VoteGroup = Tuple[Tuple[str, ...], Optional[str]]


def _counts(values) -> Dict[str, int]:
    series = pd.Series([("(none)" if v is None else str(v)) for v in values], dtype=object)
    return {str(k): int(v) for k, v in series.value_counts().sort_index().items()}


def vote_groups(table: schema.AnnotationTable) -> List[VoteGroup]:
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
    groups: List[VoteGroup] = [(types, c) for c in conditions]
    if selected["condition"].isna().any():
        # Rows without a condition can only be selected together with all the others.
        groups.append((types, None))
    return groups


def group_name(types: Tuple[str, ...], condition: Optional[str],
               conditional: bool = False) -> str:
    """``"crowd / voice"``; ``"crowd / all conditions"`` when other groups have one."""
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


def _figure(compute: Callable[[], float]) -> Any:
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


def summarise(result: LoadResult) -> Dict[str, Any]:
    """Everything ``tfser-annotate`` prints and writes to ``summary.json``."""
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
        name = group_name(types, condition, conditional)
        summary["plurality"][name] = plurality_distribution(table, types, condition)
        summary["agreement"][name] = agreement(table, types, condition)
    return summary


def _print_counts(title: str, counts: Dict[str, int], out) -> None:
    print(f"\n{title}", file=out)
    width = max((len(k) for k in counts), default=0)
    for key, value in counts.items():
        print(f"  {key:<{width}}  {value}", file=out)


def print_summary(summary: Dict[str, Any], out=None) -> None:
    """Prints a :func:`summarise` result in plain text (to ``out``, default stdout)."""
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
