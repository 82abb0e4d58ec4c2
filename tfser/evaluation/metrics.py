"""Metrics of a predictions table: per head, per fold, pooled, and mean/std over folds.

Every number comes from the metric functions of :mod:`tfser.metrics.classification`
and :mod:`tfser.metrics.regression`, applied to the labelled rows of each head
(``<head>/labelled``); this module only decides what each kind of head is scored on:

``categorical`` (hard, speaker)
    :func:`~tfser.metrics.classification.classification_report` of the decisions
    (``<head>/pred``) against the targets, with the probabilities for the
    cross-entropy: WA, UA, mean precision / recall, paper 000's F1 of the means,
    macro F1, per-class recall and precision, support, confusion matrices.
``soft``
    Cross-entropy and ``KL(target || output)`` (the cross-entropy minus the target's
    own entropy) against the target distributions; plus, under ``argmax``, the
    classification report of the decisions against each target's most probable class
    on the rows where that class is unique (``num_ties`` rows are left out).
``multilabel`` (secondary, existence)
    Multi-label accuracy (a class counts when its score is above 0.5; targets above 0
    count as present) with its per-class values, positives per class, binary
    cross-entropy per class and its mean; secondary heads add ``kl_normalised``, paper
    000's ``KL(q || p)`` of the target and the scores each normalised to sum 1.
``regression`` (dimensional) and ``sequence`` (frame-level)
    :func:`~tfser.metrics.regression.regression_report` per attribute (CCC,
    Pearson's r, MAE, RMSE) over the entries labelled for that attribute (frames of
    all labelled utterances for sequences) and ``mean_ccc`` over the attributes.
``per_rater``
    Every (utterance, rater) pair a rater labelled counts once: the cross-entropy of
    the rater's predicted distribution against their own, the classification report
    of the decisions against their most probable class (``argmax``), and WA / UA per
    rater.

Against a reference (``compute_metrics(..., reference=layout)``, a hard label view such
as ``emotion``), every head giving one class per utterance (hard, soft, existence: see
:data:`~tfser.evaluation.columns.SINGLE_LABEL_KINDS`) also gets, in each scope, a
``vs_<reference>`` block: the classification report of its decisions (an existence
head's highest score, paper 001's MLEE-only decision) against the reference's class on
exactly the rows where the reference is labelled, so that hard, soft and existence
models are scored on the same utterances against the same labels (paper 001, Table 3).

:func:`compute_metrics` scores each fold on its own rows and all rows together
(``pooled``: the concatenated test predictions of every fold, not an average), and
gives the mean and standard deviation (``ddof=1``) over folds of every numeric value,
each taken over the folds where the value is defined.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from tfser.metrics import classification
from tfser.metrics import regression
from tfser.evaluation.columns import SINGLE_LABEL_KINDS, HeadLayout

MULTILABEL_THRESHOLD = 0.5
SEPARATOR = "/"
REFERENCE_PREFIX = "vs_"

Layouts = Union[Mapping[str, HeadLayout], Sequence[HeadLayout]]


def _as_layouts(layouts: Layouts) -> Dict[str, HeadLayout]:
    if isinstance(layouts, Mapping):
        return dict(layouts)
    return {layout.head: layout for layout in layouts}


def _decisive(targets: np.ndarray) -> np.ndarray:
    """Rows of a [M, K] distribution whose largest value is unique."""
    return (targets == targets.max(axis=1, keepdims=True)).sum(axis=1) == 1


def _kl(outputs: np.ndarray, targets: np.ndarray) -> float:
    """``KL(targets || outputs)`` as cross-entropy minus the targets' own entropy."""
    return classification.cross_entropy(outputs, targets) - \
        classification.cross_entropy(targets, targets)


def _argmax_report(targets: np.ndarray, decisions: np.ndarray, outputs: np.ndarray,
                   classes: Sequence[str]) -> Tuple[Optional[Dict[str, Any]], int]:
    """The classification report against each target row's unique top class."""
    decisive = _decisive(targets)
    ties = int((~decisive).sum())
    if not decisive.any():
        return None, ties
    return classification.classification_report(
        targets[decisive].argmax(axis=1), decisions[decisive], classes,
        probs=outputs[decisive]), ties


def _categorical(layout: HeadLayout, frame: pd.DataFrame) -> Dict[str, Any]:
    arrays = layout.from_frame(frame)
    rows = arrays.labelled
    if not rows.any():
        return {"num_samples": 0}
    return classification.classification_report(
        arrays.targets[rows], layout.decisions(frame)[rows], layout.classes,
        probs=arrays.outputs[rows])


def _soft(layout: HeadLayout, frame: pd.DataFrame) -> Dict[str, Any]:
    arrays = layout.from_frame(frame)
    rows = arrays.labelled
    if not rows.any():
        return {"num_samples": 0}
    outputs, targets = arrays.outputs[rows], arrays.targets[rows]
    report: Dict[str, Any] = {
        "num_samples": int(rows.sum()),
        "cross_entropy": classification.cross_entropy(outputs, targets),
        "kl_divergence": _kl(outputs, targets),
    }
    argmax, ties = _argmax_report(targets, layout.decisions(frame)[rows], outputs,
                                  layout.classes)
    report["num_ties"] = ties
    if argmax is not None:
        report["argmax"] = argmax
    return report


def _multilabel(layout: HeadLayout, frame: pd.DataFrame) -> Dict[str, Any]:
    arrays = layout.from_frame(frame)
    rows = arrays.labelled
    if not rows.any():
        return {"num_samples": 0}
    scores, targets = arrays.outputs[rows], arrays.targets[rows]
    truth = (targets > 0).astype(np.float64)
    accuracy, per_class = classification.multilabel_accuracy(
        truth, scores, threshold=MULTILABEL_THRESHOLD, return_per_class=True)
    bce = [classification.cross_entropy(np.stack([1.0 - scores[:, k], scores[:, k]], axis=1),
                                         truth[:, k].astype(np.int64))
           for k in range(len(layout.classes))]
    report: Dict[str, Any] = {
        "num_samples": int(rows.sum()),
        "threshold": MULTILABEL_THRESHOLD,
        "multilabel_accuracy": accuracy,
        "binary_cross_entropy": float(np.mean(bce)),
        "per_class_accuracy": dict(zip(layout.classes, map(float, per_class))),
        "per_class_binary_cross_entropy": dict(zip(layout.classes, map(float, bce))),
        "positives": dict(zip(layout.classes, map(int, truth.sum(axis=0)))),
    }
    if layout.kind == "secondary":
        usable = (targets.sum(axis=1) > 0) & (scores.sum(axis=1) > 0)
        if usable.any():
            q = targets[usable] / targets[usable].sum(axis=1, keepdims=True)
            p = scores[usable] / scores[usable].sum(axis=1, keepdims=True)
            report["kl_normalised"] = _kl(p, q)
    return report


def _attribute_reports(layout: HeadLayout, outputs: np.ndarray, targets: np.ndarray,
                       labelled: np.ndarray) -> Dict[str, Any]:
    per_attribute: Dict[str, Any] = {}
    for j, attribute in enumerate(layout.classes):
        mask = labelled[:, j]
        per_attribute[attribute] = regression.regression_report(
            targets[:, j], outputs[:, j], mask=mask) if mask.any() else {"num_samples": 0}
    ccc = {a: r.get("ccc") for a, r in per_attribute.items()}
    values = [v for v in ccc.values() if v is not None]
    # ``ccc`` repeats each attribute's CCC as one flat mapping, so that tables can show
    # one column per attribute (recipes' ``per_class: ccc``).
    return {"mean_ccc": float(np.mean(values)) if values else None, "ccc": ccc,
            "per_attribute": per_attribute}


def _regression(layout: HeadLayout, frame: pd.DataFrame) -> Dict[str, Any]:
    arrays = layout.from_frame(frame)
    rows = arrays.labelled.any(axis=1)
    if not rows.any():
        return {"num_samples": 0}
    return {"num_samples": int(rows.sum()),
            **_attribute_reports(layout, arrays.outputs, arrays.targets, arrays.labelled)}


def _sequence(layout: HeadLayout, frame: pd.DataFrame) -> Dict[str, Any]:
    arrays = layout.from_frame(frame)
    rows = np.flatnonzero(arrays.labelled)
    if not len(rows):
        return {"num_samples": 0}
    outputs = np.concatenate([arrays.outputs[i] for i in rows])
    targets = np.concatenate([arrays.targets[i] for i in rows])
    labelled = np.ones(targets.shape, dtype=bool)
    return {"num_samples": int(len(rows)), "num_frames": int(len(targets)),
            **_attribute_reports(layout, outputs, targets, labelled),
            **_per_recording(layout, [arrays.outputs[i] for i in rows],
                             [arrays.targets[i] for i in rows])}


def _per_recording(layout: HeadLayout, outputs: Sequence[np.ndarray],
                   targets: Sequence[np.ndarray]) -> Dict[str, Any]:
    """CCC of each recording on its own, averaged over recordings per attribute.

    The main figures (``ccc``, ``mean_ccc``) are those of the concatenated frames of
    every recording (the AVEC convention); these are the per-recording alternative,
    which no longer rewards getting each recording's mean level right.
    """
    ccc = {}
    for j, attribute in enumerate(layout.classes):
        values = [regression.ccc(t[:, j], o[:, j]) for o, t in zip(outputs, targets)
                  if len(t) > 1]
        values = [v for v in values if v is not None and np.isfinite(v)]
        ccc[attribute] = float(np.mean(values)) if values else None
    defined = [v for v in ccc.values() if v is not None]
    return {"per_recording_ccc": ccc,
            "per_recording_mean_ccc": float(np.mean(defined)) if defined else None}


def _per_rater(layout: HeadLayout, frame: pd.DataFrame) -> Dict[str, Any]:
    arrays = layout.from_frame(frame)
    pairs = arrays.labelled & (np.nan_to_num(arrays.targets).sum(axis=2) > 0)
    if not pairs.any():
        return {"num_samples": 0}
    decisions = layout.decisions(frame)
    report: Dict[str, Any] = {
        "num_samples": int(pairs.any(axis=1).sum()),
        "num_ratings": int(pairs.sum()),
        "cross_entropy": classification.cross_entropy(arrays.outputs[pairs],
                                                      arrays.targets[pairs]),
    }
    argmax, ties = _argmax_report(arrays.targets[pairs], decisions[pairs],
                                  arrays.outputs[pairs], layout.classes)
    report["num_ties"] = ties
    if argmax is not None:
        report["argmax"] = argmax
    per_rater = {}
    for j, rater in enumerate(layout.raters):
        rows = np.flatnonzero(pairs[:, j])
        rows = rows[_decisive(arrays.targets[rows, j])] if len(rows) else rows
        if not len(rows):
            per_rater[rater] = {"num_samples": 0}
            continue
        truth = arrays.targets[rows, j].argmax(axis=1)
        per_rater[rater] = {
            "num_samples": int(len(rows)),
            "wa": classification.weighted_accuracy(truth, decisions[rows, j]),
            "ua": classification.unweighted_accuracy(truth, decisions[rows, j],
                                                     num_classes=len(layout.classes)),
        }
    report["per_rater"] = per_rater
    return report


_BY_FAMILY = {"categorical": _categorical, "soft": _soft, "multilabel": _multilabel,
              "regression": _regression, "sequence": _sequence, "per_rater": _per_rater}


def head_metrics(frame: pd.DataFrame, layout: HeadLayout) -> Dict[str, Any]:
    """The metrics of one head over the labelled rows of ``frame`` (JSON-ready).

    A head without labelled rows gives ``{"num_samples": 0}``.
    """
    return _BY_FAMILY[layout.family](layout, frame)


def reference_key(reference: str) -> str:
    """The name of the block scoring a head against label view ``reference``."""
    return f"{REFERENCE_PREFIX}{reference}"


def reference_heads(layouts: Layouts, reference: HeadLayout) -> List[str]:
    """The heads scored against ``reference``: those giving one class per utterance.

    Raises:
      ValueError: Such a head whose classes differ from the reference's (names or
        order).
    """
    heads = []
    for head, layout in _as_layouts(layouts).items():
        if layout.kind not in SINGLE_LABEL_KINDS:
            continue
        if tuple(layout.classes) != tuple(reference.classes):
            raise ValueError(f"head '{head}' has classes {list(layout.classes)} but reference "
                             f"'{reference.head}' has {list(reference.classes)}; a head is "
                             "scored against a reference only with the same class names in "
                             "the same order")
        heads.append(head)
    return heads


def reference_metrics(frame: pd.DataFrame, layout: HeadLayout,
                      reference: HeadLayout) -> Dict[str, Any]:
    """The classification report of a head's single-label decisions against the
    reference's class, on the rows of ``frame`` where the reference is labelled.

    Hard and soft heads add the cross-entropy of their probabilities; an existence
    head's scores are not a distribution, so it has none. No reference-labelled row
    gives ``{"num_samples": 0}``.
    """
    targets, rows = reference.class_targets(frame)
    if not rows.any():
        return {"num_samples": 0}
    decisions = layout.single_label_decisions(frame)
    probs = None if layout.kind == "existence" else layout.from_frame(frame).outputs[rows]
    return classification.classification_report(targets[rows], decisions[rows],
                                                reference.classes, probs=probs)


def flatten(report: Mapping[str, Any], prefix: str = "") -> Dict[str, float]:
    """The numeric leaves of a nested report as ``{"a/b/c": value}`` (lists, strings,
    booleans and None are left out)."""
    out: Dict[str, float] = {}
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + SEPARATOR))
        elif isinstance(value, (int, float, np.integer, np.floating)) and \
                not isinstance(value, bool) and np.isfinite(value):
            out[name] = float(value)
    return out


def fold_statistics(reports: Iterable[Mapping[str, Any]]
                    ) -> Tuple[Dict[str, float], Dict[str, Optional[float]]]:
    """Mean and sample standard deviation over folds of every numeric value.

    Each value is averaged over the folds where it is defined; its std is None when
    only one fold defines it.

    Returns:
      ``(mean, std)``, flat dicts keyed as :func:`flatten` does.
    """
    values: Dict[str, List[float]] = {}
    for report in reports:
        for key, value in flatten(report).items():
            values.setdefault(key, []).append(value)
    mean = {key: float(np.mean(v)) for key, v in values.items()}
    std = {key: float(np.std(v, ddof=1)) if len(v) > 1 else None
           for key, v in values.items()}
    return mean, std


def _scope(frame: pd.DataFrame, layout: HeadLayout,
           reference: Optional[HeadLayout]) -> Dict[str, Any]:
    report = head_metrics(frame, layout)
    if reference is not None:
        report[reference_key(reference.head)] = reference_metrics(frame, layout, reference)
    return report


def compute_metrics(frame: pd.DataFrame, layouts: Layouts,
                    reference: Optional[HeadLayout] = None) -> Dict[str, Any]:
    """Scores every head per fold, pooled over folds, and as mean/std over folds.

    Args:
      frame: A predictions table (:func:`tfser.evaluation.predictions.predict_frame`,
        possibly several folds concatenated, or one read back from disk).
      layouts: The heads to score (``{head: HeadLayout}`` or a list).
      reference: A hard label view whose ``<head>/target`` and ``<head>/labelled``
        columns the table holds (None: no reference scoring, the default output).

    Returns:
      ``{"folds": [names in table order], "num_utterances": N, "heads": {head:
      {"kind", "family", "classes", "raters", "pooled", "per_fold": {fold: ...},
      "fold_mean", "fold_std"}}}``; ``fold_mean`` / ``fold_std`` are flat (see
      :func:`flatten`). With a reference, ``"reference"`` names it and each scope of
      every head of :func:`reference_heads` holds a ``vs_<reference>`` block.

    Raises:
      ValueError: The table lacks the ``fold`` column or a head's columns, or a head
        scored against the reference has other classes.
    """
    if "fold" not in frame.columns:
        raise ValueError("predictions table has no 'fold' column")
    folds = list(dict.fromkeys(frame["fold"].tolist()))
    scored = reference_heads(layouts, reference) if reference is not None else []
    heads = {}
    for head, layout in _as_layouts(layouts).items():
        against = reference if head in scored else None
        per_fold = {str(fold): _scope(frame[frame["fold"] == fold], layout, against)
                    for fold in folds}
        mean, std = fold_statistics(per_fold.values())
        heads[head] = {
            "kind": layout.kind, "family": layout.family,
            "classes": list(layout.classes), "raters": list(layout.raters),
            "pooled": _scope(frame, layout, against), "per_fold": per_fold,
            "fold_mean": mean, "fold_std": std,
        }
    result = {"folds": [str(f) for f in folds], "num_utterances": int(len(frame)),
              "heads": heads}
    if reference is not None:
        result["reference"] = reference.head
    return result


def scored_reference(head_report: Mapping[str, Any]) -> Optional[str]:
    """The reference a head's metrics (one entry of ``heads``) were scored against, or
    None."""
    for key in head_report.get("pooled") or {}:
        if key.startswith(REFERENCE_PREFIX):
            return key[len(REFERENCE_PREFIX):]
    return None


def summary_columns(layout: HeadLayout,
                    reference: Optional[str] = None) -> List[Tuple[str, str]]:
    """``(label, metric path)`` of the main figures of a head, for summary tables;
    with ``reference``, its ``vs_<reference>`` n, WA and UA follow."""
    columns = _own_summary_columns(layout)
    if reference is not None:
        key = reference_key(reference)
        columns += [(f"vs {reference} n", f"{key}/num_samples"),
                    (f"vs {reference} WA", f"{key}/wa"), (f"vs {reference} UA", f"{key}/ua")]
    return columns


def _own_summary_columns(layout: HeadLayout) -> List[Tuple[str, str]]:
    family = layout.family
    if family == "categorical":
        return [("n", "num_samples"), ("WA", "wa"), ("UA", "ua"), ("F1 (000)", "f1"),
                ("macro F1", "macro_f1"), ("mean P", "mean_precision"),
                ("CE", "cross_entropy")]
    if family == "soft":
        return [("n", "num_samples"), ("CE", "cross_entropy"), ("KL", "kl_divergence"),
                ("argmax n", "argmax/num_samples"), ("argmax WA", "argmax/wa"),
                ("argmax UA", "argmax/ua")]
    if family == "multilabel":
        columns = [("n", "num_samples"), ("accuracy", "multilabel_accuracy"),
                   ("BCE", "binary_cross_entropy")]
        if layout.kind == "secondary":
            columns.append(("KL (normalised)", "kl_normalised"))
        return columns
    if family in ("regression", "sequence"):
        columns = [("n", "num_samples")]
        if family == "sequence":
            columns.append(("frames", "num_frames"))
        return columns + [("mean CCC", "mean_ccc")] + [
            (f"CCC {a}", f"per_attribute/{a}/ccc") for a in layout.classes]
    return [("n", "num_samples"), ("ratings", "num_ratings"), ("CE", "cross_entropy"),
            ("WA", "argmax/wa"), ("UA", "argmax/ua")]


def lookup(report: Mapping[str, Any], path: str) -> Any:
    """A value by path (``"argmax/ua"``) in a nested report or a flat one; None when
    absent."""
    if path in report:
        return report[path]
    value: Any = report
    for part in path.split(SEPARATOR):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def class_report(head_report: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The classification report inside one scope of a head's metrics (categorical:
    the scope itself; soft and per-rater: its ``argmax`` part), or None."""
    if "confusion" in head_report:
        return dict(head_report)
    inner = head_report.get("argmax")
    return dict(inner) if isinstance(inner, Mapping) else None
