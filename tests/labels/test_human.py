"""Leave-one-rater-out human performance on a table whose answer is worked by hand."""

from fractions import Fraction

import pytest

from tfser import annotations
from tfser.labels import human

CLASSES = ["angry", "happy", "sad"]
VOTES = {
    "u1": {"A": "angry", "B": "angry", "C": "angry", "D": "happy"},
    "u2": {"A": "happy", "B": "sad", "C": "happy"},
    "u3": {"A": "sad", "B": "sad"},                       # too few ratings
    "u4": {"A": "angry", "B": "happy", "C": "sad"},       # every hold-out leaves a tie
    "u5": {"A": "sad", "B": "sad", "C": "sad"},
    "u6": {"A": "happy", "B": "happy", "C": "happy", "D": "angry"},
}


def _table(extra=()):
    meta = annotations.TableMeta(corpus="toy", categories=CLASSES + ["other"])
    utts = [annotations.Utterance(u, "toy", f"{u}.wav", 1.0, "toy:S1") for u in VOTES]
    ratings = [annotations.Rating(u, f"toy:{r}", primary=c)
               for u, by_rater in VOTES.items() for r, c in by_rater.items()]
    return annotations.build_table(meta, utts, ratings + list(extra))


def test_each_rater_in_turn_by_hand():
    result = human.human_performance(_table(), CLASSES, mode="each")
    # Scored (consensus, held-out) pairs:
    #   u1: (angry, angry) x3, (angry, happy);  u2: hold B -> (happy, sad), A/C tie;
    #   u5: (sad, sad) x3;  u6: (happy, happy) x3, (happy, angry);  u4: 3 ties.
    assert result.num_comparisons == 12
    assert result.skipped == {"tie": 5}
    assert (result.num_eligible, result.num_too_few, result.num_utterances) == (5, 1, 4)
    assert result.wa == pytest.approx(9 / 12)
    ua = (Fraction(3, 4) + Fraction(3, 5) + 1) / 3  # recall angry, happy, sad
    precision = Fraction(3, 4)                       # each class predicted 4x, 3 right
    assert result.ua == result.mean_recall == pytest.approx(float(ua))
    assert result.mean_precision == pytest.approx(float(precision))
    assert result.f1 == pytest.approx(float(2 * precision * ua / (precision + ua)))
    assert result.f1 == pytest.approx(141 / 184)
    assert result.to_dict()["num_skipped"] == 5


def test_tie_policy_and_min_ratings():
    broken = human.human_performance(_table(), CLASSES, mode="each", tie_policy="priority",
                                     priority=["sad", "happy", "angry"])
    assert broken.skipped == {} and broken.num_comparisons == 17
    two = human.human_performance(_table(), CLASSES, mode="each", min_ratings=2)
    # u3 joins: each hold-out leaves one "sad" vote -> two correct comparisons.
    assert two.num_comparisons == 14 and two.num_too_few == 0
    with pytest.raises(ValueError, match="min_ratings must be an integer >= 2"):
        human.human_performance(_table(), CLASSES, min_ratings=1)
    with pytest.raises(ValueError, match="no utterance has at least 5 judgements"):
        human.human_performance(_table(), CLASSES, min_ratings=5)


def test_random_hold_out_is_seeded_and_excluded_votes_do_not_count():
    first = human.human_performance(_table(), CLASSES, mode="random", seed=11)
    again = human.human_performance(_table(), CLASSES, mode="random", seed=11)
    assert first == again
    assert first.num_eligible == 5
    assert first.num_comparisons + first.num_skipped == 5  # one hold-out per utterance
    # "other" is outside the class list: u3's third rating does not make it eligible,
    # and the self-assessment is not an observer rating.
    extra = [annotations.Rating("u3", "toy:E", primary="other"),
             annotations.Rating("u3", "toy:actor", rater_type="self", primary="sad")]
    assert human.human_performance(_table(extra), CLASSES, mode="each").num_too_few == 1


def test_rater_judging_twice_is_refused():
    extra = [annotations.Rating("u1", "toy:A", primary="happy", condition="face")]
    with pytest.raises(ValueError, match="toy:A gave utterance u1 several different"):
        human.human_performance(_table(extra), CLASSES)
    with pytest.raises(ValueError, match=r"utterance u1: rater\(s\) \['A'\] judged it more"):
        human.leave_one_rater_out(["u1", "u1", "u1"], ["A", "A", "B"], [0, 0, 1], CLASSES)
