"""Running a recipe: corpus -> featurize -> every row (sweeps chosen on dev) -> results.

::

    from tfser import recipes
    results = recipes.reproduce("000", "build/reproduce/000", smoke=True)

Layout of ``out_dir``::

    corpus/, annotations/     the synthetic corpus and its table (absent with ``table``)
    features/<config name>/   the featurized data the rows read
    runs/<row>/               one cross-validation directory per row (TensorBoard logs,
                              checkpoints, params.yaml per fold), evaluated into eval/
    runs/<row>/sweep/<name>=<value>/   each sweep point, evaluated on dev into eval_dev/
    runs/<row>/<rater>/       an each_rater row's run per rater (paper 002's E_n)
    results.json, results.md  the table (contract: see :mod:`tfser.recipes.results`)

Every step is resumable: an existing corpus, table or featurized directory made from
the same inputs is reused, a finished run is not retrained (the training stage's run
fingerprint decides), and an evaluation whose run did not change is read back. Inputs
that differ from what a directory was made from are refused unless ``overwrite``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from tfser.config.errors import UserError
from tfser.recipes import spec as spec_lib
from tfser.recipes.stages import Stages

CORPUS_STAMP = "recipe_stamp.json"
EVAL_DIR = "eval"
EVAL_DEV_DIR = "eval_dev"
SWEEP_DIR = "sweep"
SMOKE_SIZE = "small"
ATTENTION_FIGURE = "attention.png"


def _read_json(path: str) -> Optional[Any]:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def synthetic_table(out_dir: str, seed: int, size: str,
                    fields: Optional[Mapping[str, Any]] = None) -> str:
    """Generates (or reuses) the synthetic corpus and its table; returns the table dir.

    ``fields`` change the named size's :class:`~tfser.synthetic.SynthConfig` (a
    recipe's ``synthetic_corpus``, e.g. more continuous recordings)."""
    from tfser import annotations  # pylint: disable=import-outside-toplevel
    from tfser import corpora  # pylint: disable=import-outside-toplevel
    from tfser import synthetic  # pylint: disable=import-outside-toplevel
    from tfser.fileio import atomic  # pylint: disable=import-outside-toplevel
    corpus_dir = os.path.join(out_dir, "corpus")
    table_dir = os.path.join(out_dir, "annotations")
    wanted = {"seed": seed, "size": size, "schema_version": annotations.SCHEMA_VERSION}
    if fields:
        wanted["fields"] = dict(fields)
    try:
        config = synthetic.SynthConfig.for_size(size, **dict(fields or {}))
    except (TypeError, ValueError) as error:
        raise UserError(f"bad synthetic_corpus of the recipe: {error}") from None
    stamp = os.path.join(out_dir, CORPUS_STAMP)
    found = _read_json(stamp)
    if found == wanted and os.path.isdir(table_dir):
        print(f"  reusing the synthetic corpus in {corpus_dir} (seed {seed}, size {size})")
        return table_dir
    if found is not None and found != wanted:
        raise UserError(f"{out_dir} holds a synthetic corpus made with {found}, not {wanted}; "
                        "use another --out or pass --overwrite")
    synthetic.generate(corpus_dir, seed=seed, progress=True, config=config)
    result = corpora.load_corpus("synthetic", corpus_dir)
    table = result.table
    if len(table.traces):
        # Trace paths are relative to the table's directory: point them from annotations/
        # to the arrays the generator wrote under corpus/.
        table.traces["path"] = [os.path.relpath(table.resolve_trace(p), table_dir)
                                for p in table.traces["path"]]
    annotations.save_table(table, table_dir)
    atomic.write_json(stamp, wanted)
    return table_dir


def featurize(config_path: str, table_dir: str, features_root: str, overwrite: bool,
              workers: int, overrides: Sequence[str] = ()) -> str:
    """Featurizes the table with the recipe's config (and ``overrides`` of it, e.g. a
    row's training-set selection), or reuses an identical result."""
    from tfser import beam  # pylint: disable=import-outside-toplevel
    from tfser.beam import dataset_info  # pylint: disable=import-outside-toplevel
    config = beam.load_config(config_path, overrides)
    out = os.path.join(features_root, featurized_name(
        config.name or os.path.splitext(os.path.basename(config_path))[0], overrides))
    info = _read_json(os.path.join(out, dataset_info.DATASET_INFO_FILE))
    if info is not None:
        tables = {name: dataset_info.sha256_file(os.path.join(table_dir, name))
                  for name in info["table"]["sha256"]
                  if os.path.exists(os.path.join(table_dir, name))}
        if info.get("config_sha256") == config.sha256() and tables == info["table"]["sha256"]:
            print(f"  reusing {out} (same config and table)")
            return out
        if not overwrite:
            raise UserError(f"{out} was featurized from another config or table; pass "
                            "--overwrite to rebuild it, or use another --out")
    command = (f"tfser-featurize --config={config_path} --table={table_dir} --out={out}"
               + (" --params_override=" + shlex.quote(",".join(overrides)) if overrides
                  else "") + (" --overwrite" if info is not None else ""))
    beam.build_pipeline(config, table_dir, out,
                        pipeline_options={"direct_num_workers": workers,
                                          "direct_running_mode": "multi_threading"},
                        overwrite=info is not None, created_by=command, log_every=200)
    return out


def featurized_name(config_name: str, overrides: Sequence[str] = ()) -> str:
    """The directory of a featurized config: its name, plus its overrides when a recipe
    row changes it (``synthetic_001_recipe+select.labelled_by=emotion``)."""
    return config_name + "".join(
        "+" + re.sub(r"[^A-Za-z0-9._=-]+", "-", override) for override in overrides)


def check_views(data_dir: str, recipe: spec_lib.RecipeSpec) -> None:
    """Raises UserError naming the label views the recipe needs and the data lacks."""
    from tfser.features import dataset_info  # pylint: disable=import-outside-toplevel
    info = dataset_info.read_info(data_dir)
    present = [spec["head"] for spec in info["labels"]]
    missing = [view for view in recipe.requires_views if view not in present]
    if missing:
        raise UserError(f"recipe {recipe.name} needs the label view(s) {missing}, but "
                        f"{data_dir} has only {present} (does the corpus have e.g. "
                        "secondary ratings or several raters?); featurize with a config "
                        "that derives them")


def _train_and_evaluate(row_dir: str, experiment: str, config_files: Sequence[str],
                        overrides: Sequence[str], data_dir: str, smoke: bool, part: str,
                        eval_name: str, checkpoint: str = "best",
                        reference: Optional[str] = None,
                        folds: Any = "all") -> Dict[str, Any]:
    """Trains the folds of one configuration (or finds them trained) and evaluates them."""
    from tfser import training  # pylint: disable=import-outside-toplevel
    training.train_folds(experiment, row_dir, config_files, overrides, data_dir=data_dir,
                         folds=folds, smoke=smoke)
    return evaluation_of(row_dir, part, checkpoint, eval_name, reference)


def _score(metrics: Mapping[str, Any], head: str, metric: str) -> float:
    try:
        return float(metrics["heads"][head]["pooled"][metric])
    except KeyError:
        raise UserError(f"no pooled '{metric}' for head '{head}' in the evaluation; "
                        "fix the recipe's select/head") from None


def run_row(row: spec_lib.RowSpec, runs_dir: str, data_dir: str, smoke: bool,
            extra_overrides: Sequence[str], reference: Optional[str] = None,
            run_dirs: Optional[Mapping[str, Any]] = None,
            folds: Any = "all") -> Dict[str, Any]:
    """One row: its runs, its test evaluation and, for a sweep, the dev curve.

    ``extra_overrides`` come after the row's own (the recipe's smoke or synthetic-corpus
    overrides); ``reference`` is the recipe's hard label view its test evaluation scores
    the row against; ``run_dirs`` maps the rows already run to their (chosen) run
    directory, for the row's ``{run:<row>}`` references; ``folds`` the protocol's folds
    trained (``all``, or names / indices: see ``tfser.training.select_folds``).
    """
    row_dir = os.path.join(runs_dir, row.name)
    overrides = list(spec_lib.resolve_run_references(row.overrides, run_dirs or {})) + \
        list(extra_overrides)
    started = time.perf_counter()
    outcome: Dict[str, Any] = {"name": row.name, "experiment": row.experiment,
                               "head": row.head, "run_dir": row_dir, "data_dir": data_dir,
                               "overrides": overrides}
    if row.sweep is not None:
        sweep = row.sweep
        points = sweep.points()
        if smoke:
            points = (points[0], points[-1]) if len(points) > 1 else points
        curve = []
        for point in points:
            point_dir = os.path.join(row_dir, SWEEP_DIR, sweep.point_dir(point))
            dev = _train_and_evaluate(point_dir, row.experiment, row.config_files,
                                      overrides + list(sweep.point_overrides(point)),
                                      data_dir, smoke, "dev", EVAL_DEV_DIR, row.checkpoint,
                                      folds=folds)
            score = _score(dev, sweep.select_head, sweep.select_metric)
            curve.append({"value": point, "dev": score, "run_dir": point_dir})
            print(f"    {row.name}: {sweep.name} {sweep.point_name(point)} -> dev "
                  f"{sweep.select_metric} {score:.3f}", flush=True)
        # The best development score (sweep.goal); the first such point on ties.
        best = curve[sweep.best([point["dev"] for point in curve])]
        outcome["sweep"] = {"name": sweep.name, "metric": sweep.select_metric,
                            "head": sweep.select_head, "part": "dev", "points": curve,
                            "goal": sweep.goal, "chosen": best["value"]}
        outcome["chosen_run_dir"] = best["run_dir"]
        metrics = evaluation_of(best["run_dir"], "test", row.checkpoint, reference=reference)
        outcome["eval_dir"] = os.path.join(best["run_dir"], EVAL_DIR)
    else:
        metrics = _train_and_evaluate(row_dir, row.experiment, row.config_files, overrides,
                                      data_dir, smoke, "test", EVAL_DIR, row.checkpoint,
                                      reference, folds)
        outcome["eval_dir"] = os.path.join(row_dir, EVAL_DIR)
        outcome["chosen_run_dir"] = row_dir
    outcome["metrics"] = metrics
    from tfser import training  # pylint: disable=import-outside-toplevel
    learned = training.fold_loss_weights(outcome["chosen_run_dir"])
    if learned:  # e.g. recipe 003's mtl_auto: exp(-s) per attribute at the last epoch
        outcome["learned_weights"] = learned
    outcome["seconds"] = round(time.perf_counter() - started, 1)
    return outcome


def qualifying_raters(data_dir: str, each: spec_lib.EachRaterSpec
                      ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The raters of ``each.view`` with at least ``each.min_labels`` labelled utterances
    in the featurized data, and those skipped (each ``{"rater", "head", "labels"}``,
    skipped ones with a ``reason``).

    Raises:
      UserError: ``each.view`` is not a per-rater view of ``data_dir``.
    """
    from tfser import data  # pylint: disable=import-outside-toplevel
    info = data.load_info(data_dir)
    raters = info.label_specs.raters(each.view)
    if not raters:
        raise UserError(f"each_rater.view {each.view!r} is not a per-rater label view of "
                        f"{data_dir} (views: {list(info.label_specs)}); featurize with a "
                        "per_rater view")
    kept, skipped = [], []
    for rater in raters:
        head = data.slice_head(each.view, rater)
        entry = {"rater": rater, "head": head,
                 "labels": data.label_summary(info, head)["labelled"]}
        if entry["labels"] >= each.min_labels:
            kept.append(entry)
        else:
            skipped.append({**entry, "reason": f"{entry['labels']} labelled utterances, "
                                               f"fewer than min_labels={each.min_labels}"})
    return kept, skipped


def run_each_rater(row: spec_lib.RowSpec, runs_dir: str, data_dir: str, smoke: bool,
                   extra_overrides: Sequence[str], reference: Optional[str] = None,
                   run_dirs: Optional[Mapping[str, Any]] = None,
                   folds: Any = "all") -> Dict[str, Any]:
    """An ``each_rater`` row: one :func:`run_row` per qualifying rater, named
    ``<row>/<rater part of the head>``; returns ``{"outcomes": [...], "skipped": [...]}``."""
    kept, skipped = qualifying_raters(data_dir, row.each_rater)
    for entry in skipped:
        print(f"    {row.name}: skipping rater {entry['rater']}: {entry['reason']}",
              flush=True)
    outcomes = []
    for entry in kept:
        name = f"{row.name}/{entry['head'].split('.', 1)[1]}"
        one = dataclasses.replace(
            row, name=name, head=entry["head"], each_rater=None,
            overrides=row.overrides + row.each_rater.run_overrides(entry["head"],
                                                                   entry["rater"]))
        outcome = run_row(one, runs_dir, data_dir, smoke, extra_overrides, reference,
                          run_dirs, folds)
        outcome.update({"group": row.name, "rater": entry["rater"],
                        "labels": entry["labels"]})
        outcomes.append(outcome)
    if not outcomes:
        raise UserError(f"row {row.name}: no rater of view {row.each_rater.view!r} has "
                        f"{row.each_rater.min_labels} labelled utterances; lower "
                        "each_rater.min_labels")
    return {"outcomes": outcomes, "skipped": [{**e, "row": row.name} for e in skipped]}


def evaluation_of(run_dir: str, part: str, checkpoint: str = "best",
                  eval_name: Optional[str] = None,
                  reference: Optional[str] = None) -> Dict[str, Any]:
    """Evaluates a trained run directory on ``part`` into its ``eval`` (or ``eval_dev``)
    folder, with the command that does the same on top of the report; ``reference``:
    see :func:`tfser.evaluation.evaluate_run`."""
    from tfser import evaluation  # pylint: disable=import-outside-toplevel
    out = os.path.join(run_dir, eval_name or (EVAL_DIR if part == "test" else EVAL_DEV_DIR))
    args = [f"--model_dir={run_dir}", f"--out={out}", f"--part={part}"]
    if checkpoint != "best":
        args.append(f"--checkpoint={checkpoint}")
    if reference is not None:
        args.append(f"--reference={reference}")
    return evaluation.evaluate_run(run_dir, out, part=part, checkpoint=checkpoint,
                                   reference=reference, verbose=False, command="tfser-evaluate " + " ".join(
                                       shlex.quote(a) for a in args))


def command_line(recipe: str, out_dir: str, table: Optional[str], smoke: bool,
                 seed: int, rows: Optional[Sequence[str]] = None,
                 folds: Optional[Sequence[str]] = None) -> str:
    """The ``tfser-reproduce`` command line that repeats a run (printed in the report)."""
    args = [f"--recipe={recipe}", f"--out={out_dir}"]
    for flag, values in (("rows", rows), ("folds", folds)):
        if values:
            args.append(f"--{flag}=" + ",".join(str(v) for v in values))
    if table:
        args.append(f"--table={table}")
    if smoke:
        args.append("--smoke")
    if seed:
        args.append(f"--seed={seed}")
    return "tfser-reproduce " + " ".join(shlex.quote(a) for a in args)


def reproduce(recipe: str, out_dir: str, table: Optional[str] = None, smoke: bool = False,
              seed: int = 0, overwrite: bool = False, workers: int = 2,
              rows: Optional[Sequence[str]] = None,
              folds: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Runs a recipe end to end and writes ``results.json`` / ``results.md``.

    Args:
      recipe: A shipped recipe name (``000``) or the path of a recipe YAML file.
      out_dir: Output directory (created; reused on a rerun).
      table: An annotated real corpus (``tfser-annotate --out``); default: the synthetic
        corpus generated into ``out_dir``.
      smoke: Tiny corpus and seconds-long runs (sweeps keep their first and last point).
      seed: Seed of the synthetic corpus.
      overwrite: Rebuild a featurized directory made from other inputs.
      workers: Beam workers of the featurization.
      rows: Run only these rows (default: all).
      folds: Train and score only these folds of the protocol (names or indices);
        default: every fold of a real table, the recipe's ``synthetic_folds`` on the
        synthetic corpus.

    Returns:
      The results dict written to ``results.json``.

    Raises:
      UserError: Unknown recipe or row, a corpus without the views the recipe needs,
        or an output directory made from other inputs.
    """
    from tfser.recipes import results as results_lib  # pylint: disable=import-outside-toplevel
    spec = spec_lib.load_recipe(recipe)
    selected = list(spec.rows)
    if rows:
        unknown = [r for r in rows if r not in [row.name for row in spec.rows]]
        if unknown:
            raise UserError(f"recipe {spec.name} has no row(s) {unknown}; rows: "
                            f"{[row.name for row in spec.rows]}")
        selected = _with_dependencies(spec, rows)
    command = command_line(recipe, out_dir, table, smoke, seed, rows, folds)
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    stages = Stages(3 + len(selected))
    started = time.perf_counter()
    if table is None:
        table_dir = stages.run("corpus", "the embedded synthetic corpus",
                               lambda: synthetic_table(
                                   out_dir, seed, SMOKE_SIZE if smoke else "default",
                                   spec.synthetic_corpus.get(SMOKE_SIZE if smoke
                                                             else "default")))
    else:
        table_dir = stages.run("corpus", f"annotated table {table}", lambda: table)
    kind = "synthetic" if table is None else "table"
    main_config = (_repo_path(_config_of(spec.featurize_synthetic, spec.featurize_table, kind,
                                         spec.name)), ())
    row_configs = {row.name: _row_config(row, spec, kind, main_config) for row in selected}
    configs = sorted({main_config, *row_configs.values()})
    data_dirs = stages.run("featurize", ", ".join(
        featurized_name(os.path.basename(path), overrides) for path, overrides in configs),
        lambda: {c: featurize(c[0], table_dir, os.path.join(out_dir, "features"), overwrite,
                              workers, c[1]) for c in configs})
    data_dir = data_dirs[main_config]
    check_views(data_dir, spec)
    extra = list(spec.smoke_overrides if smoke else ()) + \
        list(spec.synthetic_overrides if table is None else ())
    # Names or indices; each row resolves them in its own data (a row may read another
    # split), the main data's names go into the results.
    selection = folds if folds else (spec.synthetic_folds if table is None else "all")
    chosen_folds = _folds(data_dir, selection)
    outcomes: List[Dict[str, Any]] = []
    skipped: List[Dict[str, Any]] = []
    run_dirs: Dict[str, Any] = {}  # a directory, or a list of them (each_rater rows)
    for row in selected:
        row_data = data_dirs[row_configs[row.name]]
        row_extra = extra + list(row.synthetic_overrides if table is None else ())
        if row.each_rater is not None:
            expanded = stages.run(f"row {row.name}", row.description or row.experiment,
                                  lambda row=row, row_data=row_data, row_extra=row_extra:
                                  run_each_rater(row, os.path.join(out_dir, "runs"), row_data,
                                                 smoke, row_extra, spec.reference, run_dirs,
                                                 selection))
            outcomes += expanded["outcomes"]
            skipped += expanded["skipped"]
            run_dirs[row.name] = [o["chosen_run_dir"] for o in expanded["outcomes"]]
            continue
        if row.sklearn is not None:
            outcomes.append(stages.run(f"row {row.name}", row.description or row.experiment,
                                       lambda row=row, row_data=row_data: _run_sklearn_row(
                                           spec, row, os.path.join(out_dir, "runs"),
                                           outcomes, row_data,
                                           _folds(row_data, selection))))
            continue
        outcomes.append(stages.run(f"row {row.name}", row.description or row.experiment,
                                   lambda row=row, row_data=row_data, row_extra=row_extra:
                                   run_row(row, os.path.join(out_dir, "runs"), row_data, smoke,
                                           row_extra, spec.reference, run_dirs,
                                           selection)))
        run_dirs[row.name] = outcomes[-1]["chosen_run_dir"]
    results = stages.run("results", "tables, figures and significance", lambda: (
        results_lib.write_results(spec, outcomes, out_dir, command=command,
                                  table_dir=table_dir, data_dir=data_dir,
                                  corpus="synthetic" if table is None else table,
                                  seconds=round(time.perf_counter() - started, 1),
                                  skipped=skipped, folds=chosen_folds,
                                  attention=attention_figure(spec, outcomes, out_dir))))
    print(f"\nresults: {os.path.join(out_dir, results_lib.RESULTS_MD)}")
    return results


def _folds(data_dir: str, folds: Any) -> List[str]:
    """The selected fold names of ``data_dir``'s protocol (UserError when unknown)."""
    from tfser import data  # pylint: disable=import-outside-toplevel
    from tfser import training  # pylint: disable=import-outside-toplevel
    try:
        return training.select_folds(data.load_info(data_dir), folds)
    except ValueError as error:
        raise UserError(f"--folds: {error}") from None


def _run_sklearn_row(spec: spec_lib.RecipeSpec, row: spec_lib.RowSpec, runs_dir: str,
                     outcomes: Sequence[Mapping[str, Any]], data_dir: str,
                     folds: Sequence[str]) -> Dict[str, Any]:
    """A ``sklearn:`` row: a classifier on stored features, or a combination of earlier
    classifier rows (:mod:`tfser.recipes.classifiers`), or a regressor stacked on the
    rows run before it (:mod:`tfser.recipes.classical`; their runs are evaluated on the
    fitting part beside their test evaluation)."""
    from tfser.recipes import classical  # pylint: disable=import-outside-toplevel
    from tfser.recipes import classifiers  # pylint: disable=import-outside-toplevel
    by_name = {o["name"]: o for o in outcomes}
    row_dir = os.path.join(runs_dir, row.name)
    if row.sklearn.inputs == "features":
        return classifiers.features_row(row, row.sklearn, row_dir, data_dir, folds,
                                        spec.reference)
    if row.sklearn.estimator in classical.COMBINERS:
        return classifiers.combine_row(row, row.sklearn, row_dir, by_name, folds,
                                       spec.reference)

    def evaluate(name: str, part: str) -> str:
        # Once per run and part in a recipe run (the multistage rows share their inputs).
        done = by_name[name].setdefault("evaluated", {})
        if part not in done:
            run_dir = os.path.dirname(by_name[name]["eval_dir"])
            eval_name = EVAL_DEV_DIR if part == "dev" else f"eval_{part}"
            evaluation_of(run_dir, part, spec.row(name).checkpoint, eval_name)
            done[part] = os.path.join(run_dir, eval_name)
        return done[part]

    return classical.run_row(row, os.path.join(runs_dir, row.name), by_name, evaluate)


def _with_dependencies(spec: spec_lib.RecipeSpec, names: Sequence[str]
                       ) -> List[spec_lib.RowSpec]:
    """The named rows plus every row they reference (``{run:<row>}``), in recipe order."""
    wanted = set(names)
    for row in reversed(spec.rows):  # references point to earlier rows only
        if row.name in wanted:
            needed = (set(spec_lib.run_references(row.overrides))
                      | set(row.sklearn.rows if row.sklearn is not None else ())) - wanted
            for name in sorted(needed):
                print(f"also running row {name} (row {row.name} builds on it)", flush=True)
            wanted |= needed
    return [row for row in spec.rows if row.name in wanted]


def _row_config(row: spec_lib.RowSpec, spec: spec_lib.RecipeSpec, kind: str,
                main_config: tuple) -> tuple:
    """``(config path, overrides)`` a row's data is featurized with."""
    overrides = tuple(row.featurize.get("overrides", ()))
    if row.featurize.get("synthetic") is None:  # overrides of the recipe's config
        return main_config[0], overrides
    return _repo_path(_config_of(row.featurize.get("synthetic"), row.featurize.get("table"),
                                 kind, spec.name)), overrides


def attention_figure(spec: spec_lib.RecipeSpec, outcomes: Sequence[Mapping[str, Any]],
                     out_dir: str) -> Optional[str]:
    """Draws the recipe's attention comparison (``attention:``) into ``out_dir``; None
    when the recipe has none or not all of its rows ran (``--rows``)."""
    if spec.attention is None:
        return None
    by_name = {o["name"]: o for o in outcomes}
    if any(row not in by_name for row in spec.attention.rows):
        return None
    from tfser.evaluation import attention  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import plots  # pylint: disable=import-outside-toplevel
    utterances = attention.compare_attention(
        {row: by_name[row]["chosen_run_dir"] for row in spec.attention.rows},
        heads={row: by_name[row]["head"] for row in spec.attention.rows},
        num_utterances=spec.attention.utterances, part="test", reference=spec.reference)
    first = spec.row(spec.attention.rows[0])
    return plots.plot_attention_comparison(
        utterances, os.path.join(out_dir, ATTENTION_FIGURE),
        title=f"Attention weights on the same test utterances ({first.checkpoint} "
              "checkpoints; legend: row: its decision)")


def _config_of(synthetic: Optional[str], table: Optional[str], kind: str,
               recipe: str) -> str:
    """The featurize config for the synthetic corpus or for a real table."""
    path = synthetic if kind == "synthetic" else table
    if not path:
        raise UserError(f"recipe {recipe} names no featurize config for a real table; "
                        "add featurize.table to the recipe (and to rows with their own)")
    return path


def _repo_path(path: str) -> str:
    """A recipe's config path: absolute, or relative to the repository (or cwd)."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    repo = os.path.dirname(os.path.dirname(spec_lib.RECIPE_DIR))
    return os.path.join(repo, path)
