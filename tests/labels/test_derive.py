"""derive() end to end on a small hand-built table."""

import numpy as np
import pandas as pd
import pytest

from tfser.labels import DerivedLabels, LabelSpec, derive

from tests.labels.builders import make_table, rating

SPEC = {
    "classes": ["neutral", "happy", "sad", "angry"],
    "class_mapping": {"excited": "happy"},
    "views": [
        {"name": "maj", "kind": "hard", "params": {"method": "majority"}},
        {"name": "plu", "kind": "hard",
         "params": {"tie_policy": "priority", "priority": ["sad", "happy"]}},
        {"name": "soft", "kind": "soft", "params": {"a": 0.75}},
        {"name": "exist", "kind": "existence", "params": {"use_secondary_as_votes": True}},
        {"name": "sec", "kind": "secondary"},
        {"name": "raters", "kind": "per_rater", "params": {"min_ratings": 2}},
        {"name": "dims", "kind": "dimensional"},
        {"name": "spk", "kind": "speaker"},
    ],
}


def _table():
    return make_table([
        rating("u1", "e1", "happy", ["sad"], arousal=4.0),
        rating("u1", "e2", "excited", [], arousal=2.0),
        rating("u1", "e3", "sad", [], arousal=3.0),
        rating("u2", "e1", "sad", ["angry"]),
        rating("u2", "e2", "happy", []),
        rating("u4", "e1", "angry", []),
        rating("u4", "self", "sad", [], rater_type="self"),
    ], utt_ids=["u4", "u3", "u2", "u1"], dimensions={"arousal": [1.0, 5.0]},
        speakers={"u1": "unit:s1", "u2": "unit:s2", "u3": "unit:s1", "u4": "unit:s3"})


def test_every_view_aligned_with_utterance_order():
    labels = derive(_table(), SPEC)
    assert isinstance(labels, DerivedLabels)
    assert labels.utt_ids.tolist() == ["u4", "u3", "u2", "u1"]    # table order, u3 unrated
    assert labels.classes == ("neutral", "happy", "sad", "angry")
    assert labels["maj"].values.tolist() == [3, -1, -1, 1]
    assert labels["maj"].status.tolist() == ["ok", "no_votes", "no_majority", "ok"]
    assert labels["plu"].values.tolist() == [3, -1, 2, 1]            # u2 tie -> sad first
    assert labels["plu"].status.tolist() == ["ok", "no_votes", "tie_broken", "ok"]
    # u1 soft: counts [0, 2, 1, 0], a = .75 -> (.75 + n) / (3 + 3)
    np.testing.assert_allclose(labels["soft"].values[3], [.125, 2.75 / 6, 1.75 / 6, .125],
                               rtol=1e-6)
    assert labels["soft"].mask.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(labels["exist"].values, [[0, 0, 0, 1], [0, 0, 0, 0],
                                                           [0, 1, 1, 1], [0, 1, 1, 0]])
    # u1: k = round(1/3) = 0 -> the primary happy only; u2: tie dropped -> masked.
    np.testing.assert_array_equal(labels["sec"].values[[0, 3]], [[0, 0, 0, 1], [0, 1, 0, 0]])
    assert labels["sec"].mask.tolist() == [True, False, False, True]
    assert labels["raters"].metadata["raters"] == ("e1", "e2")
    assert labels["raters"].mask.tolist() == [[True, False], [False, False], [True, True],
                                              [True, True]]
    np.testing.assert_allclose(labels["dims"].values[:, 0], [0, 0, 0, 0])   # u1 mean 3 -> 0
    assert labels["dims"].mask[:, 0].tolist() == [False, False, False, True]
    assert labels["spk"].values.tolist() == [2, 0, 1, 0]


def test_accepts_a_label_spec_and_a_dict_alike():
    first = derive(_table(), SPEC)
    second = derive(_table(), LabelSpec.from_dict(SPEC))
    for name in first.views:
        np.testing.assert_array_equal(first[name].values, second[name].values)
    assert "soft" in first and "nope" not in first
    with pytest.raises(KeyError, match="no view named"):
        first["nope"]


def test_to_frame():
    frame = derive(_table(), SPEC).to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 4
    assert frame["utt_id"].tolist() == ["u4", "u3", "u2", "u1"]
    assert frame["maj"].tolist() == ["angry", None, None, "happy"]
    assert frame["maj/status"].tolist() == ["ok", "no_votes", "no_majority", "ok"]
    assert frame["maj/mask"].tolist() == [True, False, False, True]
    assert np.isnan(frame["soft/happy"].iloc[1])
    assert frame["exist/sad"].tolist()[2:] == [1.0, 1.0]
    assert frame["raters/e2"].tolist() == [None, None, "happy", "happy"]
    assert frame["dims/arousal"].iloc[3] == 0.0 and np.isnan(frame["dims/arousal"].iloc[0])
    assert frame["spk"].tolist() == [2, 0, 1, 0]
    assert "sec/status" in frame.columns


def test_random_ties_are_reproducible_and_seed_dependent():
    ratings = [rating(f"u{i:02d}", f"e{j}", cls)
               for i in range(40) for j, cls in enumerate(["happy", "sad", "angry"])]
    table = make_table(ratings)

    def run(seed):
        spec = {"classes": ["happy", "sad", "angry"], "views": [
            {"name": "h", "kind": "hard", "params": {"tie_policy": "random", "seed": seed}}]}
        return derive(table, spec)["h"].values

    first = run(0)
    np.testing.assert_array_equal(first, run(0))
    assert set(first.tolist()) == {0, 1, 2}
    assert (first != run(1)).any()


def test_min_votes_and_unknown_priority_name():
    spec = {"classes": ["neutral", "happy", "sad", "angry"], "class_mapping": {"excited": "happy"},
            "views": [{"name": "h", "kind": "hard", "params": {"min_votes": 3}}]}
    view = derive(_table(), spec)["h"]
    assert view.status.tolist() == ["too_few_votes", "no_votes", "too_few_votes", "ok"]
    spec["views"] = [{"name": "h", "kind": "hard",
                      "params": {"tie_policy": "priority", "priority": ["calm"]}}]
    with pytest.raises(ValueError, match=r"priority names \['calm'\]"):
        derive(_table(), spec)


def test_default_classes_follow_table_categories():
    labels = derive(_table(), {"class_mapping": "exclude_other",
                               "views": [{"name": "h", "kind": "hard"}]})
    assert labels.classes == ("neutral", "happy", "excited", "sad", "angry", "frustration")


def test_labels_stage_does_not_import_tensorflow():
    import subprocess
    import sys
    code = ("import sys, tfser.labels; "
            "sys.exit(int(any(m in sys.modules for m in ('tensorflow', 'keras'))))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
