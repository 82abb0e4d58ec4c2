"""Comparing finished evaluations: one table, and "A beats B" always with n and p.

::

    from tfser.evaluation import compare
    table = compare.compare(["eval/000_mtl", "eval/000_hard_pe"], out_dir="cmp")

Each input is an evaluation directory (``metrics.json`` + predictions, written by
``tfser-evaluate``) or a run directory holding one under ``eval/``. Rows are scored on
one head with a decision per utterance (default: the first categorical head every
input has; a soft head is scored by its argmax against each target's unique top class).
With ``reference="emotion"`` every input is instead scored by its head's
``vs_emotion`` block (``tfser-evaluate --reference=emotion``): hard, soft and existence
heads alike against the same hard label on the same utterances (default head: the
first one every input scored against the reference). For every ordered pair
(A, B) three one-tailed tests of "A is better than B" are reported:

- paper 000's two-proportion z-test on WA (it treats the two accuracies as
  independent samples, as the paper does);
- the exact McNemar test on the utterances both systems were scored on (paired: the
  same utterances, so it is the more powerful test when the test sets coincide);
- a paired t-test of UA over the folds both share, when there are at least two.

Outputs in ``out_dir``: ``comparison.json`` (rows, pairs, the command) and
``comparison.md`` (the same as tables, the command on top).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shlex
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from tfser.config.errors import UserError
from tfser.evaluation import report as report_lib
from tfser.evaluation.columns import HeadLayout
from tfser.evaluation.metrics import reference_key
from tfser.fileio import atomic
from tfser.metrics import significance

COMPARISON_JSON = "comparison.json"
COMPARISON_MD = "comparison.md"
EVAL_SUBDIR = "eval"
SCORES = ("ua", "wa", "f1", "macro_f1")
# Head families with one decision per utterance (a soft head's is its argmax).
DECISION_FAMILIES = ("categorical", "soft")


def find_eval_dir(path: str) -> str:
    """The evaluation directory behind ``path`` (itself, or ``<run>/eval``).

    Raises:
      UserError: Neither ``path`` nor ``path/eval`` holds a ``metrics.json``.
    """
    for candidate in (path, os.path.join(path, EVAL_SUBDIR)):
        if os.path.isfile(os.path.join(candidate, report_lib.METRICS_FILE)):
            return candidate
    raise UserError(f"no {report_lib.METRICS_FILE} in {path} or {path}/{EVAL_SUBDIR}, "
                    "run tfser-evaluate on it first")


def scorable(head_metrics: Mapping[str, Any], reference: Optional[str] = None) -> bool:
    """Whether a head's metrics give one decision per utterance to compare: a
    categorical or soft head, or with ``reference`` any head with a
    ``vs_<reference>`` block."""
    if reference is None:
        return head_metrics.get("family") in DECISION_FAMILIES
    return reference_key(reference) in head_metrics.get("pooled", {})


def _default_head(all_metrics: Sequence[Mapping[str, Any]], paths: Sequence[str]) -> str:
    common = None
    for metrics in all_metrics:
        heads = [h for h, m in metrics["heads"].items() if scorable(m, None)]
        common = heads if common is None else [h for h in common if h in heads]
    if not common:
        raise UserError(f"the evaluations {list(paths)} share no categorical head, "
                        "name one with --head")
    return common[0]


def _reference_heads(all_metrics: Sequence[Mapping[str, Any]], paths: Sequence[str],
                     reference: str) -> List[str]:
    """Each input's first head scored against ``reference`` (the heads of a soft and
    an MLEE-only model need not share a name: both are scored on the reference)."""
    heads = []
    for metrics, path in zip(all_metrics, paths):
        scored = [h for h, m in metrics["heads"].items() if scorable(m, reference)]
        if not scored:
            raise UserError(f"{path} has no head scored against reference '{reference}'; "
                            f"re-run tfser-evaluate with --reference={reference}")
        heads.append(scored[0])
    return heads


def _unique_names(names: Sequence[str]) -> List[str]:
    seen: Dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _row(name: str, eval_dir: str, metrics: Mapping[str, Any], head: str,
         reference: Optional[str] = None) -> Dict[str, Any]:
    if head not in metrics["heads"]:
        raise UserError(f"{eval_dir} has no head '{head}' (heads: {sorted(metrics['heads'])}), "
                        "choose a head all inputs share with --head")
    head_metrics = metrics["heads"][head]
    if not scorable(head_metrics, reference):
        if reference is not None:
            raise UserError(f"head '{head}' of {eval_dir} has no scores against reference "
                            f"'{reference}' ({reference_key(reference)}); re-run "
                            f"tfser-evaluate with --reference={reference}")
        raise UserError(f"head '{head}' of {eval_dir} is {head_metrics.get('family')}, "
                        f"tfser-compare scores {' and '.join(DECISION_FAMILIES)} heads")
    pooled = head_scores(head_metrics, head_metrics["pooled"], reference)
    per_fold = []
    for fold, fold_metrics in head_metrics.get("per_fold", {}).items():
        scores = head_scores(head_metrics, fold_metrics, reference)
        per_fold.append({"fold": fold, "n": int(scores.get("num_samples", 0)),
                         **{k: scores.get(k) for k in SCORES}})
    return {"name": name, "eval_dir": os.path.abspath(eval_dir),
            "experiment": metrics.get("run", {}).get("experiment"), "head": head,
            "n": int(pooled.get("num_samples", 0)), "folds": [f["fold"] for f in per_fold],
            "metrics": {k: pooled.get(k) for k in SCORES}, "per_fold": per_fold}


def _correct(eval_dir: str, metrics: Mapping[str, Any], head: str,
             reference: Optional[str] = None) -> pd.Series:
    """Per utterance (index ``fold/utt_id``): was the head's decision right?

    A soft head is scored against each target distribution's unique top class (rows
    whose top class is tied are left out), as its ``argmax`` metrics are. Against a
    reference, every head's single-label decision is scored against the reference's
    class on the rows the reference labels, as its ``vs_<reference>`` metrics are.
    """
    layout = HeadLayout.from_dict(metrics["layouts"][head])
    frame = report_lib.read_predictions(eval_dir)
    index = frame["fold"].astype(str) + "/" + frame["utt_id"].astype(str)
    if reference is not None:
        truth, rows = HeadLayout.from_dict(metrics["reference_layout"]).class_targets(frame)
        decisions = layout.single_label_decisions(frame)
        return pd.Series(decisions[rows] == truth[rows], index=index.to_numpy()[rows])
    arrays = layout.from_frame(frame)
    decisions = layout.decisions(frame)
    rows = np.asarray(arrays.labelled, dtype=bool)
    if layout.family == "soft":
        targets = np.asarray(arrays.targets)
        top = targets.max(axis=1, keepdims=True)
        rows &= (targets == top).sum(axis=1) == 1
        truth = targets.argmax(axis=1)
    else:
        truth = np.asarray(arrays.targets)
    return pd.Series(decisions[rows] == truth[rows], index=index.to_numpy()[rows])


def head_scores(head_metrics: Mapping[str, Any], scope: Mapping[str, Any],
                reference: Optional[str] = None) -> Mapping[str, Any]:
    """The classification scores of one scope (pooled or a fold) of a head: a soft
    head's are those of its ``argmax`` report; against a reference, any head's are
    its ``vs_<reference>`` block."""
    if reference is not None:
        return scope.get(reference_key(reference)) or {}
    if head_metrics.get("family") == "soft":
        return scope.get("argmax") or {}
    return scope


def _nan_to_none(value: float) -> Optional[float]:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _pair(a: Dict[str, Any], b: Dict[str, Any], correct: Mapping[str, pd.Series],
          alpha: float) -> Dict[str, Any]:
    pair: Dict[str, Any] = {"a": a["name"], "b": b["name"]}
    z = significance.two_proportion_ztest(a["metrics"]["wa"], b["metrics"]["wa"], a["n"],
                                          b["n"], alpha=alpha)
    pair["ztest_wa"] = {k: _nan_to_none(v) for k, v in z.to_dict().items()}
    shared = correct[a["name"]].index.intersection(correct[b["name"]].index)
    if len(shared):
        test = significance.mcnemar_exact(correct[a["name"]][shared].to_numpy(),
                                          correct[b["name"]][shared].to_numpy(), alpha=alpha)
        pair["mcnemar"] = {k: _nan_to_none(v) for k, v in test.to_dict().items()}
    else:
        pair["mcnemar"] = None
    folds_b = {f["fold"]: f for f in b["per_fold"]}
    shared_folds = [f for f in a["per_fold"] if f["fold"] in folds_b]
    if len(shared_folds) >= 2:
        test = significance.paired_fold_test([f["ua"] for f in shared_folds],
                                             [folds_b[f["fold"]]["ua"] for f in shared_folds],
                                             alpha=alpha)
        pair["paired_folds_ua"] = {k: _nan_to_none(v) for k, v in test.to_dict().items()}
    else:
        pair["paired_folds_ua"] = None
    return pair


def command_line(paths: Sequence[str], out_dir: str, head: Optional[str] = None,
                 names: Optional[Sequence[str]] = None,
                 reference: Optional[str] = None) -> str:
    """The ``tfser-compare`` command that writes the same comparison."""
    args = list(paths) + [f"--out={out_dir}"]
    if head:
        args.append(f"--head={head}")  # one head, or one per evaluation, comma-separated
    if names:
        args.append(f"--names={','.join(names)}")
    if reference:
        args.append(f"--reference={reference}")
    return "tfser-compare " + " ".join(shlex.quote(a) for a in args)


def compare(paths: Sequence[str], out_dir: Optional[str] = None,
            head: Union[None, str, Sequence[str]] = None,
            names: Optional[Sequence[str]] = None, alpha: float = 0.05,
            reference: Optional[str] = None) -> Dict[str, Any]:
    """Tabulates finished evaluations and tests every ordered pair.

    Args:
      paths: Evaluation directories, or run directories with one under ``eval/``.
      out_dir: Where to write ``comparison.json`` and ``comparison.md`` (None: no files).
      head: Head to compare (default: the first categorical head all inputs share;
        with a reference, each input's first head scored against it), or one head per
        input (e.g. a soft head beside hard ones predicting the same classes).
      names: Row names (default: each run's experiment name, else the folder name).
      alpha: Significance level of every test.
      reference: Score each input's head by its ``vs_<reference>`` block (hard, soft
        and existence heads against the same hard label on the same utterances) instead
        of against its own targets (None, the default).

    Returns:
      ``{"command", "head", "rows": [...], "pairs": [...]}``, plus ``"reference"``
      when one is given.

    Raises:
      UserError: Fewer than two inputs, a missing evaluation, names of the wrong count,
        no shared categorical head, or (with a reference) a head not scored against it.
    """
    if len(paths) < 2:
        raise UserError(f"tfser-compare needs at least two evaluations, got {len(paths)}")
    if names is not None and len(names) != len(paths):
        raise UserError(f"{len(names)} names given for {len(paths)} evaluations, "
                        "give one name per evaluation")
    eval_dirs = [find_eval_dir(p) for p in paths]
    all_metrics = []
    for eval_dir in eval_dirs:
        with open(os.path.join(eval_dir, report_lib.METRICS_FILE), encoding="utf-8") as handle:
            all_metrics.append(json.load(handle))
    if not head:
        head = _default_head(all_metrics, paths) if reference is None else \
            _reference_heads(all_metrics, paths, reference)
    heads = [head] * len(paths) if isinstance(head, str) else list(head)
    if len(heads) != len(paths):
        raise UserError(f"{len(heads)} heads given for {len(paths)} evaluations, "
                        "give one head, or one per evaluation")
    if names is None:
        names = [m.get("run", {}).get("experiment") or os.path.basename(os.path.normpath(p))
                 for m, p in zip(all_metrics, paths)]
    names = _unique_names(list(names))
    rows = [_row(n, d, m, h, reference)
            for n, d, m, h in zip(names, eval_dirs, all_metrics, heads)]
    correct = {n: _correct(d, m, h, reference)
               for n, d, m, h in zip(names, eval_dirs, all_metrics, heads)}
    pairs = [_pair(a, b, correct, alpha) for a, b in itertools.permutations(rows, 2)]
    shown = heads[0] if len(set(heads)) == 1 else ",".join(heads)
    result = {"command": command_line(paths, out_dir or "-", shown, None, reference),
              "head": shown, "alpha": alpha, "rows": rows, "pairs": pairs}
    if reference is not None:
        result["reference"] = reference
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        atomic.write_json(os.path.join(out_dir, COMPARISON_JSON), result)
        atomic.write_text(os.path.join(out_dir, COMPARISON_MD), to_markdown(result))
    return result


def _fmt(value: Optional[float], digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def _fold_spread(row: Mapping[str, Any], key: str) -> str:
    values = [f[key] for f in row["per_fold"] if f.get(key) is not None]
    if len(values) < 2:
        return ""
    return f" ± {np.std(values):.3f}"


def to_markdown(result: Mapping[str, Any]) -> str:
    """The comparison as Markdown: the scores table, then every pair's tests."""
    lines = [f"Reproduce: `{result['command']}`", "",
             f"Head `{result['head']}`"
             + (f" against reference `{result['reference']}`" if result.get("reference")
                else "") + "; scores pooled over folds (± std over folds).", "",
             "| row | UA | WA | F1 (000) | macro F1 | n | folds |", "|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        m = row["metrics"]
        lines.append(f"| {row['name']} | {_fmt(m['ua'])}{_fold_spread(row, 'ua')} | "
                     f"{_fmt(m['wa'])}{_fold_spread(row, 'wa')} | {_fmt(m['f1'])} | "
                     f"{_fmt(m['macro_f1'])} | {row['n']} | {len(row['folds'])} |")
    lines += ["", f"One-tailed tests of \"A beats B\" (alpha = {result['alpha']}): paper 000's "
              "two-proportion z-test on WA (unpaired), the exact McNemar test on the "
              "utterances both scored (paired), and a paired t-test of UA over shared folds "
              "(at least two folds).", "",
              "| A | B | z (WA) | p | McNemar: A-only right / n | p | folds | t (UA) | p |",
              "|---|---|---|---|---|---|---|---|---|"]
    for pair in result["pairs"]:
        z, mc, pf = pair["ztest_wa"], pair["mcnemar"], pair["paired_folds_ua"]
        mark = " *" if (mc and mc["significant"]) or z["significant"] else ""
        lines.append(
            f"| {pair['a']}{mark} | {pair['b']} | {_fmt(z['z'], 2)} | {_fmt(z['p_value'])} | "
            + (f"{int(mc['statistic'])} / {mc['n']} | {_fmt(mc['p_value'])} | " if mc
               else "- | - | ")
            + (f"{pf['n']} | {_fmt(pf['statistic'], 2)} | {_fmt(pf['p_value'])} |" if pf
               else "- | - | - |"))
    lines += ["", "`*`: A is better than B at the given alpha by the z-test or McNemar.", ""]
    return "\n".join(lines)
