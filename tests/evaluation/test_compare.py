"""tfser.evaluation.compare: rows from evaluation directories, and every pair's tests."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from tfser.config.errors import UserError
from tfser.evaluation import compare
from tfser.evaluation import report as report_lib
from tfser.evaluation.columns import HeadLayout
from tfser.metrics import classification

CLASSES = ("angry", "happy", "sad")
LAYOUT = HeadLayout(head="emotion", kind="hard", classes=CLASSES)


def _write_eval(root, name, targets, preds, folds, experiment=None):
    """An evaluation directory as tfser-evaluate writes it, for one categorical head."""
    out = os.path.join(root, name)
    os.makedirs(out)
    frame = pd.DataFrame({"utt_id": [f"u{i}" for i in range(len(targets))],
                          "speaker_id": "s", "fold": folds, "part": "test",
                          LAYOUT.pred_column(): preds, LAYOUT.target_column(): targets,
                          LAYOUT.labelled_column(): True,
                          **{column: [float(p == c) for p in preds]
                             for column, c in zip(LAYOUT.output_columns(), CLASSES)}})
    report_lib.write_predictions(frame, out)

    def scores(t, p):
        return {"num_samples": len(t), "wa": float(np.mean(np.array(t) == np.array(p))),
                "ua": classification.unweighted_accuracy(t, p, classes=CLASSES),
                "f1": 0.5, "macro_f1": 0.5}

    per_fold = {f: scores([t for t, g in zip(targets, folds) if g == f],
                          [p for p, g in zip(preds, folds) if g == f]) for f in sorted(set(folds))}
    metrics = {"run": {"experiment": experiment}, "layouts": {"emotion": LAYOUT.to_dict()},
               "heads": {"emotion": {"family": "categorical", "pooled": scores(targets, preds),
                                     "per_fold": per_fold}}}
    with open(os.path.join(out, report_lib.METRICS_FILE), "w", encoding="utf-8") as handle:
        json.dump(metrics, handle)
    return out


@pytest.fixture()
def two_evals(tmp_path):
    rng = np.random.default_rng(0)
    targets = list(rng.choice(CLASSES, size=60))
    folds = ["f0"] * 20 + ["f1"] * 20 + ["f2"] * 20
    good = [t if i % 10 else "sad" for i, t in enumerate(targets)]      # 90 % right
    weak = [t if i % 2 else "angry" for i, t in enumerate(targets)]     # ~60 % right
    return (_write_eval(tmp_path, "good", targets, good, folds, "model_good"),
            _write_eval(tmp_path, "weak", targets, weak, folds, "model_weak"))


def test_rows_and_pairs(two_evals, tmp_path):
    out = str(tmp_path / "cmp")
    result = compare.compare(list(two_evals), out_dir=out)
    assert [r["name"] for r in result["rows"]] == ["model_good", "model_weak"]
    assert result["head"] == "emotion"
    assert result["rows"][0]["n"] == 60 and len(result["rows"][0]["folds"]) == 3
    good_vs_weak = result["pairs"][0]
    assert (good_vs_weak["a"], good_vs_weak["b"]) == ("model_good", "model_weak")
    # Every utterance is shared; 'good' alone is right on more of the discordant ones.
    assert good_vs_weak["mcnemar"]["n"] == 60
    assert good_vs_weak["mcnemar"]["significant"]
    assert good_vs_weak["ztest_wa"]["significant"]
    assert good_vs_weak["paired_folds_ua"]["n"] == 3
    weak_vs_good = result["pairs"][1]
    assert not weak_vs_good["mcnemar"]["significant"]
    assert weak_vs_good["mcnemar"]["p_value"] > 0.5
    with open(os.path.join(out, compare.COMPARISON_JSON), encoding="utf-8") as handle:
        assert json.load(handle)["rows"][1]["name"] == "model_weak"
    text = open(os.path.join(out, compare.COMPARISON_MD), encoding="utf-8").read()
    assert text.startswith("Reproduce: `tfser-compare ")
    assert "| model_good * | model_weak |" in text


def test_a_run_directory_finds_its_eval_folder(two_evals, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    os.rename(two_evals[0], run / "eval")
    assert compare.find_eval_dir(str(run)) == str(run / "eval")


def test_user_errors(two_evals, tmp_path):
    with pytest.raises(UserError, match="at least two"):
        compare.compare([two_evals[0]])
    with pytest.raises(UserError, match="no metrics.json"):
        compare.compare([two_evals[0], str(tmp_path)])
    with pytest.raises(UserError, match="no head 'speaker'"):
        compare.compare(list(two_evals), head="speaker")
    with pytest.raises(UserError, match="1 names given for 2"):
        compare.compare(list(two_evals), names=["x"])


def test_duplicate_names_are_numbered(two_evals):
    result = compare.compare(list(two_evals), names=["m", "m"])
    assert [r["name"] for r in result["rows"]] == ["m", "m (2)"]
