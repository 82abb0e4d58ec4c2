"""results.json and results.md of a recipe run (other tools read these files).

``results.json``::

    {"recipe", "title", "command", "corpus", "protocol", "folds", "seconds",
     "rows": [{"name", "head", "experiment", "metrics": {"ua", "wa", ...}, "n",
               "per_fold": [...], "runs", "seconds", "eval_dir", "sweep"?,
               "learned_weights"?: {fold: {term: weight}}}],
     "human": {...} | null, "tables": [...], "comparisons": {...}, "selected": null,
     "skipped": [{"row", "rater", "head", "labels", "reason"}]}

An ``each_rater`` row (paper 002's individual models) gives one entry per rater run,
named ``<row>/<rater>`` with ``group`` (the row), ``rater`` and ``labels``; a table
listing the row shows all its runs; raters with too few labels are under ``skipped``.
A ``data`` table shows each row's training data (labelled utterances, class
distribution) instead of scores.

Every score is pooled over the folds' test predictions (not averaged); ``per_fold``
keeps each fold's. A recipe with a ``reference`` (a hard label view, e.g. paper 001's
``emotion``) scores every row by its head's ``vs_<reference>`` block
(``tfser-evaluate --reference``): hard, soft and MLEE-only rows against the same hard
label on the same test utterances; ``results.json`` then names it under
``"reference"``. A swept row reports the point chosen on development data, with the
whole development curve under ``sweep``. ``results.md`` lays the tables out as the
paper does, our figure first and the paper's own in parentheses, then every pair's
significance tests (:mod:`tfser.evaluation.compare`), the sweep curves and the runs'
costs.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import statistics
from typing import Any, Dict, List, Mapping, Optional, Sequence

from tfser.config.errors import UserError
from tfser.evaluation import compare as compare_lib
from tfser.fileio import atomic
from tfser.recipes import spec as spec_lib

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
COMPARISON_DIR = "comparison"


def _scalars_and_maps(scores: Mapping[str, Any]) -> Dict[str, Any]:
    """The numbers of a metrics scope: scalars, and per-class mappings of numbers."""
    kept: Dict[str, Any] = {}
    for key, value in scores.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            kept[key] = value
        elif isinstance(value, Mapping) and value and all(
                isinstance(v, (int, float)) or v is None for v in value.values()):
            kept[key] = dict(value)
    return kept


def head_metrics(metrics: Mapping[str, Any], head: str,
                 reference: Optional[str] = None) -> Dict[str, Any]:
    """A head's pooled figures (a soft head's classification figures are its argmax
    report's, or with ``reference`` its ``vs_<reference>`` block's; its distribution
    figures are kept beside them)."""
    if head not in metrics["heads"]:
        raise UserError(f"the evaluation has no head '{head}' (heads: "
                        f"{sorted(metrics['heads'])}); fix the recipe's head")
    entry = metrics["heads"][head]
    pooled = entry["pooled"]
    scores = _scalars_and_maps(compare_lib.head_scores(entry, pooled, reference))
    if entry.get("family") == "soft":
        scores.update({f"soft_{k}": v for k, v in _scalars_and_maps(pooled).items()})
    return scores


def _per_fold(metrics: Mapping[str, Any], head: str,
              reference: Optional[str] = None) -> List[Dict[str, Any]]:
    entry = metrics["heads"][head]
    folds = []
    for fold, scope in entry.get("per_fold", {}).items():
        scores = compare_lib.head_scores(entry, scope, reference)
        folds.append({"fold": fold, **{k: v for k, v in _scalars_and_maps(scores).items()
                                       if not isinstance(v, Mapping)}})
    return folds


def row_result(outcome: Mapping[str, Any], reference: Optional[str] = None) -> Dict[str, Any]:
    """The results.json entry of one row from :func:`tfser.recipes.runner.run_row`
    (scored against ``reference`` when given)."""
    metrics = outcome["metrics"]
    head = outcome["head"]
    scores = head_metrics(metrics, head, reference)
    row = {"name": outcome["name"], "head": head, "experiment": outcome["experiment"],
           "metrics": scores, "n": int(scores.get("num_samples", 0)),
           "per_fold": _per_fold(metrics, head, reference), "eval_dir": outcome["eval_dir"],
           "runs": len(outcome["sweep"]["points"]) if "sweep" in outcome else 1,
           "seconds": outcome["seconds"], "data_dir": outcome["data_dir"],
           "overrides": list(outcome["overrides"]),
           # Every head's confusion matrix the evaluation drew (e.g. emotion and speaker).
           "confusion": sorted(glob.glob(os.path.join(outcome["eval_dir"], "*_confusion.png")))}
    for key in ("group", "rater", "labels", "learned_weights"):
        if key in outcome:
            row[key] = outcome[key]
    if "sweep" in outcome:
        row["sweep"] = {k: v for k, v in outcome["sweep"].items() if k != "points"}
        row["sweep"]["points"] = [{"value": p["value"], "dev": p["dev"]}
                                  for p in outcome["sweep"]["points"]]
    return row


def human_row(table_dir: str, data_dir: str, head: str) -> Optional[Dict[str, Any]]:
    """Leave-one-rater-out human performance on the whole table (paper 000), or None
    when no utterance has enough raters."""
    from tfser import annotations  # pylint: disable=import-outside-toplevel
    from tfser.features import dataset_info  # pylint: disable=import-outside-toplevel
    from tfser.labels import human  # pylint: disable=import-outside-toplevel
    info = dataset_info.read_info(data_dir)
    classes = info["label_metadata"][head]["classes"]
    labels_config = info["config"].get("labels") or {}
    table = annotations.load_table(table_dir)
    performance = human.human_performance(
        table, classes, class_mapping=labels_config.get("class_mapping"))
    if performance.num_comparisons == 0:
        return None
    return {"name": "human", "head": head,
            "metrics": {"ua": performance.ua, "wa": performance.wa,
                        "mean_precision": performance.mean_precision,
                        "mean_recall": performance.mean_recall, "f1": performance.f1},
            "n": performance.num_comparisons,
            "note": "leave one rater out against the consensus of the rest, whole corpus"}


def perception_row(table_dir: str, data_dir: str, head: str) -> Optional[Dict[str, Any]]:
    """The corpus's perception test as a human row, or None without one: per class the
    mean share of listeners who recognised the acted emotion (``recognition_pct`` of
    each utterance's ``extra``, EmoDB's erkennung.txt), ``ua`` their mean over classes
    and ``wa`` the mean over utterances, for the table's utterances of the head's
    classes."""
    import json  # pylint: disable=import-outside-toplevel
    from tfser import annotations  # pylint: disable=import-outside-toplevel
    from tfser.features import dataset_info  # pylint: disable=import-outside-toplevel
    classes = dataset_info.read_info(data_dir)["label_metadata"][head]["classes"]
    table = annotations.load_table(table_dir)
    utterances = table.utterances
    rates: Dict[str, List[float]] = {name: [] for name in classes}
    for label, extra in zip(utterances["intended_label"], utterances["extra"]):
        value = (json.loads(extra) if isinstance(extra, str) else dict(extra or {})).get(
            "recognition_pct")
        if label in rates and value is not None and math.isfinite(float(value)):
            rates[label].append(float(value) / 100.0)
    scored = {name: sum(v) / len(v) for name, v in rates.items() if v}
    if not scored:
        return None
    count = sum(len(v) for v in rates.values())
    return {"name": "human", "head": head,
            "metrics": {"ua": sum(scored.values()) / len(scored),
                        "wa": sum(sum(v) for v in rates.values()) / count,
                        "per_class_recall": scored},
            "n": count,
            "note": "perception test: mean share of listeners recognising the acted "
                    "emotion, over the table's utterances"}


def _cell(value: Any, percent: bool) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if percent:
        return f"{100 * value:.1f}"
    # Counts (a data table's labelled utterances) without decimals.
    return f"{int(value)}" if isinstance(value, int) or float(value).is_integer() \
        else f"{value:.3f}"


def _lookup(scores: Mapping[str, Any], column: spec_lib.ColumnSpec,
            class_name: Optional[str] = None) -> Any:
    if column.per_class:
        return (scores.get(column.per_class) or {}).get(class_name)
    return scores.get(column.metric)


def _table_columns(table: spec_lib.TableSpec, scores_by_row: Mapping[str, Mapping[str, Any]]
                   ) -> List[tuple]:
    """(heading, column, class name or None) for every displayed column."""
    out = []
    for column in table.columns:
        if column.per_class:
            classes: List[str] = []
            for scores in scores_by_row.values():
                for name in scores.get(column.per_class) or {}:
                    if name not in classes:
                        classes.append(name)
            out += [(name, column, name) for name in classes]
        else:
            out.append((column.label, column, None))
    return out


def _marks(table: spec_lib.TableSpec, eval_dirs: Mapping[str, str],
           heads: Mapping[str, str], out_dir: str,
           reference: Optional[str] = None) -> Dict[str, Any]:
    """Row -> mark, with the comparison behind it (McNemar, one-tailed, alpha 0.05)."""
    model_rows = [r for r in table.rows if r in eval_dirs]
    if not table.marks or len(model_rows) < 2:
        return {"marks": {}, "comparison": None}
    comparison = compare_lib.compare([eval_dirs[r] for r in model_rows], out_dir=out_dir,
                                     head=[heads[r] for r in model_rows], names=model_rows,
                                     reference=reference)
    beats = {(p["a"], p["b"]) for p in comparison["pairs"]
             if p["mcnemar"] and p["mcnemar"]["significant"]}
    marks = {}
    for row in model_rows:
        others = [r for r in model_rows if r != row]
        if all((row, other) in beats for other in others):
            marks[row] = "**"
        elif row != table.marks and (row, table.marks) in beats:
            marks[row] = "*"
    return {"marks": marks, "comparison": comparison}


def expand_groups(table: spec_lib.TableSpec, outcomes: Sequence[Mapping[str, Any]]
                  ) -> spec_lib.TableSpec:
    """The table with each ``each_rater`` row name replaced by its runs
    (``individual`` -> ``individual/<rater>``, ...), in run order."""
    rows: List[str] = []
    for name in table.rows:
        members = [o["name"] for o in outcomes if o.get("group") == name]
        rows += members or [name]
    return dataclasses.replace(table, rows=tuple(rows))


def data_summary(outcome: Mapping[str, Any], head: str) -> Dict[str, Any]:
    """A row's training data for a data table: :func:`tfser.data.label_summary` of its
    head over its featurized directory (``num_samples`` = labelled utterances)."""
    from tfser import data  # pylint: disable=import-outside-toplevel
    summary = data.label_summary(outcome["data_dir"], head)
    return {**summary, "num_samples": summary["labelled"]}


def build_table(table: spec_lib.TableSpec, rows: Mapping[str, Mapping[str, Any]],
                outcomes: Mapping[str, Mapping[str, Any]], human: Optional[Mapping[str, Any]],
                published: Mapping[str, Mapping[str, Any]], out_dir: str,
                index: int, reference: Optional[str] = None) -> Dict[str, Any]:
    """One paper table: values per row and column, the paper's figures, marks, gain
    (every model row scored against ``reference`` when given)."""
    scores_by_row: Dict[str, Mapping[str, Any]] = {}
    eval_dirs: Dict[str, str] = {}
    heads: Dict[str, str] = {}
    head = table.head
    for name in table.rows:
        if name == "human":
            if human is not None:
                scores_by_row[name] = human["metrics"]
            continue
        if name not in outcomes:
            continue
        row_head = table.head or rows[name]["head"]
        head = head or row_head
        if table.data:
            scores_by_row[name] = data_summary(outcomes[name], row_head)
            continue
        scores_by_row[name] = head_metrics(outcomes[name]["metrics"], row_head, reference)
        eval_dirs[name] = outcomes[name]["eval_dir"]
        heads[name] = row_head
    columns = _table_columns(table, scores_by_row)
    marks = _marks(table, eval_dirs, heads,
                   os.path.join(out_dir, COMPARISON_DIR, f"table{index + 1}"), reference)
    body = []
    for name, scores in scores_by_row.items():
        paper = published.get(name, {})
        body.append({
            "name": name, "mark": marks["marks"].get(name, ""),
            "values": {heading: _lookup(scores, column, cls)
                       for heading, column, cls in columns},
            "published": {heading: _lookup(paper, column, cls)
                          for heading, column, cls in columns},
            "n": scores.get("num_samples") if name != "human" else human["n"]})
    gain = None
    if table.gain and all(g in scores_by_row for g in table.gain):
        base, model = (next(b for b in body if b["name"] == g) for g in table.gain)
        gain = {heading: (None if base["values"][heading] in (None, 0) or
                          model["values"][heading] is None else
                          (model["values"][heading] - base["values"][heading])
                          / base["values"][heading])
                for heading, _, _ in columns}
    return {"title": table.title, "head": head,
            "columns": [{"heading": h, "percent": c.percent} for h, c, _ in columns],
            "rows": body, "gain": gain, "gain_of": list(table.gain), "notes": table.notes,
            "marks_against": table.marks,
            "comparison": None if marks["comparison"] is None else
            os.path.join(COMPARISON_DIR, f"table{index + 1}")}


def _fold_spread(results: Mapping[str, Any]) -> List[str]:
    """A table of each row's UA and WA as mean +- std over its folds (2+ folds)."""
    rows = [r for r in results["rows"] if len(r.get("per_fold") or []) >= 2]
    if not rows:
        return []
    lines = ["### Mean and standard deviation over folds", "",
             "| row | UA | WA | folds |", "|---|---|---|---|"]
    for row in rows:
        cells = []
        for metric in ("ua", "wa"):
            values = [f[metric] for f in row["per_fold"] if f.get(metric) is not None]
            cells.append(f"{100 * statistics.mean(values):.1f} +- "
                         f"{100 * statistics.pstdev(values):.1f}" if values else "-")
        lines.append(f"| {row['name']} | {cells[0]} | {cells[1]} | {len(row['per_fold'])} |")
    return lines + ["", "Population standard deviation over the test folds (pooled scores "
                        "are in the tables above).", ""]


def _fold_count(results: Mapping[str, Any]) -> str:
    """``5 fold(s)``, or ``2 of its 5 folds (a, b)`` when only some were trained."""
    trained, total = len(results["folds"]), results.get("protocol_folds")
    if total and trained < total:
        return f"{trained} of its {total} folds ({', '.join(results['folds'])})"
    return f"{trained} fold(s)"


def _point_text(name: str, point: Any) -> str:
    """``alpha = 0.3`` for a one-value sweep; ``alpha = 0.2, beta = 0.1`` otherwise."""
    if isinstance(point, Mapping):
        return ", ".join(f"{k} = {v:g}" for k, v in point.items())
    return f"{name} = {point:g}"


def plot_sweep(row: Mapping[str, Any], path: str) -> str:
    """The development score against the swept value, the chosen point marked."""
    from tfser.evaluation import plots  # pylint: disable=import-outside-toplevel
    sweep = row["sweep"]
    values = [p["value"] for p in sweep["points"]]
    scores = [p["dev"] for p in sweep["points"]]
    return plots.plot_curve(values, scores, path, xlabel=sweep["name"],
                            ylabel=f"dev {sweep['metric']} ({sweep['head']})",
                            title=f"{row['name']}: {sweep['metric']} vs {sweep['name']}",
                            marked=sweep["chosen"])


def plot_rows(figure: spec_lib.FigureSpec, outcomes: Mapping[str, Mapping[str, Any]],
              rows: Mapping[str, Mapping[str, Any]], out_dir: str,
              reference: Optional[str] = None) -> Optional[str]:
    """A recipe figure: per class of ``per_class`` (and ``metric``) a curve of the test
    figure of each row against its ``x``; None when none of its rows ran."""
    from tfser.evaluation import plots  # pylint: disable=import-outside-toplevel
    present = [(x, r) for x, r in zip(figure.x, figure.rows) if r in outcomes]
    if not present:
        return None
    scores = [head_metrics(outcomes[r]["metrics"], rows[r]["head"], reference)
              for _, r in present]
    curves: Dict[str, List[float]] = {}
    if figure.per_class:
        for scope in scores:
            for name in scope.get(figure.per_class) or {}:
                curves.setdefault(name, [])
        for name in curves:
            curves[name] = [_number((s.get(figure.per_class) or {}).get(name))
                            for s in scores]
    if figure.metric:
        curves[figure.metric] = [_number(s.get(figure.metric)) for s in scores]
    return plots.plot_curves([x for x, _ in present], curves, os.path.join(out_dir, figure.file),
                             xlabel=figure.xlabel, ylabel=figure.per_class or figure.metric,
                             title=figure.title)


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _classes_of(outcomes: Mapping[str, Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
                head: str) -> Optional[List[str]]:
    """The class names of ``head`` in the first of ``rows`` whose evaluation has it."""
    for row in rows:
        layouts = outcomes[row["name"]]["metrics"].get("layouts", {})
        if head in layouts:
            return list(layouts[head]["classes"])
    return None


def write_results(spec: spec_lib.RecipeSpec, outcomes: Sequence[Mapping[str, Any]],
                  out_dir: str, command: str, table_dir: str, data_dir: str, corpus: str,
                  seconds: float, skipped: Sequence[Mapping[str, Any]] = (),
                  folds: Optional[Sequence[str]] = None,
                  attention: Optional[str] = None) -> Dict[str, Any]:
    """Assembles and writes results.json and results.md; returns the results dict
    (``skipped``: raters an ``each_rater`` row left out, with the reason; ``attention``:
    the path of the recipe's attention figure, listed under figures)."""
    from tfser.features import dataset_info  # pylint: disable=import-outside-toplevel
    info = dataset_info.read_info(data_dir)
    reference = spec.reference
    rows = [row_result(o, reference) for o in outcomes]
    by_name = {r["name"]: r for r in rows}
    outcome_by_name = {o["name"]: o for o in outcomes}
    human = {"raters": human_row, "perception": perception_row}[spec.human](
        table_dir, data_dir, spec.head) if spec.human else None
    tables = [build_table(expand_groups(t, outcomes), by_name, outcome_by_name, human,
                          spec.published, out_dir, i, reference)
              for i, t in enumerate(spec.tables)]
    figures = {}
    for row in rows:
        if "sweep" in row and not isinstance(row["sweep"]["chosen"], Mapping):
            name = f"{row['sweep']['name']}_sweep.png"
            figures[row["name"]] = plot_sweep(row, os.path.join(out_dir, name))
    drawn = [(f, plot_rows(f, outcome_by_name, by_name, out_dir, reference))
             for f in spec.figures]
    if attention is not None:
        figures["attention"] = attention
    # Rows with one decision per utterance on the recipe's classes (a soft head's argmax;
    # against a reference, every row scored against it).
    # Pairs make sense between rows deciding among the same classes as the recipe's
    # main head (a soft head's argmax included), not e.g. emotion against speaker rows.
    main_classes = _classes_of(outcome_by_name, rows, spec.head)
    comparable = [r for r in rows if compare_lib.scorable(
        outcome_by_name[r["name"]]["metrics"]["heads"][r["head"]], reference)
        and (main_classes is None or _classes_of(outcome_by_name, [r], r["head"])
             == main_classes)]
    comparisons = None
    if len(comparable) >= 2:
        comparisons = compare_lib.compare([r["eval_dir"] for r in comparable],
                                          out_dir=os.path.join(out_dir, COMPARISON_DIR, "all"),
                                          head=[r["head"] for r in comparable],
                                          names=[r["name"] for r in comparable],
                                          reference=reference)
    results = {
        "recipe": spec.name, "title": spec.title, "command": command, "corpus": corpus,
        "protocol": info["split"]["protocol"],
        "folds": list(folds) if folds else [f["name"] for f in info["split"]["folds"]],
        "protocol_folds": len(info["split"]["folds"]), "data_dir": data_dir,
        "seconds": seconds, "rows": rows, "human": human, "tables": tables,
        "figures": {k: os.path.relpath(v, out_dir) for k, v in figures.items()},
        "comparisons": None if comparisons is None else {
            "head": comparisons["head"], "pairs": comparisons["pairs"]},
        "selected": None, "notes": spec.notes, "skipped": [dict(e) for e in skipped],
        "recipe_figures": [{"file": f.file, "title": f.title, "rows": list(f.rows)}
                           for f, path in drawn if path is not None],
    }
    if attention is not None:
        results["attention_rows"] = list(spec.attention.rows)
    if reference is not None:
        results["reference"] = reference
    atomic.write_json(os.path.join(out_dir, RESULTS_JSON), results)
    atomic.write_text(os.path.join(out_dir, RESULTS_MD), to_markdown(results))
    return results


def _table_markdown(table: Mapping[str, Any]) -> List[str]:
    headings = [c["heading"] for c in table["columns"]]
    percent = {c["heading"]: c["percent"] for c in table["columns"]}
    lines = [f"### {table['title']}", "",
             "| row | " + " | ".join(headings) + " | n |",
             "|---|" + "---|" * (len(headings) + 1)]
    for row in table["rows"]:
        cells = []
        for heading in headings:
            ours = _cell(row["values"][heading], percent[heading])
            paper = row["published"].get(heading)
            cells.append(ours if paper is None else f"{ours} ({_cell(paper, percent[heading])})")
        lines.append(f"| {row['name']}{row['mark']} | " + " | ".join(cells) +
                     f" | {row['n'] if row['n'] is not None else '-'} |")
    if table["gain"]:
        cells = ["-" if table["gain"][h] is None else f"{100 * table['gain'][h]:+.1f} %"
                 for h in headings]
        lines.append(f"| relative gain of {table['gain_of'][1]} over {table['gain_of'][0]} | "
                     + " | ".join(cells) + " | |")
    lines.append("")
    if any(c["percent"] for c in table["columns"]):
        lines.append("Percentages; the paper's own figure in parentheses.")
    if table["marks_against"]:
        lines.append(f"`**`: better than every other model row; `*`: better than "
                     f"{table['marks_against']} (one-tailed exact McNemar test on the shared "
                     f"test utterances, p < 0.05; details in {table['comparison']}/).")
    if table["notes"]:
        lines.append(table["notes"])
    return lines + [""]


def _learned_weights_markdown(rows: Sequence[Mapping[str, Any]]) -> List[str]:
    """The loss weights rows learned in training (``exp(-s)`` at the last epoch, per fold),
    with the weights the swept rows chose on development data beside them."""
    learned = [row for row in rows if row.get("learned_weights")]
    if not learned:
        return []
    terms = list(dict.fromkeys(term for row in learned
                               for weights in row["learned_weights"].values()
                               for term in weights))
    lines = ["### Learned loss weights", "",
             "exp(-s) of each loss term at the last epoch (1 at the start; a term "
             "`<head>/<attribute>` weights one attribute of the head's loss).", "",
             "| row | fold | " + " | ".join(terms) + " |", "|" + "---|" * (len(terms) + 2)]
    for row in learned:
        for fold, weights in row["learned_weights"].items():
            lines.append(f"| {row['name']} | {fold} | " + " | ".join(
                _cell(weights.get(term), False) for term in terms) + " |")
    searched = [f"{row['name']}: {_point_text(row['sweep']['name'], row['sweep']['chosen'])}"
                for row in rows if "sweep" in row]
    if searched:
        lines += ["", "Searched on development data instead: " + "; ".join(searched) + "."]
    return lines + [""]


def to_markdown(results: Mapping[str, Any]) -> str:
    """The results as Markdown: the command, the tables, tests, sweeps and costs."""
    lines = [f"# Recipe {results['recipe']}: {results['title']}", "",
             f"Reproduce: `{results['command']}`", "",
             f"Corpus: {results['corpus']}; protocol {results['protocol']} with "
             f"{_fold_count(results)}; scores pooled over the folds' test "
             f"predictions; total {results['seconds']:.0f} s.", ""]
    if results.get("reference"):
        lines += [f"Every model row is scored against the hard label `{results['reference']}` "
                  "on the test utterances it labels (an MLEE-only row by the argmax of its "
                  "existence outputs), so that all rows share their test set.", ""]
    for table in results["tables"]:
        lines += _table_markdown(table)
    pairs = (results.get("comparisons") or {}).get("pairs") or []
    if pairs:
        # The comparison names one head per row; the heading names each once.
        heads = list(dict.fromkeys(results["comparisons"]["head"].split(",")))
        against = (f"every row against `{results['reference']}`" if results.get("reference")
                   else ("head " if len(heads) == 1 else "heads ")
                   + ", ".join(f"`{h}`" for h in heads))
        lines += [f"### Pairwise tests ({against})", "",
                  "| A | B | WA A | WA B | z (WA) | p | McNemar p | n | UA per fold: paired p |",
                  "|---|---|---|---|---|---|---|---|---|"]
        rows = {r["name"]: r for r in results["rows"]}
        for pair in pairs:
            z, mc = pair["ztest_wa"], pair["mcnemar"] or {}
            folds = pair.get("paired_folds_ua") or {}
            lines.append(f"| {pair['a']} | {pair['b']} | {_cell(rows[pair['a']]['metrics'].get('wa'), False)} | "
                         f"{_cell(rows[pair['b']]['metrics'].get('wa'), False)} | "
                         f"{_cell(z.get('z'), False)} | {_cell(z.get('p_value'), False)} | "
                         f"{_cell(mc.get('p_value'), False)} | {mc.get('n', '-')} | "
                         f"{_cell(folds.get('p_value'), False)} |")
        lines += ["", "One-tailed tests that A beats B: paper 000's two-proportion z-test on "
                      "WA, the exact McNemar test on the shared test utterances, and (with two "
                      "or more folds) the paired t-test of the folds' UA.", ""]
    lines += _fold_spread(results)
    sweeps = [r for r in results["rows"] if "sweep" in r]
    for row in sweeps:
        sweep = row["sweep"]
        figure = results["figures"].get(row["name"])
        fields = list(sweep["chosen"]) if isinstance(sweep["chosen"], Mapping) \
            else [sweep["name"]]
        goal = "lowest" if sweep.get("goal") == "min" else "highest"
        lines += [f"### Sweep of {sweep['name']} for {row['name']} (development data only)", "",
                  f"Chosen {_point_text(sweep['name'], sweep['chosen'])} by the {goal} dev "
                  f"{sweep['metric']} of head {sweep['head']}"
                  + (f"; curve: ![{figure}]({figure})" if figure else ""), "",
                  "| " + " | ".join(fields) + f" | dev {sweep['metric']} |",
                  "|" + "---|" * (len(fields) + 1)]
        for point in sweep["points"]:
            value = point["value"]
            cells = [value[f] for f in fields] if isinstance(value, Mapping) else [value]
            lines.append("| " + " | ".join(f"{c:g}" for c in cells)
                         + f" | {_cell(point['dev'], False)} |")
        lines.append("")
    lines += _learned_weights_markdown(results["rows"])
    for figure in results.get("recipe_figures") or []:
        lines += [f"### {figure['title'] or figure['file']}", "",
                  f"![{figure['file']}]({figure['file']}) (rows: "
                  f"{', '.join(figure['rows'])})", ""]
    if "attention" in results["figures"]:
        figure = results["figures"]["attention"]
        rows = ", ".join(results.get("attention_rows") or [])
        lines += ["### Attention weights", "",
                  f"Attention weights over time of {rows} on the same test utterances, "
                  f"under each spectrogram (a fused row: one curve per encoder): "
                  f"![attention]({figure})", ""]
    lines += ["### Runs and cost", "",
              "| row | experiment | head | runs | seconds | overrides | evaluation | "
              "confusion matrices |", "|---|---|---|---|---|---|---|---|"]
    for row in results["rows"]:
        overrides = ", ".join(f"`{o}`" for o in row["overrides"]) or "-"
        figures = ", ".join(f"[{os.path.basename(f)}]({f})" for f in row.get("confusion", []))
        lines.append(f"| {row['name']} | {row['experiment']} | {row['head']} | {row['runs']} | "
                     f"{row['seconds']:.1f} | {overrides} | {row['eval_dir']} | "
                     f"{figures or '-'} |")
    for entry in results.get("skipped") or ():
        lines.append(f"\nRow {entry['row']}: no model for rater {entry['rater']} "
                     f"({entry['reason']}).")
    if results.get("human"):
        lines += ["", f"Human row: {results['human']['note']} ({results['human']['n']} "
                      "comparisons)."]
    if results.get("notes"):
        lines += ["", results["notes"]]
    return "\n".join(lines) + "\n"
