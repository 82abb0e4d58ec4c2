"""LabelSpec: which label views to derive, with every policy written down.

A spec comes from YAML as a plain dict, for example::

    classes: [angry, happy, sad, neutral]
    class_mapping: iemocap_4class
    rater_types: [observer]          # default [observer, crowd]
    use_secondary_as_votes: false
    views:
      - {name: emotion, kind: hard, params: {method: majority, tie_policy: drop}}
      - {name: emotion_soft, kind: soft, params: {a: 0.75, use_secondary_as_votes: true}}
      - {name: speaker, kind: speaker}

Every view kind has a fixed set of parameters with defaults (:data:`KIND_PARAMS`);
unknown keys, kinds and bad values raise a ``ConfigError`` (a ``ValueError``) naming the
view. The vote selection parameters (``rater_types``, ``condition``,
``use_secondary_as_votes``) are set once on the spec and may be overridden per view; a
view that does not name one inherits the spec's value.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Any, Callable, Mapping, Optional, Tuple, Union

from tfser.annotations import schema
from tfser.config import checks
from tfser.labels import dimensional
from tfser.labels import existence
from tfser.labels import hard
from tfser.labels import mapping as mapping_lib
from tfser.labels import votes

KINDS = ("hard", "soft", "secondary", "existence", "per_rater", "dimensional", "speaker")
VOTE_PARAMS = ("rater_types", "condition", "use_secondary_as_votes")


# No config name in front: a featurize config puts "featurize config: labels: " before these.
_check = checks.Checks()


# --- parameter checkers: each is ``check(value, where)`` and returns the normalised value

def _choice(*options) -> Callable:
    return functools.partial(_check.choice, options=options)


def _integer(minimum: int, optional: bool = False) -> Callable:
    return functools.partial(_check.integer, minimum=minimum, optional=optional)


def _names(optional: bool = True, allow_single: bool = False) -> Callable:
    return functools.partial(_check.names, allow_empty=True, optional=optional,
                             allow_single=allow_single)


def _rater_types(value, where):
    value = _names()(value, where)
    if value is not None:
        unknown = sorted(set(value) - set(schema.RATER_TYPES))
        if unknown:
            _check.fail(where, f"has unknown rater types {unknown}; known: "
                               f"{list(schema.RATER_TYPES)}")
    return value


def _range(value, where):
    try:
        return dimensional.check_range(value, "target_range")
    except ValueError as error:
        _check.fail(where, str(error))


_CONSENSUS = {
    "method": ("plurality", _choice(*hard.METHODS)),
    "tie_policy": ("drop", _choice(*hard.TIE_POLICIES)),
    "seed": (0, _integer(0)),
    "priority": (None, _names()),
    "min_votes": (None, _integer(1, optional=True)),
    "excluded_votes": ("ignore", _choice("ignore", "compete")),
}

# kind -> {param: (default, checker)}
KIND_PARAMS = {
    "hard": dict(_CONSENSUS),
    "soft": {"a": (0.0, _check.number)},
    # no_target: a rated utterance without any target-class vote is a negative (001).
    "existence": {"threshold": (1, _integer(1)),
                  "no_target": ("negative", _choice(*existence.NO_TARGET_POLICIES))},
    # The consensus parameters choose the primary class that rule 4 always includes.
    "secondary": {**_CONSENSUS, "normalize": (False, _check.boolean)},
    "per_rater": {"raters": (None, _names()), "min_ratings": (1, _integer(1))},
    "dimensional": {"attributes": (None, _names()),
                    "reducer": ("mean", _choice(*dimensional.REDUCERS)),
                    "target_range": ((-1.0, 1.0), _range)},
    "speaker": {"vocabulary": (None, _names())},
}

_VOTE_CHECKS = {
    "rater_types": _rater_types,
    "condition": _names(allow_single=True),
    "use_secondary_as_votes": _check.boolean,
}
# Which vote-selection parameters a view kind may override.
KIND_VOTE_PARAMS = {
    "hard": VOTE_PARAMS, "soft": VOTE_PARAMS, "existence": VOTE_PARAMS,
    "per_rater": VOTE_PARAMS,
    # The primary consensus of 000 is a vote over primary categories only.
    "secondary": ("rater_types", "condition"),
    "dimensional": ("rater_types", "condition"),
    "speaker": (),
}


@dataclasses.dataclass(frozen=True)
class ViewSpec:
    """One requested label view (one model head).

    Attributes:
      name: Head name; it becomes the label key everywhere downstream.
      kind: One of :data:`KINDS`.
      params: The view's parameters; after construction every parameter of the kind
        is present (defaults filled in) and vote-selection overrides appear only when
        given.
    """

    name: str
    kind: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            _check.fail("view name", f"must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            _check.fail(f"view '{self.name}'", f"unknown kind {self.kind!r}; known kinds: "
                                               f"{list(KINDS)}")
        given = self.params if self.params is not None else {}
        if not isinstance(given, Mapping):
            _check.fail(f"view '{self.name}'", f"params must be a mapping, got "
                                               f"{type(given).__name__}")
        where = f"view '{self.name}' ({self.kind})"
        allowed = KIND_PARAMS[self.kind]
        overridable = KIND_VOTE_PARAMS[self.kind]
        _check.keys(given, set(allowed) | set(overridable), where, what="params")
        params = {key: check(given.get(key, default), f"{where}: {key}")
                  for key, (default, check) in allowed.items()}
        for key in overridable:
            if key in given:
                params[key] = _VOTE_CHECKS[key](given[key], f"{where}: {key}")
        if "priority" in params and params["priority"] is not None \
                and params["tie_policy"] != "priority":
            _check.fail(where, f"priority is only used with tie_policy 'priority', not "
                               f"'{params['tie_policy']}'")
        object.__setattr__(self, "params", params)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ViewSpec":
        """Builds a view from ``{name, kind, params}``."""
        if not isinstance(data, Mapping):
            _check.fail("views", f"a view must be a mapping with name, kind and params, "
                                 f"got {data!r}")
        where = f"view {data.get('name', '?')!r}"
        unknown = sorted(set(data) - {"name", "kind", "params"})
        if unknown:
            _check.fail(where, f"unknown keys {unknown}; a view has 'name', 'kind' and "
                               "'params'")
        for key in ("name", "kind"):
            if key not in data:
                _check.fail(where, f"missing '{key}'")
        return cls(name=data["name"], kind=data["kind"], params=data.get("params") or {})

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind,
                "params": {k: _plain(v) for k, v in self.params.items()}}


def _plain(value: Any) -> Any:
    """YAML-friendly copy: tuples become lists."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


_SPEC_KEYS = ("views", "classes", "class_mapping", "rater_types", "condition",
              "use_secondary_as_votes")


@dataclasses.dataclass(frozen=True)
class LabelSpec:
    """Everything :func:`tfser.labels.derive` needs to turn ratings into targets.

    Attributes:
      views: The requested views (``ViewSpec`` or dicts), names unique.
      classes: Target class order; ``None`` takes the mapping's default classes, or
        else the table's categories in table order (after mapping).
      class_mapping: ``None``, a policy name (:data:`tfser.labels.mapping.POLICY_NAMES`)
        or a ``{category: target or None}`` dict.
      rater_types: Rater types whose ratings count (``None`` = all).
      condition: Condition name(s) whose ratings count (``None`` = all).
      use_secondary_as_votes: Count secondary categories as chosen (soft, existence,
        hard, per-rater views).
    """

    views: Tuple[ViewSpec, ...]
    classes: Optional[Tuple[str, ...]] = None
    class_mapping: Union[None, str, Mapping[str, Optional[str]]] = None
    rater_types: Optional[Tuple[str, ...]] = votes.DEFAULT_RATER_TYPES
    condition: Union[None, str, Tuple[str, ...]] = None
    use_secondary_as_votes: bool = False

    def __post_init__(self):
        if isinstance(self.views, (str, bytes, Mapping)) or not hasattr(self.views, "__iter__"):
            _check.fail("views", f"must be a list of views, got {self.views!r}")
        views = tuple(v if isinstance(v, ViewSpec) else ViewSpec.from_dict(v)
                      for v in self.views)
        if not views:
            _check.fail("views", "a label spec needs at least one view")
        dup = sorted(n for n, c in collections.Counter(v.name for v in views).items() if c > 1)
        if dup:
            _check.fail("views", f"view names must be unique; repeated: {dup}")
        object.__setattr__(self, "views", views)
        classes = _names()(self.classes, "classes")
        if classes is not None and not classes:
            _check.fail("classes", "is an empty list; omit it to use the default classes")
        object.__setattr__(self, "classes", classes)
        mapping = self.class_mapping
        # Resolve now so a typo in a policy name fails when the config is read.
        try:
            mapping_lib.get_mapping(mapping)
        except ValueError as error:
            _check.fail("class_mapping", str(error))
        if isinstance(mapping, Mapping):
            object.__setattr__(self, "class_mapping", dict(mapping))
        object.__setattr__(self, "rater_types",
                           _rater_types(self.rater_types, "rater_types"))
        object.__setattr__(self, "condition",
                           _VOTE_CHECKS["condition"](self.condition, "condition"))
        _check.boolean(self.use_secondary_as_votes, "use_secondary_as_votes")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LabelSpec":
        """Builds a spec from a plain dict (e.g. parsed YAML); unknown keys raise."""
        _check.keys(data, _SPEC_KEYS, "label spec")
        if "views" not in data:
            _check.fail("label spec", "missing 'views'")
        return cls(**dict(data))

    def to_dict(self) -> dict:
        """Plain-dict form; ``LabelSpec.from_dict(spec.to_dict()) == spec``."""
        return {
            "views": [v.to_dict() for v in self.views],
            "classes": _plain(self.classes),
            "class_mapping": _plain(self.class_mapping),
            "rater_types": _plain(self.rater_types),
            "condition": _plain(self.condition),
            "use_secondary_as_votes": self.use_secondary_as_votes,
        }

    def view(self, name: str) -> ViewSpec:
        """The view called ``name``."""
        for view in self.views:
            if view.name == name:
                return view
        raise KeyError(f"no view named '{name}'; views: {[v.name for v in self.views]}")

    def vote_params(self, view: ViewSpec) -> dict:
        """Effective vote selection of ``view``: its overrides, else the spec's values."""
        defaults = {"rater_types": self.rater_types, "condition": self.condition,
                    "use_secondary_as_votes": self.use_secondary_as_votes}
        return {key: view.params.get(key, defaults[key]) for key in VOTE_PARAMS}
