"""From derived label views to TFRecord label fields (one head per view).

:func:`label_field_specs` turns a :class:`~tfser.labels.DerivedLabels` into one
:class:`~tfser.features.example_codec.LabelFieldSpec` per view (shape from the view's
arrays, class names from its metadata); :func:`label_values` gives one utterance's
``{head: LabelValue}``. A view whose mask is False for the utterance keeps its head
with weight 0: missing labels are masked, never dropped, so every example carries every
head and a batch can mix labelled and unlabelled rows.

=============  =============  ==========================================  ===============
view kind      stored shape   weight                                      element mask
=============  =============  ==========================================  ===============
hard, speaker  ()             the view's mask (index -1 where masked)     -
soft,          (K,)           the view's mask                             -
existence,
secondary
per_rater      (R, K)         1 when at least one rater labelled it       rater mask x K
dimensional    (A,)           1 when at least one attribute is defined    per attribute
=============  =============  ==========================================  ===============

Continuous traces (paper 003). A recording with traces gets a sequence head (default
name ``traces``): the ``consensus`` traces of arousal, valence and liking stacked as
``[T, 3]`` at their own rate (10 Hz). :func:`align_sequences` pairs them with the
frame-level features:

* Frame ``k`` of a windowed feature stream describes time ``k / rate``; trace frame
  ``j`` is the rating at time ``j / rate``; both start at 0.
* Raters react late, so with a label shift of ``d`` seconds (annotation delay
  compensation, default 0) the target of feature frame ``k`` is trace frame
  ``k + round(d * rate)``: the first ``round(d * rate)`` trace frames are dropped.
* Then every stream (features, feature traces such as facial action units, target) is
  truncated to the shortest: openSMILE emits only complete frames, so windowed features
  may have a frame fewer than the trace, and a shift shortens the target. Nothing is
  padded, so no frame carries an invented value.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tfser.annotations import schema
from tfser.features import example_codec
from tfser.labels import DerivedLabels, ViewResult

DEFAULT_TRACE_HEAD = "traces"
DEFAULT_TRACE_ATTRIBUTES = ("arousal", "valence", "liking")
DEFAULT_TRACE_RATER = "consensus"
_VECTOR_KINDS = ("soft", "existence", "secondary")


def _names(view: ViewResult) -> Tuple[str, ...]:
    """The names along a view's last axis."""
    meta = view.metadata
    if view.kind == "speaker":
        return tuple(meta.get("vocabulary", ()))
    if view.kind == "dimensional":
        return tuple(meta.get("attributes", ()))
    return tuple(meta.get("classes", ()))


def field_spec(view: ViewResult) -> example_codec.LabelFieldSpec:
    """The stored-field spec of one derived view.

    Raises:
      ValueError: A view kind this module does not know how to store.
    """
    values = np.asarray(view.values)
    if view.kind in ("hard", "speaker"):
        shape: Tuple[int, ...] = ()
    elif view.kind in _VECTOR_KINDS + ("dimensional", "per_rater"):
        shape = tuple(int(n) for n in values.shape[1:])
    else:
        raise ValueError(f"view '{view.name}': kind {view.kind!r} has no TFRecord field")
    return example_codec.LabelFieldSpec(
        head=view.name, kind=view.kind, shape=shape, classes=_names(view),
        element_mask=view.kind in ("per_rater", "dimensional"))


def label_field_specs(derived: DerivedLabels) -> List[example_codec.LabelFieldSpec]:
    """One field spec per view, in the spec's order."""
    return [field_spec(view) for view in derived.views.values()]


def label_metadata(derived: DerivedLabels) -> Dict[str, dict]:
    """JSON-ready vocabularies of every head (for dataset_info.json).

    Per head: ``kind`` and ``classes`` (names along the last axis), plus ``raters``
    (per-rater heads: the rater axis), ``attributes``, ``source_ranges`` and
    ``target_range`` (dimensional heads) where the view has them.
    """
    out: Dict[str, dict] = {}
    for name, view in derived.views.items():
        entry = {"kind": view.kind, "classes": list(_names(view))}
        for key in ("raters", "attributes"):
            if key in view.metadata:
                entry[key] = list(view.metadata[key])
        if "source_ranges" in view.metadata:
            entry["source_ranges"] = [list(r) for r in view.metadata["source_ranges"]]
        if "target_range" in view.metadata:
            entry["target_range"] = list(view.metadata["target_range"])
        out[name] = entry
    return out


def _value(view: ViewResult, index: int) -> example_codec.LabelValue:
    value = np.asarray(view.values[index])
    mask = np.asarray(view.mask[index])
    if view.kind == "per_rater":
        # A rater who did not rate this utterance masks all of their K class cells.
        element = np.repeat(mask.astype(np.float32)[:, None], value.shape[-1], axis=1)
        return example_codec.LabelValue(value.astype(np.float32), float(mask.any()), element)
    if view.kind == "dimensional":
        return example_codec.LabelValue(value.astype(np.float32), float(mask.any()),
                                        mask.astype(np.float32))
    if view.kind in ("hard", "speaker"):
        return example_codec.LabelValue(value.astype(np.int64), float(bool(mask)))
    return example_codec.LabelValue(value.astype(np.float32), float(bool(mask)))


def label_values(derived: DerivedLabels, index: int) -> Dict[str, example_codec.LabelValue]:
    """``{head: LabelValue}`` of the utterance at row ``index`` of the table.

    Every head is present; unlabelled ones have weight 0.
    """
    return {name: _value(view, index) for name, view in derived.views.items()}


def has_any_label(values: Mapping[str, example_codec.LabelValue]) -> bool:
    """True when at least one head has a non-zero weight."""
    return any(value.weight > 0 for value in values.values())


# ------------------------------------------------------------------ continuous traces


def trace_field_spec(head: str = DEFAULT_TRACE_HEAD,
                     attributes: Sequence[str] = DEFAULT_TRACE_ATTRIBUTES
                     ) -> example_codec.LabelFieldSpec:
    """The sequence head of continuous traces: ``[T, len(attributes)]`` floats."""
    return example_codec.LabelFieldSpec(head=head, kind="dimensional",
                                        shape=(len(attributes),),
                                        classes=tuple(attributes), sequence=True)


def _trace_rows(table: schema.AnnotationTable, utt_id: str, kind: str, rater: Optional[str],
                attribute: str):
    traces = table.traces
    selected = (traces["utt_id"] == utt_id) & (traces["kind"] == kind) & \
        (traces["attribute"] == attribute)
    if rater is not None:
        selected &= traces["rater_id"] == rater
    return traces.index[selected].tolist()


def load_trace_targets(table: schema.AnnotationTable, utt_id: str,
                       attributes: Sequence[str] = DEFAULT_TRACE_ATTRIBUTES,
                       rater: str = DEFAULT_TRACE_RATER,
                       rate_hz: Optional[float] = None) -> Optional[np.ndarray]:
    """The ``[T, A]`` target traces of one recording, or None when any is missing.

    A head with a missing attribute is unlabelled as a whole (the sequence field has no
    per-attribute mask); traces of different lengths are cut to the shortest.

    Args:
      table: The annotation table (trace arrays are read from disk).
      utt_id: The recording.
      attributes: Trace attributes, in head order.
      rater: Whose trace (``consensus`` = the fused gold standard).
      rate_hz: Expected frame rate; a trace at another rate raises.

    Raises:
      ValueError: A trace at an unexpected rate or of rank other than 1.
    """
    columns = []
    for attribute in attributes:
        rows = _trace_rows(table, utt_id, "label", rater, attribute)
        if not rows:
            return None
        row = table.traces.loc[rows[0]]
        if rate_hz is not None and not np.isclose(float(row["rate_hz"]), rate_hz):
            raise ValueError(f"{utt_id}: trace {rater}/{attribute} runs at {row['rate_hz']} Hz; "
                             f"expected {rate_hz} Hz")
        array = np.asarray(table.load_trace(table.traces.index.get_loc(rows[0])),
                           dtype=np.float32)
        if array.ndim != 1:
            raise ValueError(f"{utt_id}: trace {rater}/{attribute} has shape {array.shape}; "
                             "expected [T]")
        columns.append(array)
    length = min(len(c) for c in columns)
    return np.stack([c[:length] for c in columns], axis=1)


def load_feature_trace(table: schema.AnnotationTable, utt_id: str, name: str,
                       rate_hz: Optional[float] = None) -> Optional[np.ndarray]:
    """A frame-feature trace stored with the table (e.g. ``au`` [T, 10]) or None.

    Raises:
      ValueError: A trace at an unexpected rate or of rank above 2.
    """
    rows = _trace_rows(table, utt_id, "feature", None, name)
    if not rows:
        return None
    row = table.traces.loc[rows[0]]
    if rate_hz is not None and not np.isclose(float(row["rate_hz"]), rate_hz):
        raise ValueError(f"{utt_id}: feature trace {name} runs at {row['rate_hz']} Hz; "
                         f"expected {rate_hz} Hz")
    array = np.asarray(table.load_trace(table.traces.index.get_loc(rows[0])), dtype=np.float32)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{utt_id}: feature trace {name} has shape {array.shape}; "
                         "expected [T] or [T, D]")
    return array


def shift_frames(label_shift_s: float, rate_hz: float) -> int:
    """Trace frames dropped to compensate an annotation delay of ``label_shift_s``.

    Raises:
      ValueError: A negative or non-finite shift.
    """
    if not np.isfinite(label_shift_s) or label_shift_s < 0:
        raise ValueError(f"label shift must be a finite number of seconds >= 0, got "
                         f"{label_shift_s}")
    return int(round(label_shift_s * rate_hz))


def align_sequences(sequences: Mapping[str, np.ndarray], targets: np.ndarray,
                    shift: int = 0) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """Shifts the targets by ``shift`` frames and cuts every stream to the shortest.

    Args:
      sequences: Name -> [T_i, D_i] frame-level streams at the targets' rate.
      targets: [T, A] trace targets.
      shift: Frames of annotation delay (see :func:`shift_frames`).

    Returns:
      ``(sequences, targets)`` all with the same number of frames.

    Raises:
      ValueError: Nothing is left after shifting and cutting.
    """
    targets = np.asarray(targets)[shift:]
    length = min([len(targets)] + [len(s) for s in sequences.values()])
    if length <= 0:
        raise ValueError(f"no frames left to align (target frames after a {shift}-frame "
                         f"shift: {len(targets)}; streams: "
                         f"{ {k: len(v) for k, v in sequences.items()} })")
    return {k: np.asarray(v)[:length] for k, v in sequences.items()}, targets[:length]
