"""Classifier rows of a recipe: scikit-learn on stored features, probability fusion and
a per-fold choice among rows, all decided on the speakers a fold may see.

Three ``sklearn:`` shapes of a categorical head (:mod:`tfser.recipes.classical` holds
the block's keys and the regression rows of paper 003)::

    - name: svm_egemaps            # a classifier on stored features
      sklearn: {estimator: linear_svm, inputs: features, features: [egemaps_functionals],
                search: {C: [0.0001, 0.001, 0.01, 0.1, 1.0]}}
    - name: fusion                 # the mean of earlier rows' class probabilities
      sklearn: {estimator: mean, rows: [lr_egemaps, lr_compare]}
    - name: selected               # per fold, the row with the best development UA
      sklearn: {estimator: select, rows: [svm_egemaps, lr_compare, fusion]}

**How a fold decides.** The fold's training and development speakers together are the
speakers it may see. A features row scores each point of its ``search`` grid by an
inner cross-validation over those speakers (leave one speaker out, or
``inner_folds`` groups of speakers when there are more), keeps the point with the
highest held-out unweighted accuracy (the first on ties), refits it on all of them and
predicts the test speaker. The held-out probabilities of the inner cross-validation
are the row's *development predictions* (``<row>/inner/<fold>.npz``): a ``mean`` row
averages its rows' development predictions as it averages their test ones, and a
``select`` row takes, fold by fold, the row whose development predictions score the
highest UA. No test utterance enters a fit, a grid point or a choice. Five speakers
leave four to choose on instead of one development speaker: a choice made on one
speaker is mostly noise (measured on the EmoDB part: README "EmoDB").

Features are the reader's (with its normalisation, e.g. per speaker), then
standardised on the fitting data only. Test predictions go through
:func:`tfser.evaluation.predictions.predict_frame`, so a row's evaluation directory
is the same as ``tfser-evaluate`` writes and every table and test reads it unchanged.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tfser.config.errors import UserError
from tfser.metrics import classification
from tfser.recipes.spec import grid_points

INNER_DIR = "inner"
EVAL_DIR = "eval"


# -- fitting -----------------------------------------------------------------------------

def probabilities(estimator, x: np.ndarray, num_classes: int) -> np.ndarray:
    """[N, num_classes] class probabilities of a fitted classifier.

    ``predict_proba`` where the estimator has it, else the softmax of its decision
    scores (a linear SVM); classes the fitting data lacked get probability 0.
    """
    if hasattr(estimator, "predict_proba"):
        scores = estimator.predict_proba(x)
    else:
        decision = estimator.decision_function(x)
        if decision.ndim == 1:  # two classes seen: one margin
            decision = np.stack([-decision, decision], axis=1)
        decision = np.exp(decision - decision.max(axis=1, keepdims=True))
        scores = decision / decision.sum(axis=1, keepdims=True)
    full = np.zeros((len(x), num_classes))
    full[:, np.asarray(estimator.classes_, dtype=int)] = scores
    return full


def fit(make: Callable[[], Any], x: np.ndarray, y: np.ndarray, num_classes: int,
        in_span: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """Standardises on ``x`` only, fits ``make()`` on it and returns ``x -> [N, K]``
    class probabilities.

    ``in_span``: with more dimensions than utterances (ComParE's 6,373 on a few hundred
    utterances) fit in the span of the training utterances instead. An L2-penalised
    linear model's weights lie in that span (w = X^T a), so with ``X = U S V^T`` the
    model on ``X V`` (at most N columns) has the same scores on any input projected by
    ``V``: the same solution, 10-30x faster. Only for L2 penalties (the default of both
    classifiers here); pass False for others.
    """
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    z = (x - mean) / scale
    basis = None
    if in_span and z.shape[1] > z.shape[0]:
        _, singular, vt = np.linalg.svd(z, full_matrices=False)
        basis = vt[singular > singular[0] * 1e-10].T
        z = z @ basis
    estimator = make().fit(z, y)

    def predict(new: np.ndarray) -> np.ndarray:
        new = (np.asarray(new) - mean) / scale
        return probabilities(estimator, new if basis is None else new @ basis, num_classes)
    return predict


def speaker_groups(speakers: np.ndarray, inner_folds: int) -> np.ndarray:
    """Each utterance's inner fold: one per speaker, or speakers dealt round-robin (in
    sorted order) into ``inner_folds`` groups when there are more speakers."""
    names = sorted(set(speakers.tolist()))
    if len(names) <= inner_folds:
        return np.asarray([names.index(s) for s in speakers])
    return np.asarray([names.index(s) % inner_folds for s in speakers])


def inner_search(make: Callable[[Mapping[str, Any]], Any], x: np.ndarray, y: np.ndarray,
                 speakers: np.ndarray, grid: Mapping[str, Sequence[Any]], num_classes: int,
                 inner_folds: int = 5, in_span: bool = True
                 ) -> Tuple[Dict[str, Any], np.ndarray, List[Dict[str, Any]]]:
    """The grid point with the best held-out UA of a speaker cross-validation.

    Args:
      make: ``params -> unfitted estimator``.
      x: [N, D] features of every utterance the fold may see (training and development).
      y: [N] class indices.
      speakers: [N] speaker of each utterance.
      grid: ``{param: values}``; empty: the estimator's defaults only.
      num_classes: Number of classes.
      inner_folds: At most this many inner folds (speakers grouped beyond it).
      in_span: See :func:`fit`.

    Returns:
      ``(best params, [N, K] held-out probabilities at the best point, every point as
      {"params", "ua"})``; the best point has the highest held-out UA, the first such
      point on ties.

    Raises:
      UserError: Fewer than two speakers to hold out.
    """
    groups = speaker_groups(np.asarray(speakers), inner_folds)
    if len(set(groups.tolist())) < 2:
        raise UserError(f"an inner speaker cross-validation needs two or more speakers "
                        f"besides the test speaker; got {sorted(set(speakers.tolist()))}")
    curve, best = [], None
    for params in grid_points(grid) if grid else [{}]:
        held_out = np.zeros((len(y), num_classes))
        for group in sorted(set(groups.tolist())):
            out = groups == group
            held_out[out] = fit(lambda: make(params), x[~out], y[~out], num_classes,
                                in_span)(x[out])
        score = classification.unweighted_accuracy(y, held_out.argmax(axis=1))
        curve.append({"params": dict(params), "ua": float(score)})
        if best is None or score > best[0]:
            best = (score, dict(params), held_out)
    return best[1], best[2], curve


# -- reading and predicting through the reader -------------------------------------------

def read_part(info, fold: str, part: str, features: Sequence[str], head: str
              ) -> Dict[str, np.ndarray]:
    """One fold's part as arrays: ``x`` [N, D] (the feature sets side by side), ``y``
    [N] class indices, ``speakers`` and ``utt_ids``; unlabelled utterances left out."""
    from tfser import data  # pylint: disable=import-outside-toplevel
    dataset = data.build_dataset(info, fold, part, features=list(features), heads=[head],
                                 batch_size=256, shuffle=False, include_variants=False,
                                 return_meta=True, cache=False)
    xs, ys, keep, speakers, utts = [], [], [], [], []
    for x, targets, weights, meta in dataset:
        xs.append(np.concatenate([x[name].numpy().reshape(len(x[name]), -1)
                                  for name in features], axis=1))
        ys.append(targets[head].numpy().astype(int).reshape(-1))
        keep.append(weights[head].numpy().reshape(-1) > 0)
        speakers += [s.decode() for s in meta["speaker_id"].numpy()]
        utts += [u.decode() for u in meta["utt_id"].numpy()]
    if not xs:
        return {"x": np.zeros((0, 0)), "y": np.zeros(0, int), "speakers": np.asarray([]),
                "utt_ids": np.asarray([])}
    mask = np.concatenate(keep)
    return {"x": np.concatenate(xs)[mask], "y": np.concatenate(ys)[mask],
            "speakers": np.asarray(speakers)[mask], "utt_ids": np.asarray(utts)[mask]}


class FittedModel:
    """A fitted classifier shaped like a tfser Keras model for
    :func:`tfser.evaluation.predictions.predict_frame`: a dict of named features in,
    ``{head: probabilities}`` out."""

    def __init__(self, name: str, features: Sequence[str], head: str,
                 predict: Callable[[np.ndarray], np.ndarray]):
        self.name = name
        self.input = {feature: None for feature in features}
        self.output = {head: None}
        self._features, self._head, self._predict = list(features), head, predict

    def __call__(self, inputs: Mapping[str, Any], training: bool = False):
        del training
        x = np.concatenate([np.asarray(inputs[f]).reshape(len(inputs[f]), -1)
                            for f in self._features], axis=1)
        return {self._head: _AsTensor(self._predict(x))}


class _AsTensor(np.ndarray):
    """A NumPy array with the ``.numpy()`` of a tensor (what predict_frame calls)."""

    def __new__(cls, array):
        return np.asarray(array, dtype=np.float32).view(cls)

    def numpy(self):
        return np.asarray(self)


# -- rows --------------------------------------------------------------------------------

def _inner_path(row_dir: str, fold: str) -> str:
    return os.path.join(row_dir, INNER_DIR, f"{fold.replace(':', '_').replace('/', '_')}.npz")


def _save_inner(row_dir: str, fold: str, utt_ids, probs: np.ndarray, y: np.ndarray) -> None:
    from tfser.fileio import atomic  # pylint: disable=import-outside-toplevel
    path = _inner_path(row_dir, fold)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic.atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, utt_ids=np.asarray(utt_ids), probs=probs, y=y)


def load_inner(row_dir: str, fold: str) -> Dict[str, np.ndarray]:
    """A row's development predictions of one fold (``utt_ids``, ``probs``, ``y``)."""
    path = _inner_path(row_dir, fold)
    if not os.path.isfile(path):
        raise UserError(f"{row_dir} has no development predictions for fold {fold!r} "
                        f"({path}); only sklearn classifier rows (inputs: features, mean, "
                        "select) have them")
    with np.load(path, allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}


def _write(frame, info, head: str, out_dir: str, run: Mapping[str, Any],
           reference: Optional[str]) -> Dict[str, Any]:
    """Scores a predictions table and writes it as ``tfser-evaluate`` does
    (:func:`tfser.recipes.classical.write_evaluation`)."""
    from tfser.evaluation import predictions  # pylint: disable=import-outside-toplevel
    from tfser.recipes import classical  # pylint: disable=import-outside-toplevel
    layout = predictions.head_layouts(info, [head])[head]
    reference_layout = None
    if reference is not None and reference != head:
        reference_layout = predictions.reference_layout(info, reference)
    return classical.write_evaluation(frame, layout, out_dir, run, reference_layout)


def _estimator_factory(spec) -> Callable[[Mapping[str, Any]], Any]:
    from tfser.recipes import classical  # pylint: disable=import-outside-toplevel
    return lambda params: classical.build_estimator(spec.estimator,
                                                    {**spec.params, **dict(params)})


def features_row(row, spec, row_dir: str, data_dir: str, folds: Sequence[str],
                 reference: Optional[str] = None) -> Dict[str, Any]:
    """A classifier on stored features, fold by fold (see the module docstring)."""
    from tfser import data  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import predictions  # pylint: disable=import-outside-toplevel
    started = time.perf_counter()
    info = data.load_info(data_dir)
    missing = [f for f in spec.features if f not in info.feature_specs]
    if missing:
        raise UserError(f"row {row.name!r}: features {missing} are not stored in "
                        f"{data_dir} (stored: {list(info.feature_specs)}); featurize them")
    num_classes = len(info.label_specs[row.head].classes)
    make = _estimator_factory(spec)
    in_span = spec.params.get("penalty", "l2") == "l2"
    frames, choices = [], []
    for fold in folds:
        parts = [read_part(info, fold, part, spec.features, row.head)
                 for part in ("train", "dev")]
        seen = {key: np.concatenate([p[key] for p in parts if len(p["y"])])
                for key in ("x", "y", "speakers", "utt_ids")}
        params, held_out, curve = inner_search(make, seen["x"], seen["y"], seen["speakers"],
                                               spec.search, num_classes, spec.inner_folds,
                                               in_span)
        _save_inner(row_dir, fold, seen["utt_ids"], held_out, seen["y"])
        model = FittedModel(row.name, spec.features, row.head,
                            fit(lambda: make(params), seen["x"], seen["y"], num_classes,
                                in_span))
        frames.append(predictions.predict_frame(model, info, fold, "test",
                                                reference=reference))
        choices.append({"fold": fold, "params": params, "curve": curve})
        print(f"    {row.name}: fold {fold}: {_params_text(params)} (inner UA "
              f"{max(c['ua'] for c in curve):.3f} over {len(set(seen['speakers']))} "
              "speakers)", flush=True)
    return _finish(row, spec, row_dir, info, frames, reference, started,
                   {"features": list(spec.features), "estimator": spec.estimator,
                    "params": dict(spec.params),
                    "search": {k: list(v) for k, v in spec.search.items()},
                    "choices": choices}, f"on {', '.join(spec.features)}",
                   {"choices": choices})


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                     for k, v in params.items()) or "defaults"


def _finish(row, spec, row_dir: str, info, frames, reference: Optional[str],
            started: float, run_fields: Mapping[str, Any], what: str,
            extra: Mapping[str, Any]) -> Dict[str, Any]:
    """Writes a classifier row's test evaluation (its folds' predictions) and returns
    its outcome, shaped like :func:`tfser.recipes.runner.run_row`'s."""
    import pandas as pd  # pylint: disable=import-outside-toplevel
    run = {"model_dir": row_dir, "kind": "sklearn", "experiment": spec.label,
           "data_dir": info.data_dir, "part": "test", **run_fields,
           "command": f"tfser-reproduce ... (row {row.name}: {spec.label} {what})"}
    out = os.path.join(row_dir, EVAL_DIR)
    metrics = _write(pd.concat(frames, ignore_index=True), info, row.head, out, run,
                     reference)
    return {"name": row.name, "experiment": spec.label, "head": row.head,
            "run_dir": row_dir, "chosen_run_dir": row_dir, "data_dir": info.data_dir,
            "overrides": [], "eval_dir": out, "metrics": metrics,
            "seconds": round(time.perf_counter() - started, 1), **extra}


def _aligned_inner(row_dirs: Mapping[str, str], fold: str
                   ) -> Tuple[np.ndarray, np.ndarray, Dict[str, np.ndarray]]:
    """The rows' development predictions of ``fold`` in one utterance order:
    ``(utterance ids, class indices, {row: probabilities})``."""
    stored = {name: load_inner(path, fold) for name, path in row_dirs.items()}
    first = next(iter(stored.values()))
    order = np.argsort(first["utt_ids"])
    utts = first["utt_ids"][order]
    probs = {}
    for name, entry in stored.items():
        index = np.argsort(entry["utt_ids"])
        if not np.array_equal(entry["utt_ids"][index], utts):
            raise UserError(f"rows {list(row_dirs)} hold development predictions of other "
                            f"utterances in fold {fold!r}; they must read the same split")
        probs[name] = entry["probs"][index]
    return utts, first["y"][order], probs


def combine_row(row, spec, row_dir: str, inputs: Mapping[str, Mapping[str, Any]],
                folds: Sequence[str], reference: Optional[str] = None) -> Dict[str, Any]:
    """A ``mean`` or ``select`` row over earlier classifier rows (module docstring)."""
    from tfser import data  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import columns  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import report as report_lib  # pylint: disable=import-outside-toplevel
    started = time.perf_counter()
    missing = [name for name in spec.rows if name not in inputs]
    if missing:
        raise UserError(f"row {row.name!r} combines rows {missing} that did not run; run "
                        "them too (drop --rows or add them)")
    data_dir = inputs[spec.rows[0]]["data_dir"]
    info = data.load_info(data_dir)
    layout = columns.HeadLayout.from_dict(inputs[spec.rows[0]]["metrics"]["layouts"][row.head])
    tests = {name: report_lib.read_predictions(inputs[name]["eval_dir"]) for name in spec.rows}
    first = tests[spec.rows[0]]
    prob_columns = layout.output_columns()
    frames, choices = [], []
    for fold in folds:
        utts, y, inner = _aligned_inner({n: inputs[n]["run_dir"] for n in spec.rows}, fold)
        test = {name: frame[frame["fold"] == fold].set_index("utt_id")
                for name, frame in tests.items()}
        base = first[first["fold"] == fold].copy()
        if spec.estimator == "mean":
            held_out = np.mean([inner[n] for n in spec.rows], axis=0)
            probs = np.mean([test[n].loc[base["utt_id"], prob_columns].to_numpy()
                             for n in spec.rows], axis=0)
            choices.append({"fold": fold, "rows": list(spec.rows)})
        else:  # select: the row with the best development UA of this fold
            scores = {n: classification.unweighted_accuracy(y, inner[n].argmax(axis=1))
                      for n in spec.rows}
            pick = max(spec.rows, key=lambda n: scores[n])  # first on ties
            held_out = inner[pick]
            probs = test[pick].loc[base["utt_id"], prob_columns].to_numpy()
            choices.append({"fold": fold, "row": pick, "dev_ua": scores})
            print(f"    {row.name}: fold {fold}: {pick} (development UA "
                  f"{scores[pick]:.3f})", flush=True)
        base[prob_columns] = probs
        base[layout.pred_column()] = [layout.classes[i] for i in probs.argmax(axis=1)]
        frames.append(base)
        _save_inner(row_dir, fold, utts, held_out, y)
    return _finish(row, spec, row_dir, info, frames, reference, started,
                   {"inputs": list(spec.rows), "choices": choices},
                   f"of {', '.join(spec.rows)}",
                   {"choices": choices, "stacked": {"rows": list(spec.rows)}})

