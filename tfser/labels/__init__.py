"""Label views derived from ratings: pure functions with their policy as parameters.

Entry point: :func:`derive` (``derive(table, LabelSpec) -> DerivedLabels``). The view
modules (:mod:`~tfser.labels.hard`, :mod:`~tfser.labels.soft`,
:mod:`~tfser.labels.secondary`, :mod:`~tfser.labels.existence`,
:mod:`~tfser.labels.per_rater`, :mod:`~tfser.labels.dimensional`,
:mod:`~tfser.labels.speaker`) work on plain numpy count matrices and can be used alone;
:mod:`~tfser.labels.votes` is the one place that decides which ratings count.
"""

from tfser.labels.derive import DerivedLabels, ViewResult, derive, resolve_classes
from tfser.labels.dimensional import dimensional_targets, rescale
from tfser.labels.existence import existence_labels
from tfser.labels.hard import NO_LABEL, resolve_hard
from tfser.labels.mapping import POLICY_NAMES, ClassMapping, get_mapping
from tfser.labels.per_rater import per_rater_targets, select_raters
from tfser.labels.secondary import SecondaryTargets, round_half_up_ratio, secondary_targets
from tfser.labels.soft import soft_distribution
from tfser.labels.speaker import speaker_index
from tfser.labels.spec import KINDS, LabelSpec, ViewSpec
from tfser.labels.votes import DEFAULT_RATER_TYPES, VoteTable, build_votes, select_ratings

__all__ = [
    "DEFAULT_RATER_TYPES", "KINDS", "NO_LABEL", "POLICY_NAMES", "ClassMapping", "DerivedLabels",
    "LabelSpec", "SecondaryTargets", "ViewResult", "ViewSpec", "VoteTable", "build_votes",
    "derive", "dimensional_targets", "existence_labels", "get_mapping", "per_rater_targets",
    "rescale", "resolve_classes", "resolve_hard", "round_half_up_ratio", "secondary_targets",
    "select_ratings", "select_raters", "soft_distribution", "speaker_index",
]
