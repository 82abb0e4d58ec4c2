"""LabelSpec / ViewSpec: construction from dicts, defaults and clear errors."""

import pytest

from tfser.config.checks import ConfigError
from tfser.config.errors import UserError
from tfser.labels import LabelSpec, ViewSpec

BASE = {"views": [{"name": "emotion", "kind": "hard"}]}


def test_defaults_are_filled_in():
    spec = LabelSpec.from_dict(BASE)
    view = spec.view("emotion")
    assert view.params == {"method": "plurality", "tie_policy": "drop", "seed": 0,
                           "priority": None, "min_votes": None, "excluded_votes": "ignore"}
    assert spec.rater_types == ("observer", "crowd")
    assert spec.vote_params(view) == {"rater_types": ("observer", "crowd"), "condition": None,
                                      "use_secondary_as_votes": False}


def test_view_overrides_vote_selection():
    spec = LabelSpec.from_dict({
        "condition": "voice", "use_secondary_as_votes": True,
        "views": [{"name": "s", "kind": "soft",
                   "params": {"a": 0.75, "use_secondary_as_votes": False,
                              "rater_types": ["crowd"]}}]})
    assert spec.vote_params(spec.view("s")) == {
        "rater_types": ("crowd",), "condition": "voice", "use_secondary_as_votes": False}


def test_round_trip_through_plain_dict():
    data = {
        "classes": ["angry", "happy", "sad", "neutral"], "class_mapping": "iemocap_4class",
        "condition": ["voice"],
        "views": [
            {"name": "h", "kind": "hard",
             "params": {"tie_policy": "priority", "priority": ["neutral", "sad"]}},
            {"name": "d", "kind": "dimensional", "params": {"target_range": [0, 1]}},
            {"name": "spk", "kind": "speaker"},
        ]}
    spec = LabelSpec.from_dict(data)
    again = LabelSpec.from_dict(spec.to_dict())
    assert again == spec
    assert spec.to_dict()["views"][0]["params"]["priority"] == ["neutral", "sad"]
    assert spec.to_dict()["views"][1]["params"]["target_range"] == [0.0, 1.0]


@pytest.mark.parametrize("data, message", [
    ({"views": [], "clases": ["a"]}, r"unknown keys \['clases'\]"),
    ({"classes": ["a"]}, "missing 'views'"),
    ({"views": []}, "at least one view"),
    ({"views": "hard"}, "list of views"),
    ({"views": [{"name": "x", "kind": "fuzzy"}]}, "unknown kind 'fuzzy'"),
    ({"views": [{"name": "x"}]}, "missing 'kind'"),
    ({"views": [{"name": "x", "kind": "hard", "weight": 1}]}, r"unknown keys \['weight'\]"),
    ({"views": [{"name": "x", "kind": "hard"}, {"name": "x", "kind": "soft"}]}, "unique"),
    ({"views": [{"name": "", "kind": "hard"}]}, "non-empty"),
    ({"views": [{"name": "x", "kind": "hard", "params": {"a": 0.75}}]},
     r"view 'x' \(hard\): unknown params \['a'\]"),
    ({"views": [{"name": "x", "kind": "hard", "params": {"tie_policy": "coin"}}]},
     "tie_policy: must be one of"),
    ({"views": [{"name": "x", "kind": "hard", "params": {"priority": ["sad"]}}]},
     "only used with tie_policy 'priority'"),
    ({"views": [{"name": "x", "kind": "hard", "params": {"seed": 1.5}}]}, "seed: must be"),
    ({"views": [{"name": "x", "kind": "hard", "params": {"min_votes": 0}}]}, "min_votes"),
    ({"views": [{"name": "x", "kind": "soft", "params": {"a": -1}}]}, "a: must be"),
    ({"views": [{"name": "x", "kind": "existence", "params": {"threshold": True}}]},
     "threshold"),
    ({"views": [{"name": "x", "kind": "secondary",
                 "params": {"use_secondary_as_votes": True}}]}, "unknown params"),
    ({"views": [{"name": "x", "kind": "dimensional", "params": {"target_range": [1, 0]}}]},
     "lo < hi"),
    ({"views": [{"name": "x", "kind": "per_rater", "params": {"raters": "e1"}}]},
     "list of names"),
    ({"views": [{"name": "x", "kind": "hard", "params": ["method"]}]}, "mapping"),
    ({"views": [{"name": "x", "kind": "hard"}], "class_mapping": "iemocap4"},
     "unknown class mapping"),
    ({"views": [{"name": "x", "kind": "hard"}], "rater_types": ["actor"]},
     "unknown rater types"),
    ({"views": [{"name": "x", "kind": "hard"}], "classes": ["sad", "sad"]}, "more than once"),
    ({"views": [{"name": "x", "kind": "hard"}], "classes": []}, "empty"),
    ({"views": [{"name": "x", "kind": "hard"}], "use_secondary_as_votes": "yes"},
     "true or false"),
])
def test_errors(data, message):
    with pytest.raises(ValueError, match=message):
        LabelSpec.from_dict(data)


def test_non_mapping_spec():
    with pytest.raises(ValueError, match="mapping"):
        LabelSpec.from_dict(["views"])


def test_view_spec_is_frozen_and_direct_construction_checks():
    view = ViewSpec(name="e", kind="existence", params={"threshold": 2})
    with pytest.raises(AttributeError):
        view.name = "other"
    with pytest.raises(ValueError, match="unknown kind"):
        ViewSpec(name="e", kind="multi")


def test_spec_errors_are_config_errors_naming_the_view_and_parameter():
    with pytest.raises(ConfigError) as error:
        LabelSpec.from_dict({"views": [{"name": "x", "kind": "hard", "params": {"seed": -1}}]})
    assert str(error.value) == "view 'x' (hard): seed: must be an integer >= 0, got -1"
    assert isinstance(error.value, UserError)
