"""evaluate_run --reference end to end: a hard + soft + existence model and an MLEE-only
model (no head for the reference) scored on the same utterances against the hard
label of the session's featurized data (data_001: emotion, emotion_soft,
emotion_exists)."""

import os

import pytest

from tfser import evaluation
from tfser import training
from tfser.evaluation import compare
from tfser.evaluation import report


@pytest.fixture(scope="module")
def mlee_evaluation(cv_run, tmp_path_factory):
    """An MLEE-only model (one existence head) on fold 0, evaluated against emotion."""
    _, data_dir = cv_run
    model_dir = str(tmp_path_factory.mktemp("mlee_only") / "cv")
    training.train_folds("000_hard_pe", model_dir,
                         overrides=("model.heads=[{name: emotion_exists}]",
                                    "class_weighting={}"),
                         data_dir=data_dir, folds=[0], smoke=True)
    out_dir = str(tmp_path_factory.mktemp("mlee_eval") / "eval")
    return out_dir, evaluation.evaluate_run(model_dir, out_dir, reference="emotion",
                                            verbose=False)


@pytest.fixture(scope="module")
def reference_evaluation(cv_run, tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp("ref_eval") / "eval")
    return out_dir, evaluation.evaluate_run(cv_run[0], out_dir, reference="emotion",
                                            verbose=False)


def test_every_decision_head_is_scored_on_the_hard_heads_rows(reference_evaluation,
                                                              cv_evaluation):
    out_dir, metrics = reference_evaluation
    assert metrics["reference"] == "emotion"
    assert metrics["reference_layout"]["kind"] == "hard"
    assert "--reference=emotion" in metrics["command"]
    heads = metrics["heads"]
    hard = heads["emotion"]["pooled"]
    # The hard head against itself is its own report; soft and existence heads are
    # scored on exactly its rows.
    assert heads["emotion"]["pooled"]["vs_emotion"] == {
        k: v for k, v in hard.items() if k != "vs_emotion"}
    for head in ("emotion_soft", "emotion_exists"):
        block = heads[head]["pooled"]["vs_emotion"]
        assert block["num_samples"] == hard["num_samples"]
        assert block["classes"] == hard["classes"]
        for fold, scope in heads[head]["per_fold"].items():
            assert scope["vs_emotion"]["num_samples"] == \
                heads["emotion"]["per_fold"][fold]["num_samples"]
    # The model has an emotion head: the table gains no column, and the default
    # evaluation's figures are untouched.
    plain_dir, plain = cv_evaluation
    assert list(report.read_predictions(out_dir).columns) == \
        list(report.read_predictions(plain_dir).columns)
    for head, entry in plain["heads"].items():
        assert {k: v for k, v in heads[head]["pooled"].items() if k != "vs_emotion"} == \
            entry["pooled"]
    text = open(os.path.join(out_dir, report.REPORT_FILE), encoding="utf-8").read()
    assert "vs emotion WA" in text


def test_mlee_only_model_gets_wa_and_ua_against_the_hard_label(mlee_evaluation,
                                                               reference_evaluation):
    out_dir, metrics = mlee_evaluation
    assert list(metrics["heads"]) == ["emotion_exists"]
    frame = report.read_predictions(out_dir)
    # The reference's targets come from the data, though the model has no such head.
    assert {"emotion/target", "emotion/labelled"} <= set(frame.columns)
    assert "emotion/pred" not in frame.columns
    block = metrics["heads"]["emotion_exists"]["pooled"]["vs_emotion"]
    assert block["num_samples"] == int(frame["emotion/labelled"].sum()) > 0
    assert 0 <= block["wa"] <= 1 and 0 <= block["ua"] <= 1
    # The same utterances and labels as the three-head model's fold.
    fold = metrics["folds"][0]
    both = report.read_predictions(reference_evaluation[0])
    both = both[both["fold"] == fold]
    assert list(frame["utt_id"]) == list(both["utt_id"])
    assert list(frame["emotion/labelled"]) == list(both["emotion/labelled"])
    assert frame["emotion/target"].dropna().tolist() == both["emotion/target"].dropna().tolist()

    result = compare.compare([reference_evaluation[0], out_dir], reference="emotion",
                             names=["three_heads", "mlee_only"])
    assert [r["head"] for r in result["rows"]] == ["emotion", "emotion_exists"]
    assert result["pairs"][0]["mcnemar"]["n"] == block["num_samples"]


def test_a_reference_must_be_a_hard_view(cv_run, tmp_path):
    with pytest.raises(ValueError, match="reference 'emotion_soft' .* is a soft view; a "
                                         "reference must be of kind hard"):
        evaluation.evaluate_run(cv_run[0], str(tmp_path / "out"), reference="emotion_soft",
                                verbose=False)
    with pytest.raises(ValueError, match=r"heads \['arousal'\] are not label views"):
        evaluation.evaluate_run(cv_run[0], str(tmp_path / "out"), reference="arousal",
                                verbose=False)

