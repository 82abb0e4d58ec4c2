"""The single entry point of the labels stage: ``derive(table, spec) -> DerivedLabels``.

``derive`` resolves the class list and mapping once, builds the vote matrices (one
:class:`~tfser.labels.votes.VoteTable` per distinct rater-type / condition selection)
and hands them to the pure view functions. Each view yields values aligned with
``table.utterances`` plus a mask; masked rows hold zeros (or -1 for integer labels)
and must get zero weight downstream.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import pandas as pd

from tfser.annotations import schema
from tfser.labels import dimensional
from tfser.labels import existence
from tfser.labels import hard
from tfser.labels import mapping as mapping_lib
from tfser.labels import per_rater
from tfser.labels import secondary
from tfser.labels import soft
from tfser.labels import speaker
from tfser.labels import votes as votes_lib
from tfser.labels.spec import LabelSpec, ViewSpec


@dataclasses.dataclass(frozen=True)
class ViewResult:
    """One derived view.

    Attributes:
      name: Head name (from the spec).
      kind: View kind.
      values: Targets; shape [N] (hard, speaker), [N, K] (soft, existence, secondary),
        [N, R, K] (per_rater) or [N, A] (dimensional).
      mask: True where the target is defined; [N], [N, R] (per_rater) or [N, A]
        (dimensional).
      status: [N] outcome strings for hard and secondary views (see
        :mod:`tfser.labels.hard`), else None.
      metadata: Names and side arrays: ``classes``, ``raters``, ``attributes``,
        ``vocabulary``, ``counts``, ``params``, ... depending on the kind.
    """

    name: str
    kind: str
    values: np.ndarray
    mask: np.ndarray
    status: Optional[np.ndarray] = None
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def classes(self) -> Optional[Tuple[str, ...]]:
        return self.metadata.get("classes")


@dataclasses.dataclass(frozen=True)
class DerivedLabels:
    """All views of one table.

    Attributes:
      utt_ids: [N] utterance ids in ``table.utterances`` order.
      classes: The resolved class list shared by the categorical views.
      views: Head name -> :class:`ViewResult`, in spec order.
      spec: The spec that produced them.
    """

    utt_ids: np.ndarray
    classes: Tuple[str, ...]
    views: Mapping[str, ViewResult]
    spec: LabelSpec

    def __getitem__(self, name: str) -> ViewResult:
        if name not in self.views:
            raise KeyError(f"no view named '{name}'; views: {list(self.views)}")
        return self.views[name]

    def __contains__(self, name: str) -> bool:
        return name in self.views

    def to_frame(self) -> pd.DataFrame:
        """One row per utterance, for inspection.

        Columns: ``utt_id``; per hard view ``<name>`` (class name or None) and
        ``<name>/status``; per soft / existence / secondary view one ``<name>/<class>``
        column; per per-rater view ``<name>/<rater>`` holding that rater's most chosen
        class (first in class order on a tie; None where masked); per dimensional view
        ``<name>/<attribute>``; per speaker view ``<name>`` (speaker index, -1 = none).
        Views with a 1-D mask also get ``<name>/mask``; masked float cells are NaN.
        """
        columns: Dict[str, Any] = {"utt_id": list(self.utt_ids)}
        for name, view in self.views.items():
            if view.kind in ("hard", "speaker"):
                if view.kind == "hard":
                    names = np.array(view.classes + (None,), dtype=object)
                    columns[name] = _objects(names[view.values])
                else:
                    columns[name] = view.values
            elif view.kind in ("soft", "existence", "secondary"):
                masked = np.where(view.mask[:, None], view.values, np.nan)
                for j, cls in enumerate(view.classes):
                    columns[f"{name}/{cls}"] = masked[:, j]
            elif view.kind == "per_rater":
                names = np.array(view.classes, dtype=object)
                for r, rater in enumerate(view.metadata["raters"]):
                    top = names[np.argmax(view.values[:, r, :], axis=1)] if len(names) else []
                    columns[f"{name}/{rater}"] = _objects(np.where(view.mask[:, r], top, None))
            elif view.kind == "dimensional":
                masked = np.where(view.mask, view.values, np.nan)
                for j, attribute in enumerate(view.metadata["attributes"]):
                    columns[f"{name}/{attribute}"] = masked[:, j]
            if view.status is not None:
                columns[f"{name}/status"] = view.status
            if view.mask.ndim == 1:
                columns[f"{name}/mask"] = view.mask
        return pd.DataFrame(columns)


def _objects(values) -> pd.Series:
    # Object dtype keeps None as None; pandas 3 would infer a string column holding NaN.
    return pd.Series(list(values), dtype=object)


def resolve_classes(table: schema.AnnotationTable, spec: LabelSpec,
                    class_mapping: mapping_lib.ClassMapping) -> Tuple[str, ...]:
    """The class list of ``spec`` on ``table``.

    The spec's ``classes`` win, then the mapping's default classes, then the table's
    primary categories after mapping (table order, excluded ones left out). Every class
    must be reachable from the table's vocabulary through the mapping, so a typo fails
    here instead of producing a class nobody can vote for.
    """
    vocabulary = list(table.meta.categories) + list(table.meta.secondary_categories)
    reachable = class_mapping.targets(vocabulary)
    if spec.classes is not None:
        classes = tuple(spec.classes)
    elif class_mapping.default_classes is not None:
        classes = tuple(class_mapping.default_classes)
    else:
        classes = tuple(class_mapping.targets(table.meta.categories))
    if not classes:
        raise ValueError(f"no classes: table '{table.meta.corpus}' has no categories left after "
                         f"class mapping '{class_mapping.name}'")
    unknown = [c for c in classes if c not in reachable]
    if unknown:
        raise ValueError(f"classes {unknown} never occur in table '{table.meta.corpus}' after "
                         f"class mapping '{class_mapping.name}'; reachable classes: {reachable}")
    return votes_lib.check_classes(classes)


class _Context:
    """Shared inputs of the view builders; vote tables are built once per selection."""

    def __init__(self, table: schema.AnnotationTable, spec: LabelSpec):
        self.table = table
        self.spec = spec
        self.mapping = mapping_lib.get_mapping(spec.class_mapping)
        self.classes = resolve_classes(table, spec, self.mapping)
        self.utt_ids = np.array(table.utterances["utt_id"].tolist(), dtype=object)
        self._votes: Dict[Any, votes_lib.VoteTable] = {}

    def votes(self, rater_types, condition) -> votes_lib.VoteTable:
        key = (rater_types, condition)
        if key not in self._votes:
            self._votes[key] = votes_lib.build_votes(
                self.table, self.classes, self.mapping, rater_types=rater_types,
                condition=condition)
        return self._votes[key]

    def priority_columns(self, view: ViewSpec) -> Optional[list]:
        names = view.params.get("priority")
        if names is None:
            return None
        unknown = [n for n in names if n not in self.classes]
        if unknown:
            raise ValueError(f"view '{view.name}': priority names {unknown} are not in the "
                             f"classes {list(self.classes)}")
        return [self.classes.index(n) for n in names]


def _consensus(ctx: _Context, view: ViewSpec, vote_table: votes_lib.VoteTable,
               use_secondary: bool):
    """Hard label per utterance under the view's consensus parameters."""
    params = view.params
    counts = vote_table.counts(use_secondary)
    compete = params["excluded_votes"] == "compete"
    full = counts
    if compete:
        # Excluded categories stand as their own candidates, so an utterance most raters
        # called e.g. "frustration" is not handed to the runner-up among the kept classes.
        # Their columns come last, so under tie_policy "priority" a kept class wins a tie
        # against them.
        _, excluded_counts = vote_table.excluded_primary_counts()
        full = np.concatenate([counts, excluded_counts], axis=1)
    labels, status = hard.resolve_hard(
        full, method=params["method"], tie_policy=params["tie_policy"], seed=params["seed"],
        priority=ctx.priority_columns(view), keys=ctx.utt_ids, min_votes=params["min_votes"],
        n_raters=vote_table.voters(use_secondary, include_excluded_primary=compete))
    won_excluded = labels >= len(ctx.classes)
    if compete and counts.shape[0]:
        # A tie among excluded categories only is still an excluded utterance.
        kept_best = counts.max(axis=1) if counts.shape[1] else np.zeros(len(counts))
        won_excluded |= (status == hard.STATUS_TIE) & (kept_best < full.max(axis=1))
    labels[won_excluded] = hard.NO_LABEL
    status[won_excluded] = hard.STATUS_EXCLUDED
    return labels, status, counts


def _hard_view(ctx: _Context, view: ViewSpec) -> ViewResult:
    vote = ctx.spec.vote_params(view)
    table = ctx.votes(vote["rater_types"], vote["condition"])
    labels, status, counts = _consensus(ctx, view, table, vote["use_secondary_as_votes"])
    return ViewResult(view.name, view.kind, labels, labels >= 0, status,
                      {"classes": ctx.classes, "counts": counts, "params": view.params})


def _soft_view(ctx: _Context, view: ViewSpec) -> ViewResult:
    vote = ctx.spec.vote_params(view)
    counts = ctx.votes(vote["rater_types"], vote["condition"]).counts(
        vote["use_secondary_as_votes"])
    values, mask = soft.soft_distribution(counts, view.params["a"])
    return ViewResult(view.name, view.kind, values, mask, None,
                      {"classes": ctx.classes, "counts": counts, "params": view.params})


def _existence_view(ctx: _Context, view: ViewSpec) -> ViewResult:
    vote = ctx.spec.vote_params(view)
    table = ctx.votes(vote["rater_types"], vote["condition"])
    counts = table.counts(vote["use_secondary_as_votes"])
    values, mask = existence.existence_labels(
        counts, view.params["threshold"], judgements=table.judgements(),
        no_target=view.params["no_target"])
    return ViewResult(view.name, view.kind, values, mask, None,
                      {"classes": ctx.classes, "counts": counts, "params": view.params})


def _secondary_view(ctx: _Context, view: ViewSpec) -> ViewResult:
    vote = ctx.spec.vote_params(view)
    table = ctx.votes(vote["rater_types"], vote["condition"])
    labels, status, primary_counts = _consensus(ctx, view, table, use_secondary=False)
    secondary_counts = table.secondary_counts()
    targets = secondary.secondary_targets(
        secondary_counts, labels, secondary_counts.sum(axis=1), table.judgements(),
        primary_counts=primary_counts)
    values = targets.normalized if view.params["normalize"] else targets.multi_hot
    return ViewResult(view.name, view.kind, values, targets.mask, status, {
        "classes": ctx.classes, "primary": labels, "k": targets.k,
        "multi_hot": targets.multi_hot, "normalized": targets.normalized,
        "secondary_counts": secondary_counts, "params": view.params})


def _per_rater_view(ctx: _Context, view: ViewSpec) -> ViewResult:
    vote = ctx.spec.vote_params(view)
    table = ctx.votes(vote["rater_types"], vote["condition"])
    use_secondary = vote["use_secondary_as_votes"]
    rated = table.ratings_per_rater(use_secondary)
    raters = view.params["raters"]
    if raters is None:
        raters = per_rater.select_raters(rated, view.params["min_ratings"])
    else:
        unknown = [r for r in raters if r not in rated]
        if unknown:
            raise ValueError(f"view '{view.name}': raters {unknown} gave no counted vote "
                             f"(check the rater ids, rater_types and condition)")
        raters = list(raters)
    values, mask = per_rater.per_rater_targets(table.rater_counts(raters, use_secondary))
    return ViewResult(view.name, view.kind, values, mask, None, {
        "classes": ctx.classes, "raters": tuple(raters),
        "ratings_per_rater": np.array([rated.get(r, 0) for r in raters], dtype=np.int64),
        "params": view.params})


def _dimensional_view(ctx: _Context, view: ViewSpec) -> ViewResult:
    vote = ctx.spec.vote_params(view)
    meta = ctx.table.meta
    attributes = view.params["attributes"] or tuple(meta.dimensions)
    if not attributes:
        raise ValueError(f"view '{view.name}': table '{meta.corpus}' has no dimensional "
                         "attributes")
    unknown = [a for a in attributes if a not in meta.dimensions]
    if unknown:
        raise ValueError(f"view '{view.name}': attributes {unknown} are not dimensions of "
                         f"table '{meta.corpus}' ({list(meta.dimensions)})")
    ratings = votes_lib.select_ratings(ctx.table, vote["rater_types"], vote["condition"])
    row_utt = votes_lib.check_rated_utterances(ratings, votes_lib.utterance_index(ctx.table))
    scales = [meta.dimensions[a] for a in attributes]
    values, mask = dimensional.dimensional_targets(
        ratings[list(attributes)].to_numpy(dtype=np.float64).reshape(len(ratings), -1),
        row_utt, len(ctx.utt_ids), scales, view.params["reducer"], view.params["target_range"])
    return ViewResult(view.name, view.kind, values, mask, None, {
        "attributes": tuple(attributes), "source_ranges": tuple(tuple(s) for s in scales),
        "target_range": tuple(view.params["target_range"]), "params": view.params})


def _speaker_view(ctx: _Context, view: ViewSpec) -> ViewResult:
    index, mask, vocabulary = speaker.speaker_index(
        ctx.table.utterances["speaker_id"].tolist(), view.params["vocabulary"])
    return ViewResult(view.name, view.kind, index, mask, None,
                      {"vocabulary": vocabulary, "params": view.params})


_BUILDERS = {
    "hard": _hard_view,
    "soft": _soft_view,
    "existence": _existence_view,
    "secondary": _secondary_view,
    "per_rater": _per_rater_view,
    "dimensional": _dimensional_view,
    "speaker": _speaker_view,
}


def derive(table: schema.AnnotationTable,
           spec: Union[LabelSpec, Mapping[str, Any]]) -> DerivedLabels:
    """Derives every view of ``spec`` from ``table``.

    Args:
      table: The annotation table (ratings in its own vocabulary).
      spec: A :class:`LabelSpec` or its plain-dict form.

    Returns:
      The :class:`DerivedLabels`, aligned with ``table.utterances``.

    Raises:
      ValueError: On a bad spec, classes unreachable in the table, ratings of unknown
        utterances or categories outside the table vocabulary.
    """
    if not isinstance(spec, LabelSpec):
        spec = LabelSpec.from_dict(spec)
    ctx = _Context(table, spec)
    views = {view.name: _BUILDERS[view.kind](ctx, view) for view in spec.views}
    return DerivedLabels(utt_ids=ctx.utt_ids, classes=ctx.classes, views=views, spec=spec)
