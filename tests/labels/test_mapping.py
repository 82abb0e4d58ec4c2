"""Class mapping policies and how excluded votes behave."""

import numpy as np
import pytest

from tfser.labels import derive
from tfser.labels.mapping import get_mapping

from tests.labels.builders import make_table, rating


def test_iemocap_4class_policy():
    mapping = get_mapping("iemocap_4class")
    assert mapping.apply("excited") == "happy"
    assert mapping.apply("happy") == "happy"
    assert mapping.apply("frustration") is None
    assert mapping.apply("surprise") is None
    assert mapping.default_classes == ("angry", "happy", "sad", "neutral")


def test_exclude_other_and_custom_dict():
    assert get_mapping("exclude_other").apply("other") is None
    assert get_mapping("exclude_other").apply("sad") == "sad"
    custom = get_mapping({"excited": "happy", "other": None})
    assert custom.apply("excited") == "happy"
    assert custom.apply("other") is None
    assert custom.apply("fear") == "fear"   # unlisted names map to themselves
    assert get_mapping(None).apply("excited") == "excited"


@pytest.mark.parametrize("policy, message", [
    ("iemocap_5class", "unknown class mapping"),
    ({"excited": 3}, "target"),
    ({"": "happy"}, "key"),
    (["happy"], "class_mapping"),
])
def test_bad_policies(policy, message):
    with pytest.raises(ValueError, match=message):
        get_mapping(policy)


def _iemocap_like_table():
    return make_table([
        # u1: happy + excited merge into a happy majority (2 of 3).
        rating("u1", "e1", "happy"), rating("u1", "e2", "excited"), rating("u1", "e3", "sad"),
        # u2: frustration votes are excluded; they simply do not count, so the single
        # angry vote is the only one left and wins.
        rating("u2", "e1", "frustration"), rating("u2", "e2", "frustration"),
        rating("u2", "e3", "angry"),
        # u3: every vote excluded -> no_votes.
        rating("u3", "e1", "frustration"), rating("u3", "e2", "other"),
        # u4: one rater line naming happy and excited counts happy once.
        rating("u4", "e1", "happy", ["excited"]), rating("u4", "e2", "neutral"),
    ])


def test_iemocap_4class_merge_through_derive():
    spec = {"class_mapping": "iemocap_4class", "views": [
        {"name": "hard", "kind": "hard", "params": {"method": "majority"}},
        {"name": "soft", "kind": "soft", "params": {"use_secondary_as_votes": True}},
    ]}
    labels = derive(_iemocap_like_table(), spec)
    assert labels.classes == ("angry", "happy", "sad", "neutral")
    hard = labels["hard"]
    assert hard.values.tolist() == [1, 0, -1, -1]
    assert hard.status.tolist() == ["ok", "ok", "no_votes", "no_majority"]
    np.testing.assert_array_equal(hard.metadata["counts"][0], [0, 2, 1, 0])
    soft = labels["soft"]
    # u4: happy once (not twice) and neutral once -> 1/2, 1/2.
    np.testing.assert_allclose(soft.values[3], [0, 0.5, 0, 0.5])
    assert soft.mask.tolist() == [True, True, False, True]


def test_excluded_votes_can_compete():
    spec = {"class_mapping": "iemocap_4class", "views": [
        {"name": "hard", "kind": "hard",
         "params": {"method": "plurality", "excluded_votes": "compete"}},
        {"name": "maj", "kind": "hard",
         "params": {"method": "majority", "excluded_votes": "compete"}},
    ]}
    labels = derive(_iemocap_like_table(), spec)
    # u2: frustration (2) beats angry (1) -> excluded instead of angry.
    assert labels["hard"].values.tolist() == [1, -1, -1, -1]
    assert labels["hard"].status.tolist() == ["ok", "excluded", "excluded", "tie"]
    # Majority is measured against every rater, including excluded votes: u1 happy 2/3.
    assert labels["maj"].status.tolist() == ["ok", "excluded", "no_majority", "no_majority"]


def test_custom_mapping_and_explicit_classes():
    spec = {"class_mapping": {"excited": "happy"}, "classes": ["happy", "sad"],
            "views": [{"name": "h", "kind": "hard"}]}
    labels = derive(_iemocap_like_table(), spec)
    assert labels["h"].values.tolist() == [0, -1, -1, 0]
    assert labels["h"].status.tolist() == ["ok", "no_votes", "no_votes", "ok"]


def test_classes_must_be_reachable():
    spec = {"class_mapping": "iemocap_4class", "classes": ["happy", "excited"],
            "views": [{"name": "h", "kind": "hard"}]}
    with pytest.raises(ValueError, match=r"\['excited'\] never occur"):
        derive(_iemocap_like_table(), spec)
