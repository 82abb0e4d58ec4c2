"""Driver-side planning: which utterances, which labels, which folds, which work items.

Everything here is pure and runs before Beam starts, so a bad config, an unreachable
class or a leaking split fails in seconds, not after featurization.

Selection. A table may hold rated utterances and traced recordings side by side (the
synthetic corpus does). Utterance-level runs take the utterances without label traces;
continuous runs (003) take the recordings that have them. The rest are *not selected*
(counted apart, with the reason), never featurized and never rejected. A config's
``select`` narrows this further: by fields of the utterances' ``extra`` (IEMOCAP's
improvised dialogs) and by a label view (paper 001's *dominant* training set: only
utterances that view labels).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Set, Tuple

import numpy as np
import pandas as pd

from tfser.annotations import schema
from tfser.annotations import splits
from tfser.beam import work
from tfser.beam.config import FeaturizeConfig
from tfser.features import example_codec
from tfser.beam import label_fields
from tfser.features import registry
from tfser.labels import DerivedLabels, derive

NOT_CONTINUOUS = "not a traced recording (continuous runs take recordings with label traces)"
IS_CONTINUOUS = "traced recording (set continuous: true to featurize recordings)"


class Expected(NamedTuple):
    """One example the run must account for (written or rejected, exactly once)."""

    utt_id: str
    variant: str
    speaker_id: str


@dataclasses.dataclass
class Plan:
    """A featurization run, resolved against one table.

    The plan does not keep the table: what finalisation needs of it is here in compact
    form (``expected``, ``table_utterances``, ``corpus``), so a run over a large corpus
    holds the table only while planning. The work items can be released too once they
    are on disk (:meth:`without_items`).

    Attributes:
      config: The configuration.
      corpus: The table's corpus name.
      table_utterances: Rows of the table's utterance list.
      not_selected: ``(utt_id, reason)`` of the rows left out.
      derived: Derived label views (None for continuous runs without a label spec).
      protocol: The split protocol over the selected utterances.
      items: One work item per selected utterance (empty after :meth:`without_items`).
      expected: Every example of the run: each item's original, then its variants.
      augmented_speakers: Speakers with augmented examples (speed or crops).
      groups: Speaker id -> file-safe group name.
      feature_specs: Stored features (audio sets, then feature traces).
      label_specs: Stored label heads (views, then the trace head).
      label_metadata: JSON-ready vocabularies per head.
      settings: Worker settings.
    """

    config: FeaturizeConfig
    corpus: str
    table_utterances: int
    not_selected: List[Tuple[str, str]]
    derived: Optional[DerivedLabels]
    protocol: splits.SplitProtocol
    items: List[work.WorkItem]
    expected: List[Expected]
    augmented_speakers: FrozenSet[str]
    groups: Dict[str, str]
    feature_specs: List[example_codec.FeatureSpec]
    label_specs: List[example_codec.LabelFieldSpec]
    label_metadata: Dict[str, dict]
    settings: work.WorkSettings

    def without_items(self) -> "Plan":
        """This plan without its work items and label views (for the driver, once the
        items are written to disk: finalisation needs neither)."""
        return dataclasses.replace(self, items=[], derived=None)

    @property
    def train_eligible(self) -> Set[str]:
        """Utterances that are in TRAIN in at least one fold (augmentation targets)."""
        return {utt for fold in self.protocol for utt in fold.train}


def safe_names(speakers: List[str]) -> Dict[str, str]:
    """File-safe, unique group names: ``synthetic:S01F -> synthetic_S01F``.

    Only ``[A-Za-z0-9_]`` is kept, so ``-`` (the shard separator) and ``.`` (the variant
    separator) never occur in a speaker's part of a file name; names that collide after
    cleaning get a short hash of the raw id.
    """
    cleaned = {s: re.sub(r"[^A-Za-z0-9_]", "_", s) or "_" for s in speakers}
    counts: Dict[str, int] = {}
    for name in cleaned.values():
        counts[name] = counts.get(name, 0) + 1
    return {s: (name if counts[name] == 1 else
                f"{name}_{hashlib.sha1(s.encode('utf-8')).hexdigest()[:8]}")
            for s, name in cleaned.items()}


def select_utterances(config: FeaturizeConfig, table: schema.AnnotationTable
                      ) -> Tuple[pd.DataFrame, List[Tuple[str, str]]]:
    """Rows to featurize and ``(utt_id, reason)`` of the others.

    Raises:
      ValueError: Nothing is selected.
    """
    traces = table.traces
    traced = set(traces.loc[traces["kind"] == "label", "utt_id"].tolist())
    is_traced = table.utterances["utt_id"].isin(traced)
    keep = is_traced if config.continuous else ~is_traced
    reason = NOT_CONTINUOUS if config.continuous else IS_CONTINUOUS
    dropped = [(u, reason) for u in table.utterances.loc[~keep, "utt_id"].tolist()]
    selected = table.utterances[keep]
    if selected.empty:
        kind = "traced recordings" if config.continuous else "utterances without label traces"
        raise ValueError(f"table '{table.meta.corpus}' has no {kind} to featurize "
                         f"(continuous: {str(config.continuous).lower()})")
    for field, accepted in config.select.extra.items():
        values = [extra.get(field) if isinstance(extra, dict) else None
                  for extra in selected["extra"].tolist()]
        keep = np.array([value in accepted for value in values], dtype=bool)
        dropped += [(u, f"select.extra.{field} is {value!r}, not one of {list(accepted)}")
                    for u, value, kept in zip(selected["utt_id"].tolist(), values, keep)
                    if not kept]
        selected = selected[keep]
        if selected.empty:
            raise ValueError(f"select.extra.{field}: no utterance of table "
                             f"'{table.meta.corpus}' has one of {list(accepted)}; check the "
                             "field name and values against the table's extra column")
    return selected, dropped


def select_labelled(config: FeaturizeConfig, selected: pd.DataFrame,
                    derived: Optional[DerivedLabels]
                    ) -> Tuple[pd.DataFrame, List[Tuple[str, str]]]:
    """``selected`` without the utterances that ``select.labelled_by``'s view leaves
    unlabelled, and ``(utt_id, reason)`` of those.

    Raises:
      ValueError: The view's mask is not one flag per utterance, or nothing is left.
    """
    name = config.select.labelled_by
    if name is None or derived is None:
        return selected, []
    mask = np.asarray(derived[name].mask)
    if mask.ndim != 1:
        raise ValueError(f"select.labelled_by: view '{name}' ({derived[name].kind}) labels "
                         "parts of an utterance; name a hard, soft or existence view")
    keep = mask[selected.index.to_numpy()]
    reason = f"no '{name}' label (select.labelled_by: {name})"
    dropped = [(u, reason) for u in selected.loc[~keep, "utt_id"].tolist()]
    if keep.sum() == 0:
        raise ValueError(f"select.labelled_by: view '{name}' labels none of the selected "
                         "utterances")
    return selected[keep], dropped


def _stats_parts(protocol: splits.SplitProtocol) -> Dict[str, str]:
    """Utterance -> part, for a one-fold protocol whose parts share speakers (a split by
    sentence, an official split with overlap); empty when whole speakers make a part."""
    if len(protocol) != 1 or protocol[0].speaker_independent:
        return {}
    fold = protocol[0]
    return {utt: part for part in ("train", "dev", "test") for utt in fold.part(part)}


def _longer_than(row, seconds: float) -> bool:
    """Whether an utterance (or its segment) lasts longer than ``seconds``; an unknown
    duration counts as longer (the crop then keeps a short signal whole)."""
    duration = row.duration_s
    if row.end_s is not None and row.end_s == row.end_s:
        duration = row.end_s - (row.start_s or 0.0)
    return not (duration == duration) or duration > seconds


def _optional(value) -> Optional[float]:
    return None if value is None or pd.isna(value) else float(value)


def _trace_feature_specs(config: FeaturizeConfig, traces: Dict[str, Dict[str, np.ndarray]]
                         ) -> List[example_codec.FeatureSpec]:
    specs = []
    for name in config.traces.features:
        dims = {array.shape[1] for arrays in traces.values()
                for key, array in arrays.items() if key == name}
        if len(dims) > 1:
            raise ValueError(f"feature trace '{name}' has different widths {sorted(dims)}")
        if not dims:
            raise ValueError(f"no selected recording has a '{name}' feature trace")
        specs.append(example_codec.FeatureSpec(name, dims.pop(), True, config.traces.rate_hz))
    return specs


def make_plan(config: FeaturizeConfig, table: schema.AnnotationTable) -> Plan:
    """Resolves a config against a table: selection, labels, folds and work items.

    Raises:
      ValueError: Nothing to featurize, a bad label spec or split, or traces at the
        wrong rate.
    """
    selected, not_selected = select_utterances(config, table)
    derived = derive(table, config.labels) if config.labels is not None else None
    selected, unlabelled = select_labelled(config, selected, derived)
    not_selected = not_selected + unlabelled
    protocol = splits.build_split(selected.reset_index(drop=True), config.split.protocol,
                                  **dict(config.split.params))
    eligible = {utt for fold in protocol for utt in fold.train}
    stats_parts = _stats_parts(protocol)
    speakers = sorted({str(s) for s in selected["speaker_id"].tolist()})
    groups = safe_names(speakers)
    trace_cfg = config.traces
    feature_traces: Dict[str, Dict[str, np.ndarray]] = {}
    items = []
    for index, row in zip(selected.index.tolist(), selected.itertuples(index=False)):
        labels = label_fields.label_values(derived, index) if derived is not None else {}
        targets = None
        if config.continuous:
            targets = label_fields.load_trace_targets(table, row.utt_id, trace_cfg.attributes,
                                                      trace_cfg.rater, trace_cfg.rate_hz)
            feature_traces[row.utt_id] = {}
            for name in trace_cfg.features:
                array = label_fields.load_feature_trace(table, row.utt_id, name,
                                                        trace_cfg.rate_hz)
                if array is not None:
                    feature_traces[row.utt_id][name] = array
        items.append(work.WorkItem(
            utt_id=row.utt_id, speaker_id=str(row.speaker_id),
            session_id=row.session_id or "", group=groups[str(row.speaker_id)],
            audio_path=table.resolve_audio(row.audio_path),
            start_s=_optional(row.start_s), end_s=_optional(row.end_s), labels=labels,
            speed_factors=config.speed_perturb if row.utt_id in eligible else (),
            random_crops=config.random_crops if row.utt_id in eligible and _longer_than(
                row, config.crop_seconds) else 0,
            crop_seconds=config.crop_seconds, stats_part=stats_parts.get(row.utt_id, ""),
            trace_targets=targets, trace_features=feature_traces.get(row.utt_id, {})))
    label_specs = label_fields.label_field_specs(derived) if derived is not None else []
    metadata = label_fields.label_metadata(derived) if derived is not None else {}
    if config.continuous:
        label_specs.append(label_fields.trace_field_spec(trace_cfg.head, trace_cfg.attributes))
        metadata[trace_cfg.head] = {
            "kind": "dimensional", "classes": list(trace_cfg.attributes), "sequence": True,
            "rater": trace_cfg.rater, "rate_hz": trace_cfg.rate_hz,
            "label_shift_s": trace_cfg.label_shift_s}
    trace_specs = _trace_feature_specs(config, feature_traces) if config.continuous else []
    definitions = tuple(registry.get(name) for name in config.feature_sets)
    settings = work.WorkSettings(
        definitions=definitions, trace_feature_specs=tuple(trace_specs),
        label_specs=tuple(label_specs), sample_rate=config.sample_rate,
        min_duration_s=config.min_duration_s, num_shards=config.num_shards,
        trace_head=trace_cfg.head if config.continuous else None,
        trace_shift=label_fields.shift_frames(trace_cfg.label_shift_s, trace_cfg.rate_hz),
        audio_policy=config.audio_checks.policy,
        audio_check_args=config.audio_checks.check_args())
    expected = [Expected(item.utt_id, variant, item.speaker_id)
                for item in items for variant in work.item_variants(item)]
    augmented = frozenset(item.speaker_id for item in items
                          if item.speed_factors or item.random_crops)
    return Plan(config=config, corpus=table.meta.corpus,
                table_utterances=int(len(table.utterances)), not_selected=not_selected,
                derived=derived, protocol=protocol, items=items, expected=expected,
                augmented_speakers=augmented, groups=groups,
                feature_specs=[d.spec for d in definitions] + trace_specs,
                label_specs=label_specs, label_metadata=metadata, settings=settings)
