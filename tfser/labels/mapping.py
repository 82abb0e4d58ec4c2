"""Class mapping policies: which table categories count, and as which target class.

Loaders keep every category exactly as raters gave it (in the canonical vocabulary of
:mod:`tfser.annotations.vocabulary`); merges such as IEMOCAP's happy + excited are label
policy, so they live here as named, opt-in mappings applied before any view.

A mapping sends each table category to a target class name or to ``None``. A vote
whose category maps to ``None`` - or to a name outside the requested class list - is
*excluded*: it simply does not count for that class set. It is not a vote for some
"rest" class and it does not enlarge the number of raters a majority is measured
against (see :mod:`tfser.labels.hard` for the opt-in ``excluded_votes="compete"``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, Optional, Tuple

from tfser.annotations import vocabulary


@dataclasses.dataclass(frozen=True)
class ClassMapping:
    """A named category -> target-class policy.

    Attributes:
      name: Policy name (``identity``, ``iemocap_4class``, ... or ``custom``).
      entries: Explicit ``category -> target`` pairs; a ``None`` target excludes the
        category.
      keep_unlisted: When True a category without an entry maps to itself; when False
        it is excluded (closed class sets such as ``iemocap_4class``).
      default_classes: Target class order used when the label spec names no classes.
    """

    name: str
    entries: Mapping[str, Optional[str]] = dataclasses.field(default_factory=dict)
    keep_unlisted: bool = True
    default_classes: Optional[Tuple[str, ...]] = None

    def apply(self, category: Optional[str]) -> Optional[str]:
        """Returns the target class of ``category`` (None when excluded or missing)."""
        if category is None:
            return None
        if category in self.entries:
            return self.entries[category]
        return category if self.keep_unlisted else None

    def targets(self, categories: Iterable[str]) -> list:
        """Distinct targets reached from ``categories``, in first-reached order."""
        seen = []
        for category in categories:
            target = self.apply(category)
            if target is not None and target not in seen:
                seen.append(target)
        return seen


def _iemocap_4class() -> ClassMapping:
    # The common IEMOCAP protocol (paper 002): excitement is merged into happiness and
    # only the four classes below are kept; frustration, surprise, ... are excluded.
    keep = (vocabulary.ANGRY, vocabulary.HAPPY, vocabulary.SAD, vocabulary.NEUTRAL)
    entries = {name: name for name in keep}
    entries[vocabulary.EXCITED] = vocabulary.HAPPY
    return ClassMapping(name="iemocap_4class", entries=entries, keep_unlisted=False,
                        default_classes=keep)


def _exclude_other() -> ClassMapping:
    # Paper 000 drops "other": it names no emotion a model could learn.
    return ClassMapping(name="exclude_other", entries={vocabulary.OTHER: None},
                        keep_unlisted=True)


_POLICIES = {
    "identity": lambda: ClassMapping(name="identity"),
    "iemocap_4class": _iemocap_4class,
    "exclude_other": _exclude_other,
}

POLICY_NAMES = tuple(sorted(_POLICIES))


def get_mapping(policy: Any = None) -> ClassMapping:
    """Builds the :class:`ClassMapping` named or described by ``policy``.

    Args:
      policy: ``None`` (identity), a policy name from :data:`POLICY_NAMES`, a
        ``{category: target or None}`` dict (unlisted categories map to themselves), or
        a :class:`ClassMapping`.

    Returns:
      The mapping.

    Raises:
      ValueError: For an unknown policy name or a malformed dict.
    """
    if policy is None:
        return _POLICIES["identity"]()
    if isinstance(policy, ClassMapping):
        return policy
    if isinstance(policy, str):
        if policy not in _POLICIES:
            raise ValueError(f"unknown class mapping '{policy}'; known policies: "
                             f"{list(POLICY_NAMES)} (or give a {{category: target}} dict)")
        return _POLICIES[policy]()
    if isinstance(policy, Mapping):
        entries = {}
        for raw, target in policy.items():
            if not isinstance(raw, str) or not raw:
                raise ValueError(f"class mapping key {raw!r} is not a category name")
            if target is not None and (not isinstance(target, str) or not target):
                raise ValueError(f"class mapping '{raw}' -> {target!r}: the target must be "
                                 "a class name or None (exclude)")
            entries[raw] = target
        return ClassMapping(name="custom", entries=entries, keep_unlisted=True)
    raise ValueError(f"class_mapping must be None, a policy name or a dict, got "
                     f"{type(policy).__name__}")
