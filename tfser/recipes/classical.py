"""Recipe rows fitted by a scikit-learn estimator instead of Keras (``sklearn:`` rows).

A row of this kind stacks an estimator on the *predictions* of earlier rows (paper
003's late fusion by SVR and its multistage SVR; score-level fusion in general)::

    - name: late_svr
      sklearn:
        estimator: svr                 # see ESTIMATORS
        params: {kernel: rbf, C: 1.0}  # keyword arguments of the estimator
        inputs: predictions            # the outputs of earlier rows' runs
        rows: [unimodal/au, unimodal/egemaps, early/egemaps+au]
        best: 2                        # the N best of them by development score
        select: {metric: mean_ccc}     # (goal: max or min)
        fit_on: dev                    # fit on development predictions only
        stages: 1                      # >1: the output is fed back (multistage)

The estimator is fitted per fold on the ``fit_on`` part only (development predictions
of the input runs, never test), then predicts the test part; the result is written as
an evaluation directory in the format of ``tfser-evaluate`` (``predictions.parquet``,
``metrics.json``, ``report.md``), so tables, figures and significance tests treat the
row like any other. Regression heads (one value per utterance) and sequence heads
(frame-level traces: every labelled frame is one sample) are supported; each attribute
gets its own estimator over that attribute's column of every input run
(``per_attribute: false``: over every attribute's columns).

``stages: n`` chains ``n`` estimators of the same kind: stage 1 reads the input runs'
predictions, stage ``k + 1`` reads stage ``k``'s predictions of the same part (on the
fitting part: its in-sample predictions), as paper 003's Fig. 2.

The estimator and its inputs are parameters. Categorical heads go to
:mod:`tfser.recipes.classifiers`: ``inputs: features`` (a classifier on stored feature
sets, e.g. the linear SVM on eGeMAPS functionals of the EmoDB recipe, with its
``features``, ``search`` grid and ``inner_folds``) and the combiners ``mean`` and
``select`` over earlier classifier rows.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tfser.config import checks
from tfser.config.errors import UserError

SKLEARN_KEYS = ("estimator", "params", "inputs", "rows", "best", "select", "fit_on", "stages",
                "per_attribute", "features", "search", "inner_folds")
SELECT_KEYS = ("metric", "goal")
INPUTS = ("predictions", "features")
FIT_PARTS = ("dev", "train")
# name -> (module, class): regressors for regression and sequence heads.
ESTIMATORS: Dict[str, Tuple[str, str]] = {
    "svr": ("sklearn.svm", "SVR"),
    "linear_svr": ("sklearn.svm", "LinearSVR"),
    "linear_regression": ("sklearn.linear_model", "LinearRegression"),
    "ridge": ("sklearn.linear_model", "Ridge"),
    # Classifiers on stored features (tfser.recipes.classifiers).
    "linear_svm": ("sklearn.svm", "LinearSVC"),
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression"),
}
# Combinations of earlier classifier rows' probabilities (tfser.recipes.classifiers).
COMBINERS = ("mean", "select")
CLASSIFIERS = ("linear_svm", "logistic_regression")
EVAL_DIR = "eval"
REGRESSION_FAMILIES = ("regression", "sequence")

_CHECK = checks.Checks("recipe")


@dataclasses.dataclass(frozen=True)
class SklearnSpec:
    """The ``sklearn:`` block of a recipe row.

    Attributes:
      estimator: A name of :data:`ESTIMATORS`.
      params: Keyword arguments of the estimator.
      inputs: ``predictions`` (earlier rows' outputs) or ``features`` (reserved).
      rows: The rows whose runs' predictions are stacked (they run first).
      best: Keep the N best of ``rows`` by development score (None: all).
      select_metric: The development score ranking ``rows`` (a pooled metric).
      select_goal: ``max`` or ``min``.
      fit_on: The part the estimator is fitted on: ``dev`` (default) or ``train``.
      stages: Estimators chained, each reading the previous one's output.
      per_attribute: One estimator per attribute over that attribute's columns.
    """

    estimator: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    inputs: str = "predictions"
    rows: Tuple[str, ...] = ()
    best: Optional[int] = None
    select_metric: str = "mean_ccc"
    select_goal: str = "max"
    fit_on: str = "dev"
    stages: int = 1
    per_attribute: bool = True
    features: Tuple[str, ...] = ()
    search: Mapping[str, Tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    inner_folds: int = 5

    @property
    def label(self) -> str:
        """The row's ``experiment`` entry in results (``sklearn:svr x2``)."""
        return f"sklearn:{self.estimator}" + (f" x{self.stages}" if self.stages > 1 else "")

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "SklearnSpec":
        """Validates a row's ``sklearn:`` block (one-line errors naming the key)."""
        _CHECK.keys(data, SKLEARN_KEYS, where)
        estimator = _CHECK.choice(data.get("estimator"), f"{where}.estimator",
                                  tuple(ESTIMATORS) + COMBINERS)
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            _CHECK.fail(f"{where}.params", f"must be a mapping of estimator arguments, "
                                           f"got {params!r}")
        inputs = _CHECK.choice(data.get("inputs", "predictions"), f"{where}.inputs", INPUTS)
        if inputs == "features":
            return cls._features_block(data, where, estimator, params)
        for key in ("features", "search", "inner_folds"):
            if data.get(key) is not None:
                _CHECK.fail(f"{where}.{key}", "only a row with inputs: features takes it")
        rows = _CHECK.names(data.get("rows"), f"{where}.rows", allow_empty=True,
                            optional=True) or ()
        if estimator in CLASSIFIERS:
            _CHECK.fail(f"{where}.estimator", f"{estimator} fits stored features: give "
                                              "inputs: features (to combine rows: mean or "
                                              "select)")
        if not rows:
            _CHECK.fail(f"{where}.rows", "must name the earlier rows whose predictions "
                                         "are stacked")
        best = data.get("best")
        if best is not None and (isinstance(best, bool) or not isinstance(best, int)
                                 or not 1 <= best <= len(rows)):
            _CHECK.fail(f"{where}.best", f"must be an integer from 1 to {len(rows)} (the "
                                         f"number of rows), got {best!r}")
        select = _CHECK.keys(data.get("select") or {}, SELECT_KEYS, f"{where}.select")
        stages = data.get("stages", 1)
        if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
            _CHECK.fail(f"{where}.stages", f"must be a positive integer, got {stages!r}")
        per_attribute = data.get("per_attribute", True)
        if not isinstance(per_attribute, bool):
            _CHECK.fail(f"{where}.per_attribute", f"must be true or false, got "
                                                  f"{per_attribute!r}")
        return cls(estimator=estimator, params=dict(params), inputs=inputs, rows=rows,
                   best=best, select_metric=str(select.get("metric", "mean_ccc")),
                   select_goal=_CHECK.choice(select.get("goal", "max"),
                                             f"{where}.select.goal", ("max", "min")),
                   fit_on=_CHECK.choice(data.get("fit_on", "dev"), f"{where}.fit_on",
                                        FIT_PARTS),
                   stages=stages, per_attribute=per_attribute)


    @classmethod
    def _features_block(cls, data: Mapping[str, Any], where: str, estimator: str,
                        params: Mapping[str, Any]) -> "SklearnSpec":
        """An ``inputs: features`` block: a classifier, its features and its grid."""
        if estimator not in CLASSIFIERS:
            _CHECK.fail(f"{where}.estimator", f"inputs: features takes a classifier "
                                              f"{list(CLASSIFIERS)}, got {estimator!r}")
        extra = [k for k in ("rows", "best", "select", "fit_on", "stages", "per_attribute")
                 if data.get(k) is not None]
        if extra:
            _CHECK.fail(where, f"a row with inputs: features takes no {extra}")
        features = _CHECK.names(data.get("features"), f"{where}.features")
        search = data.get("search") or {}
        if not isinstance(search, Mapping) or not all(
                isinstance(v, (list, tuple)) and v for v in search.values()):
            _CHECK.fail(f"{where}.search", f"must map estimator arguments to non-empty "
                                           f"lists of values, got {search!r}")
        inner_folds = data.get("inner_folds", 5)
        if isinstance(inner_folds, bool) or not isinstance(inner_folds, int) or \
                inner_folds < 2:
            _CHECK.fail(f"{where}.inner_folds", f"must be an integer >= 2, got "
                                                f"{inner_folds!r}")
        return cls(estimator=estimator, params=dict(params), inputs="features",
                   features=tuple(features), search={str(k): tuple(v)
                                                     for k, v in search.items()},
                   inner_folds=inner_folds)


def build_estimator(name: str, params: Mapping[str, Any]):
    """A fresh, unfitted estimator of :data:`ESTIMATORS` (scikit-learn imported here)."""
    module, attribute = ESTIMATORS[name]
    try:
        return getattr(importlib.import_module(module), attribute)(**dict(params))
    except TypeError as error:
        raise UserError(f"bad params {dict(params)} for estimator {name!r}: {error}") from None


def fit_stages(make_estimator: Callable[[], Any], fit_x: np.ndarray, fit_y: np.ndarray,
               predict_x: np.ndarray, stages: int) -> List[np.ndarray]:
    """Fits a chain of ``stages`` estimators on ``(fit_x, fit_y)`` only and predicts
    ``predict_x`` through it.

    Stage 1 reads ``fit_x`` / ``predict_x``; stage ``k + 1`` reads stage ``k``'s
    predictions of the same samples (on the fitting data: its in-sample predictions).
    ``predict_x`` never enters a fit.

    Args:
      make_estimator: Returns a fresh estimator (one per stage).
      fit_x: [N, D] fitting inputs.
      fit_y: [N] fitting targets.
      predict_x: [M, D] inputs to predict.
      stages: Number of chained estimators (>= 1).

    Returns:
      ``stages`` arrays of [M] predictions, one per stage.
    """
    predictions = []
    fit_in, predict_in = np.asarray(fit_x, np.float64), np.asarray(predict_x, np.float64)
    for _ in range(stages):
        estimator = make_estimator().fit(fit_in, np.asarray(fit_y, np.float64))
        fit_out, predict_out = estimator.predict(fit_in), estimator.predict(predict_in)
        predictions.append(predict_out)
        fit_in, predict_in = fit_out[:, None], predict_out[:, None]
    return predictions


# -- predictions tables ------------------------------------------------------------------

def _values(frame, layout, column: str) -> List[np.ndarray]:
    """Per utterance, the frames (sequence) or the single value (regression) of a column."""
    if layout.family == "sequence":
        return [np.asarray(v, dtype=np.float64) for v in frame[column]]
    return [np.asarray([v], dtype=np.float64) for v in frame[column]]


def _aligned(frames: Sequence[Any], names: Sequence[str]) -> List[Any]:
    """The frames in one utterance order (fold, utt_id), refusing differing utterances."""
    keyed = [f.sort_values(["fold", "utt_id"]).reset_index(drop=True) for f in frames]
    first = keyed[0][["fold", "utt_id"]]
    for frame, name in zip(keyed[1:], names[1:]):
        if not frame[["fold", "utt_id"]].equals(first):
            raise UserError(f"row {name!r} predicted other utterances than {names[0]!r}; "
                            "stacked rows must read the same featurized split")
    return keyed


def _design(frames, layout, attributes: Sequence[str], fold: str
            ) -> Tuple[np.ndarray, np.ndarray, List[int]]:
    """Inputs [samples, runs x attributes], targets [samples, attributes] and the
    samples per utterance of one fold (labelled utterances only)."""
    selected = [f[(f["fold"] == fold) & f[layout.labelled_column()].astype(bool)]
                for f in frames]
    columns = []
    for frame in selected:
        for attribute in attributes:
            columns.append(np.concatenate(_values(frame, layout,
                                                  layout.output_columns()[
                                                      layout.classes.index(attribute)]))
                           if len(frame) else np.zeros(0))
    lengths = [len(v) for v in _values(selected[0], layout,
                                       layout.target_column(attributes[0]))]
    targets = np.stack([np.concatenate(_values(selected[0], layout, layout.target_column(a)))
                        if len(selected[0]) else np.zeros(0) for a in attributes], axis=1)
    inputs = np.stack(columns, axis=1)
    if len(inputs) != len(targets):
        raise UserError("stacked rows disagree on the number of frames of an utterance; "
                        "they must read the same featurized data")
    return inputs, targets, lengths


def stack_predictions(spec: SklearnSpec, fit_frames: Sequence[Any],
                      test_frames: Sequence[Any], layout, names: Sequence[str]
                      ) -> List[Any]:
    """Fits ``spec`` on the input runs' ``fit_on`` predictions and predicts test.

    Args:
      spec: The row's estimator block.
      fit_frames: Per input row, its predictions table of the fitting part.
      test_frames: Per input row, its predictions table of the test part.
      layout: The scored head's :class:`~tfser.evaluation.columns.HeadLayout`.
      names: The input rows' names (for errors).

    Returns:
      One test predictions table per stage: the first input's test table with the
      head's output columns replaced by the stage's predictions.
    """
    if layout.family not in REGRESSION_FAMILIES:
        raise UserError(f"sklearn rows stack regression or sequence heads; head "
                        f"'{layout.head}' is {layout.family}")
    fit_frames, test_frames = _aligned(fit_frames, names), _aligned(test_frames, names)
    attributes = list(layout.classes)
    outputs = {stage: {a: {} for a in attributes} for stage in range(spec.stages)}
    for fold in test_frames[0]["fold"].unique():
        fit_x, fit_y, _ = _design(fit_frames, layout, attributes, fold)
        test_x, _, lengths = _design(test_frames, layout, attributes, fold)
        if not len(fit_x):
            raise UserError(f"fold {fold!r} has no labelled {spec.fit_on} predictions to "
                            f"fit the {spec.estimator} on")
        for j, attribute in enumerate(attributes):
            # Column r * A + j is run r's prediction of attribute j.
            columns = [r * len(attributes) + j for r in range(len(fit_frames))] \
                if spec.per_attribute else list(range(fit_x.shape[1]))
            per_stage = fit_stages(lambda: build_estimator(spec.estimator, spec.params),
                                   fit_x[:, columns], fit_y[:, j], test_x[:, columns],
                                   spec.stages)
            for stage, predicted in enumerate(per_stage):
                outputs[stage][attribute][fold] = np.split(predicted,
                                                           np.cumsum(lengths)[:-1])
    return [_with_outputs(test_frames[0], layout, outputs[stage])
            for stage in range(spec.stages)]


def _with_outputs(frame, layout, outputs: Mapping[str, Mapping[str, List[np.ndarray]]]):
    """A copy of ``frame`` whose head outputs are ``outputs[attribute][fold]`` (one
    array per labelled utterance of the fold, in table order)."""
    frame = frame.copy()
    labelled = frame[layout.labelled_column()].astype(bool).to_numpy()
    for attribute, column in zip(layout.classes, layout.output_columns()):
        values = list(frame[column])
        for fold, arrays in outputs[attribute].items():
            rows = np.flatnonzero((frame["fold"] == fold).to_numpy() & labelled)
            for row, array in zip(rows, arrays):
                values[row] = array.tolist() if layout.family == "sequence" \
                    else float(array[0])
        frame[column] = values
    return frame


def write_evaluation(frame, layout, out_dir: str, run: Mapping[str, Any],
                     reference=None) -> Dict[str, Any]:
    """Scores a predictions table and writes it as ``tfser-evaluate`` does.

    ``reference``: the :class:`~tfser.evaluation.columns.HeadLayout` of a hard label
    view the table's ``<reference>/target`` columns hold (scored as ``vs_<reference>``).
    """
    from tfser.evaluation import metrics as metrics_lib  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import report as report_lib  # pylint: disable=import-outside-toplevel
    layouts = {layout.head: layout}
    metrics = {"command": run.get("command", ""), "working_directory": os.getcwd(),
               "run": dict(run), **metrics_lib.compute_metrics(frame, layouts,
                                                                reference=reference),
               "skipped_folds": [], "layouts": {layout.head: layout.to_dict()}}
    if reference is not None:
        metrics["reference_layout"] = reference.to_dict()
    metrics = report_lib.json_safe(metrics)
    report_lib.write_outputs(out_dir, frame, metrics, layouts)
    return metrics


def _score(metrics: Mapping[str, Any], head: str, metric: str) -> float:
    try:
        value = metrics["heads"][head]["pooled"][metric]
    except KeyError:
        raise UserError(f"no pooled '{metric}' for head '{head}' to rank stacked rows; fix "
                        "the row's sklearn.select.metric") from None
    return float("nan") if value is None else float(value)


def run_row(row, row_dir: str, inputs: Mapping[str, Mapping[str, Any]],
            evaluate: Callable[[str, str], Mapping[str, Any]]) -> Dict[str, Any]:
    """One ``sklearn:`` row: rank the input rows on dev, fit, predict test, evaluate.

    Args:
      row: The :class:`~tfser.recipes.spec.RowSpec` (with ``sklearn`` set).
      row_dir: The row's directory (its evaluation goes to ``<row_dir>/eval``).
      inputs: Outcomes of the rows run so far, by name (:func:`runner.run_row`).
      evaluate: ``(row name, part) -> evaluation directory`` of an input row's run on
        a part (written beside its test evaluation, e.g. ``eval_dev``).

    Returns:
      An outcome like :func:`tfser.recipes.runner.run_row`'s, plus ``stacked`` (the
      input rows used and their development scores).
    """
    from tfser.evaluation import columns  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import report as report_lib  # pylint: disable=import-outside-toplevel
    spec: SklearnSpec = row.sklearn
    started = time.perf_counter()
    missing = [name for name in spec.rows if name not in inputs]
    if missing:
        raise UserError(f"row {row.name!r} stacks rows {missing} that did not run; run them "
                        "too (drop --rows or add them)")
    fit_dirs = {name: evaluate(name, spec.fit_on) for name in spec.rows}
    fit_metrics = {name: report_lib.read_metrics(fit_dirs[name]) for name in spec.rows}
    scores = {name: _score(fit_metrics[name], row.head, spec.select_metric)
              for name in spec.rows}
    ranked = sorted(spec.rows, key=lambda n: (np.nan_to_num(scores[n], nan=-np.inf)
                                              * (1 if spec.select_goal == "max" else -1)),
                    reverse=True)
    chosen = ranked[:spec.best or len(ranked)]
    layout = columns.HeadLayout.from_dict(fit_metrics[chosen[0]]["layouts"][row.head])
    fit_frames = [report_lib.read_predictions(fit_dirs[n]) for n in chosen]
    test_frames = [report_lib.read_predictions(inputs[n]["eval_dir"]) for n in chosen]
    frame = stack_predictions(spec, fit_frames, test_frames, layout, chosen)[-1]
    out = os.path.join(row_dir, EVAL_DIR)
    run = {"model_dir": row_dir, "kind": "sklearn", "experiment": spec.label,
           "data_dir": inputs[chosen[0]]["data_dir"], "part": "test",
           "fitted_on": spec.fit_on, "inputs": chosen, "estimator": spec.estimator,
           "params": dict(spec.params), "stages": spec.stages,
           "command": f"tfser-reproduce ... (row {row.name}: {spec.label} fitted on "
                      f"{spec.fit_on} predictions of {', '.join(chosen)})"}
    metrics = write_evaluation(frame, layout, out, run)
    print(f"    {row.name}: {spec.label} over {chosen} (fitted on {spec.fit_on}) -> test "
          f"{spec.select_metric} {_score(metrics, row.head, spec.select_metric):.3f}",
          flush=True)
    return {"name": row.name, "experiment": spec.label, "head": row.head, "run_dir": row_dir,
            "data_dir": inputs[chosen[0]]["data_dir"], "overrides": [], "eval_dir": out,
            "metrics": metrics, "stacked": {"rows": chosen, "dev": scores},
            "seconds": round(time.perf_counter() - started, 1)}
