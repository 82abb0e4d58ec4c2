"""The column layout of a predictions table: one row per utterance, flat named columns.

This module owns the names; :mod:`tfser.evaluation.predictions` writes a table with
them and :mod:`tfser.evaluation.metrics` reads arrays back from it, so a table saved as
Parquet or CSV and loaded again is all the metrics need (with the heads' layouts).

Every table has the meta columns ``utt_id``, ``speaker_id``, ``fold`` and ``part``.
Per head ``h``, by the kind of its label view (class names ``c``, attribute names
``a``, rater ids ``r``):

=================  ==========================================  ================================
kind (family)      outputs                                     targets and mask
=================  ==========================================  ================================
hard, speaker      ``h/p/<c>`` probabilities, ``h/pred``        ``h/target`` class name (missing
(categorical)      (the most probable class name)               when unlabelled), ``h/labelled``
soft (soft)        ``h/p/<c>``, ``h/pred``                      ``h/target/<c>``, ``h/labelled``
secondary,         ``h/score/<c>`` independent per-class        ``h/target/<c>``, ``h/labelled``
existence          scores (sigmoid)
(multilabel)
dimensional        ``h/value/<a>``                              ``h/target/<a>``,
(regression)                                                    ``h/labelled/<a>`` per attribute,
                                                                ``h/labelled`` (any attribute)
per_rater          ``h/p/<r>/<c>``, ``h/pred/<r>``              ``h/target/<r>/<c>``,
(per_rater)                                                     ``h/labelled/<r>`` per rater,
                                                                ``h/labelled`` (any rater)
dimensional        ``h/value/<a>``: a list of frame values      ``h/target/<a>`` (lists),
sequence                                                        ``h/frames``, ``h/labelled``
(sequence)
=================  ==========================================  ================================

A reference hard view the model has no head for (``tfser-evaluate --reference``) has
only its ``h/target`` and ``h/labelled`` columns, after the heads'.

Targets of unlabelled entries are NaN (missing for class names), never the zeros the
input pipeline feeds the loss. Sequence heads keep only the labelled frames of an
utterance (the ones with a non-zero frame weight); an unlabelled utterance has empty
lists.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfser.models.config import HEAD_TYPE_BY_KIND

META_COLUMNS = ("utt_id", "speaker_id", "fold", "part")
# Per utterance: normalised feature values beyond the clip (+-clip_sigma standard
# deviations of the training statistics) and the largest |z|; serving reports the same.
OUT_OF_RANGE_COLUMN = "out_of_range_features"
MAX_ABS_Z_COLUMN = "max_abs_z"
# The table family of each head type. Soft views train the categorical head, but their
# targets are distributions, so they get a family of their own.
FAMILY_BY_HEAD_TYPE = {
    "categorical": "categorical",
    "speaker": "categorical",
    "multilabel": "multilabel",
    "existence": "multilabel",
    "regression": "regression",
    "per_rater": "per_rater",
}
# Derived from the models' kind -> head type map, the one place a label kind is typed.
FAMILY_BY_KIND = {kind: "soft" if kind == "soft" else FAMILY_BY_HEAD_TYPE[head_type]
                  for kind, head_type in HEAD_TYPE_BY_KIND.items()}
FAMILIES = ("categorical", "soft", "multilabel", "regression", "per_rater", "sequence")
# Label kinds whose head gives one class decision per utterance and so can be scored as a
# single-label classifier against a reference hard label: hard and soft heads by their
# most probable class, existence heads by their highest score (paper 001's MLEE-only
# decision). Speaker heads decide speakers, not the reference's classes.
SINGLE_LABEL_KINDS = ("hard", "soft", "existence")
# The kinds a reference label view may have: one class name per labelled utterance.
REFERENCE_KINDS = ("hard",)


def _join(*parts: str) -> str:
    return "/".join(parts)


def pred_column(head: str, rater: Optional[str] = None) -> str:
    """The decision column of ``head``: ``h/pred`` or ``h/pred/<rater>``."""
    return _join(head, "pred") if rater is None else _join(head, "pred", rater)


def output_columns(head: str, family: str, classes: Sequence[str],
                   raters: Sequence[str] = ()) -> List[str]:
    """The columns holding a head's raw outputs, in array order (flattened).

    Args:
      head: Head name.
      family: Its family (:data:`FAMILIES`).
      classes: Names along the last axis: classes, or attributes (regression).
      raters: Rater ids along the rater axis (per-rater heads only).
    """
    if family in ("categorical", "soft"):
        return [_join(head, "p", c) for c in classes]
    if family == "multilabel":
        return [_join(head, "score", c) for c in classes]
    if family in ("regression", "sequence"):
        return [_join(head, "value", a) for a in classes]
    return [_join(head, "p", r, c) for r in raters for c in classes]


@dataclasses.dataclass(frozen=True)
class HeadArrays:
    """One head's outputs, targets and mask as arrays (see :class:`HeadLayout`).

    Attributes:
      outputs: Model outputs: [N, K] probabilities or scores, [N, A] values,
        [N, R, K] per-rater probabilities, or a list of [T_i, A] arrays (sequence).
      targets: [N] class indices (-1 = unlabelled) for categorical heads; otherwise
        the outputs' shape with NaN where unlabelled (a list of arrays for sequences).
      labelled: Boolean mask: [N], [N, A] (regression) or [N, R] (per-rater).
    """

    outputs: Any
    targets: Any
    labelled: np.ndarray


@dataclasses.dataclass(frozen=True)
class HeadLayout:
    """Which columns one head has in a predictions table, and the conversions.

    Attributes:
      head: Head name (= the label view).
      kind: Label-view kind (``hard``, ``soft``, ``secondary``, ``existence``,
        ``dimensional``, ``per_rater``, ``speaker``).
      classes: Names along the last axis: classes, or attributes (dimensional).
      raters: Rater ids along the rater axis (per-rater heads only).
      sequence: True for frame-level (time-continuous) targets.
    """

    head: str
    kind: str
    classes: Tuple[str, ...]
    raters: Tuple[str, ...] = ()
    sequence: bool = False

    def __post_init__(self):
        if self.kind not in FAMILY_BY_KIND:
            raise ValueError(f"head '{self.head}': no predictions layout for label kind "
                             f"{self.kind!r}; known: {sorted(FAMILY_BY_KIND)}")
        if not self.classes:
            raise ValueError(f"head '{self.head}' has no class or attribute names")
        if self.sequence and self.kind != "dimensional":
            raise ValueError(f"head '{self.head}': only dimensional heads can be "
                             f"frame-level, got kind {self.kind!r}")
        if self.kind == "per_rater" and not self.raters:
            raise ValueError(f"per-rater head '{self.head}' needs its rater ids")

    @property
    def family(self) -> str:
        """``categorical``, ``soft``, ``multilabel``, ``regression``, ``per_rater`` or
        ``sequence``: what the head predicts, which decides its columns and metrics."""
        return "sequence" if self.sequence else FAMILY_BY_KIND[self.kind]

    def to_dict(self) -> Dict[str, Any]:
        return {"head": self.head, "kind": self.kind, "family": self.family,
                "classes": list(self.classes), "raters": list(self.raters),
                "sequence": self.sequence}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HeadLayout":
        return cls(head=data["head"], kind=data["kind"], classes=tuple(data["classes"]),
                   raters=tuple(data.get("raters") or ()),
                   sequence=bool(data.get("sequence", False)))

    # -- names -----------------------------------------------------------------------
    def labelled_column(self, name: Optional[str] = None) -> str:
        """``h/labelled`` or, per attribute / rater, ``h/labelled/<name>``."""
        return _join(self.head, "labelled") if name is None else \
            _join(self.head, "labelled", name)

    def pred_column(self, rater: Optional[str] = None) -> str:
        """The decision column: ``h/pred`` or ``h/pred/<rater>``."""
        return pred_column(self.head, rater)

    def target_column(self, *names: str) -> str:
        """``h/target``, ``h/target/<class or attribute>`` or ``h/target/<r>/<c>``."""
        return _join(self.head, "target", *names)

    def output_columns(self) -> List[str]:
        """The columns holding the raw outputs, in array order (flattened)."""
        return output_columns(self.head, self.family, self.classes, self.raters)

    def target_columns(self) -> List[str]:
        """The target columns, in array order (flattened)."""
        family = self.family
        if family == "categorical":
            return [self.target_column()]
        if family == "per_rater":
            return [self.target_column(r, c) for r in self.raters for c in self.classes]
        return [self.target_column(c) for c in self.classes]

    def mask_columns(self) -> List[str]:
        """``h/labelled`` plus the per-attribute or per-rater masks."""
        names = self.classes if self.family == "regression" else \
            self.raters if self.family == "per_rater" else ()
        return [self.labelled_column()] + [self.labelled_column(n) for n in names]

    def columns(self) -> List[str]:
        """Every column of the head, in table order."""
        decisions = []
        if self.family in ("categorical", "soft"):
            decisions = [self.pred_column()]
        elif self.family == "per_rater":
            decisions = [self.pred_column(r) for r in self.raters]
        frames = [_join(self.head, "frames")] if self.family == "sequence" else []
        return (self.output_columns() + decisions + self.target_columns() + frames
                + self.mask_columns())

    # -- arrays -> columns -------------------------------------------------------------
    def to_columns(self, outputs, targets, weights) -> Dict[str, Any]:
        """Columns of ``N`` rows from the model's outputs and the reader's batches.

        Args:
          outputs: What the model returned for the head (batches concatenated):
            [N, K], [N, A] or [N, R, K]; for a sequence head a list of [T_i, A].
          targets: The reader's targets (zeros where unlabelled): [N] class indices,
            [N, K], [N, A], [N, R, K]; for a sequence head a list of [T_i, A].
          weights: The reader's sample weights: [N], [N, A] (dimensional), [N, R]
            (per-rater); for a sequence head a list of [T_i] frame weights.

        Returns:
          Column name -> [N] values (lists of floats in sequence columns).

        Raises:
          ValueError: Shapes that do not fit the layout.
        """
        family = self.family
        if family == "sequence":
            return self._sequence_columns(outputs, targets, weights)
        outputs = np.asarray(outputs, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        n = len(outputs)
        expected = (n, len(self.raters), len(self.classes)) if family == "per_rater" \
            else (n, len(self.classes))
        if outputs.shape != expected:
            raise ValueError(f"head '{self.head}': outputs have shape {outputs.shape}, "
                             f"expected {expected}")
        columns: Dict[str, Any] = dict(zip(self.output_columns(),
                                           outputs.reshape(n, -1).T))
        if family == "categorical":
            columns[self.pred_column()] = self._names(outputs.argmax(axis=1))
            columns.update(self.class_target_columns(targets, weights))
            return columns
        targets = np.asarray(targets, dtype=np.float64).reshape(outputs.shape)
        if family == "per_rater":
            labelled = weights.reshape(n, len(self.raters)) > 0
            hidden = np.where(labelled[:, :, None], targets, np.nan)
            for j, rater in enumerate(self.raters):
                columns[self.pred_column(rater)] = self._names(outputs[:, j].argmax(axis=1))
            columns.update(zip(self.target_columns(), hidden.reshape(n, -1).T))
            columns[self.labelled_column()] = labelled.any(axis=1)
            columns.update({self.labelled_column(r): labelled[:, j]
                            for j, r in enumerate(self.raters)})
            return columns
        if family == "regression":
            labelled = weights.reshape(n, len(self.classes)) > 0
            columns.update(zip(self.target_columns(),
                               np.where(labelled, targets, np.nan).T))
            columns[self.labelled_column()] = labelled.any(axis=1)
            columns.update({self.labelled_column(a): labelled[:, j]
                            for j, a in enumerate(self.classes)})
            return columns
        labelled = weights.reshape(n) > 0
        if family == "soft":
            columns[self.pred_column()] = self._names(outputs.argmax(axis=1))
        columns.update(zip(self.target_columns(),
                           np.where(labelled[:, None], targets, np.nan).T))
        columns[self.labelled_column()] = labelled
        return columns

    def class_target_columns(self, targets, weights) -> Dict[str, Any]:
        """``h/target`` (class names, missing when unlabelled) and ``h/labelled`` of a
        categorical view: its columns without outputs, as a reference view the model
        has no head for is stored.

        Args:
          targets: The reader's [N] class indices (zeros where unlabelled).
          weights: The reader's [N] sample weights.
        """
        index = np.asarray(targets).astype(np.int64).reshape(-1)
        labelled = np.asarray(weights, dtype=np.float64).reshape(-1) > 0
        return {self.target_column(): pd.array(
                    [self.classes[i] if ok else None for i, ok in zip(index, labelled)],
                    dtype="object"),
                self.labelled_column(): labelled}

    def _names(self, index: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[np.asarray(index, dtype=np.int64)]

    def _sequence_columns(self, outputs, targets, weights) -> Dict[str, Any]:
        if not (len(outputs) == len(targets) == len(weights)):
            raise ValueError(f"head '{self.head}': {len(outputs)} outputs, {len(targets)} "
                             f"targets and {len(weights)} weights")
        values = {name: [] for name in self.output_columns() + self.target_columns()}
        frames, labelled = [], []
        width = len(self.classes)
        for output, target, weight in zip(outputs, targets, weights):
            keep = np.asarray(weight, dtype=np.float64).reshape(-1) > 0
            output = np.asarray(output, dtype=np.float64).reshape(-1, width)
            target = np.asarray(target, dtype=np.float64).reshape(-1, width)
            length = min(len(output), len(target), len(keep))
            keep = np.flatnonzero(keep[:length])
            for j, name in enumerate(self.output_columns()):
                values[name].append(output[keep, j].tolist())
            for j, name in enumerate(self.target_columns()):
                values[name].append(target[keep, j].tolist())
            frames.append(len(keep))
            labelled.append(len(keep) > 0)
        columns: Dict[str, Any] = dict(values)
        columns[_join(self.head, "frames")] = np.asarray(frames, dtype=np.int64)
        columns[self.labelled_column()] = np.asarray(labelled, dtype=bool)
        return columns

    # -- columns -> arrays -------------------------------------------------------------
    def from_frame(self, frame: pd.DataFrame) -> HeadArrays:
        """The head's arrays back from a predictions table (as written or re-read).

        Raises:
          ValueError: Columns of the head are missing, naming them.
        """
        missing = [c for c in self.columns() if c not in frame.columns]
        if missing:
            raise ValueError(f"predictions table lacks columns of head '{self.head}': "
                             f"{missing[:5]}{' ...' if len(missing) > 5 else ''}")
        n = len(frame)
        family = self.family
        if family == "sequence":
            width = len(self.classes)
            outputs = [_stack([_as_list(frame[c].iloc[i]) for c in self.output_columns()],
                              width) for i in range(n)]
            targets = [_stack([_as_list(frame[c].iloc[i]) for c in self.target_columns()],
                              width) for i in range(n)]
            return HeadArrays(outputs, targets, _bools(frame[self.labelled_column()]))
        outputs = frame[self.output_columns()].to_numpy(dtype=np.float64)
        if family == "per_rater":
            outputs = outputs.reshape(n, len(self.raters), len(self.classes))
            targets = frame[self.target_columns()].to_numpy(dtype=np.float64).reshape(
                outputs.shape)
            labelled = np.stack([_bools(frame[self.labelled_column(r)])
                                 for r in self.raters], axis=1)
            return HeadArrays(outputs, targets, labelled.reshape(n, len(self.raters)))
        if family == "categorical":
            return HeadArrays(outputs, *self.class_targets(frame))
        targets = frame[self.target_columns()].to_numpy(dtype=np.float64)
        if family == "regression":
            labelled = np.stack([_bools(frame[self.labelled_column(a)])
                                 for a in self.classes], axis=1).reshape(n, -1)
            return HeadArrays(outputs, targets, labelled)
        return HeadArrays(outputs, targets, _bools(frame[self.labelled_column()]))

    def decisions(self, frame: pd.DataFrame) -> np.ndarray:
        """Class indices of the decision column(s): [N], or [N, R] for per-rater heads.

        Raises:
          ValueError: The head has no decision column, or a name is not a class.
        """
        if self.family == "per_rater":
            return np.stack([self._indices(frame, self.pred_column(r))
                             for r in self.raters], axis=1).reshape(len(frame), -1)
        if self.family not in ("categorical", "soft"):
            raise ValueError(f"head '{self.head}' ({self.family}) has no decision column")
        return self._indices(frame, self.pred_column())

    def class_targets(self, frame: pd.DataFrame) -> Tuple[np.ndarray, np.ndarray]:
        """A categorical view's ``(class indices, -1 where unlabelled; labelled mask)``
        from its ``h/target`` and ``h/labelled`` columns alone (outputs not needed).

        Raises:
          ValueError: The columns are missing, or a target is not a class.
        """
        wanted = [self.target_column(), self.labelled_column()]
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise ValueError(f"predictions table lacks columns of label view '{self.head}': "
                             f"{missing}")
        labelled = _bools(frame[self.labelled_column()])
        position = self._positions()
        names = [_name(v) for v in frame[self.target_column()].tolist()]
        unknown = sorted({v for v, ok in zip(names, labelled) if ok and v not in position})
        if unknown:
            raise ValueError(f"column '{self.target_column()}' holds names outside the "
                             f"classes of head '{self.head}': {unknown}")
        targets = np.array([position[v] if ok else -1 for v, ok in zip(names, labelled)],
                           dtype=np.int64)
        return targets, labelled

    def single_label_decisions(self, frame: pd.DataFrame) -> np.ndarray:
        """One class index per utterance, [N]: the decision column of a hard or soft
        head, the highest score of an existence head (paper 001's MLEE-only decision).

        Raises:
          ValueError: A head of another kind (:data:`SINGLE_LABEL_KINDS`).
        """
        if self.kind not in SINGLE_LABEL_KINDS:
            raise ValueError(f"head '{self.head}' ({self.kind}) gives no single class per "
                             f"utterance; heads of kinds {list(SINGLE_LABEL_KINDS)} do")
        if self.kind == "existence":
            return self.from_frame(frame).outputs.argmax(axis=1)
        return self.decisions(frame)

    def _positions(self) -> Dict[str, int]:
        # Compared as text: a CSV read back turns class names such as speaker ids
        # ("1001") into numbers.
        return {str(c): i for i, c in enumerate(self.classes)}

    def _indices(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        position = self._positions()
        names = [_name(v) for v in frame[column].tolist()]
        unknown = sorted({v for v in names if v not in position})
        if unknown:
            raise ValueError(f"column '{column}' holds names outside the classes of head "
                             f"'{self.head}': {unknown}")
        return np.array([position[v] for v in names], dtype=np.int64)


def _name(value: Any) -> str:
    """A class name as text; numbers a CSV reader made of it (1001, 1001.0) included."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value)


def _bools(series: pd.Series) -> np.ndarray:
    return series.to_numpy().astype(bool)


def _as_list(value) -> List[float]:
    """A sequence cell: a list (in memory, from Parquet) or its JSON text (from CSV)."""
    if isinstance(value, str):
        value = json.loads(value)
    return [float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1)]


def _stack(columns: Sequence[List[float]], width: int) -> np.ndarray:
    if not columns or not columns[0]:
        return np.zeros((0, width))
    return np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)


def layout_from_spec(spec, metadata: Optional[Mapping[str, Any]] = None) -> HeadLayout:
    """The layout of a stored label view.

    Args:
      spec: The view's :class:`~tfser.features.example_codec.LabelFieldSpec`.
      metadata: Its ``label_metadata`` entry of ``dataset_info.json`` (vocabularies);
        per-rater heads take their rater ids from ``raters`` there (``rater_<j>``
        when the sidecar does not list them).
    """
    metadata = metadata or {}
    raters: Tuple[str, ...] = ()
    if spec.kind == "per_rater":
        count = int(spec.shape[0])
        raters = tuple(str(r) for r in metadata.get("raters") or ())
        if len(raters) != count:
            raters = tuple(f"rater_{j}" for j in range(count))
    return HeadLayout(head=spec.head, kind=spec.kind, classes=tuple(spec.classes),
                      raters=raters, sequence=bool(spec.sequence))


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose list cells (sequence heads) are JSON text, for ``to_csv``."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object and len(out) and \
                any(isinstance(v, (list, np.ndarray)) for v in out[column]):
            out[column] = [json.dumps(np.asarray(v, dtype=float).tolist())
                           if isinstance(v, (list, np.ndarray)) else v for v in out[column]]
    return out
