"""Which ratings count: rater types, conditions, secondary votes, bad input."""

import numpy as np
import pytest

from tfser.annotations import schema
from tfser.labels import build_votes, derive, get_mapping

from tests.labels.builders import make_table, rating

CLASSES = ["neutral", "happy", "sad", "angry"]


def _table():
    return make_table([
        rating("u1", "e1", "happy", ["sad"]),
        rating("u1", "e2", "happy", ["happy"]),          # secondary repeats the primary
        rating("u1", "self", "angry", rater_type="self"),
        rating("u1", "c1", "sad", rater_type="crowd", condition="voice"),
        rating("u1", "c1", "angry", rater_type="crowd", condition="face"),
        rating("u2", "e1", "other", ["sad", "frustration"]),
        rating("u3", "e1", None, arousal=3.0),           # dimensional only
    ], dimensions={"arousal": [1.0, 5.0]})


def test_default_selection_excludes_self_ratings():
    votes = build_votes(_table(), CLASSES)
    np.testing.assert_array_equal(votes.counts(), [[0, 2, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    # Secondary choices count once per judgement, even when equal to the primary.
    np.testing.assert_array_equal(votes.counts(use_secondary_as_votes=True),
                                  [[0, 2, 2, 1], [0, 0, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(votes.secondary_counts(),
                                  [[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
    # Judgements naming any category: u1 e1, e2, c1 x2; u2 e1 (its categories are
    # excluded but it still judged); u3's dimensional-only row is not a judgement.
    np.testing.assert_array_equal(votes.judgements(), [4, 1, 0])
    np.testing.assert_array_equal(votes.voters(), [4, 0, 0])
    np.testing.assert_array_equal(votes.voters(True), [4, 1, 0])
    names, excluded = votes.excluded_primary_counts()
    assert names == ("other",)
    np.testing.assert_array_equal(excluded[:, 0], [0, 1, 0])


def test_rater_type_and_condition_filters():
    votes = build_votes(_table(), CLASSES, rater_types=None)
    np.testing.assert_array_equal(votes.counts()[0], [0, 2, 1, 2])
    votes = build_votes(_table(), CLASSES, rater_types=["crowd"], condition="voice")
    np.testing.assert_array_equal(votes.counts()[0], [0, 0, 1, 0])
    votes = build_votes(_table(), CLASSES, rater_types=["crowd"], condition=["voice", "face"])
    np.testing.assert_array_equal(votes.counts()[0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="unknown rater types"):
        build_votes(_table(), CLASSES, rater_types=["expert"])


def test_rater_counts_and_ratings_per_rater():
    votes = build_votes(_table(), CLASSES)
    assert votes.ratings_per_rater() == {"c1": 1, "e1": 1, "e2": 1}
    assert votes.ratings_per_rater(True) == {"c1": 1, "e1": 2, "e2": 1}
    counts = votes.rater_counts(["c1", "e1"])
    np.testing.assert_array_equal(counts[0], [[0, 0, 1, 1], [0, 1, 0, 0]])


def test_unknown_category_raises_naming_the_rating():
    table = make_table([rating("u1", "e1", "happy")], validate=False)
    table.ratings.loc[0, "primary"] = "joy"
    with pytest.raises(ValueError, match=r"ratings\[u1, e1\]: primary 'joy'"):
        build_votes(table, CLASSES)
    table = make_table([rating("u1", "e1", "happy", ["glee"])], validate=False)
    with pytest.raises(ValueError, match=r"ratings\[u1, e1\]: secondary \['glee'\]"):
        build_votes(table, CLASSES)


def test_rating_of_unknown_utterance_raises():
    table = make_table([rating("u1", "e1", "happy"), rating("u9", "e1", "sad")],
                       utt_ids=["u1"], validate=False)
    with pytest.raises(ValueError, match=r"ratings\[u9, e1\]"):
        build_votes(table, CLASSES)


def test_duplicate_utterances_raise():
    table = make_table([rating("u1", "e1", "happy")], utt_ids=["u1", "u1"], validate=False)
    with pytest.raises(ValueError, match=r"utterances\[u1\]: duplicate"):
        derive(table, {"views": [{"name": "h", "kind": "hard"}]})


def test_class_list_checks():
    with pytest.raises(ValueError, match="duplicates"):
        build_votes(_table(), ["sad", "sad"])
    with pytest.raises(ValueError, match="empty"):
        build_votes(_table(), [])


def test_empty_ratings_table():
    table = schema.build_table(
        schema.TableMeta(corpus="unit", categories=CLASSES),
        [schema.Utterance("u1", "unit", "u1.wav", 1.0, "unit:s1")])
    votes = build_votes(table, CLASSES, get_mapping(None))
    np.testing.assert_array_equal(votes.counts(), [[0, 0, 0, 0]])
    labels = derive(table, {"views": [{"name": "h", "kind": "hard"},
                                      {"name": "s", "kind": "soft"}]})
    assert labels["h"].status.tolist() == ["no_votes"]
    assert not labels["s"].mask[0]
