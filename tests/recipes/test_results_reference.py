"""Recipes with a reference hard label: rows scored by their vs_<reference> blocks."""

import json
import os
import shutil

import pytest
import yaml

from tfser import evaluation
from tfser.recipes import results as results_lib
from tfser.recipes import runner
from tfser.recipes import spec as spec_lib

from tests.evaluation.test_reference import EXISTS, SOFT, _write_eval


def _outcome(eval_dir, name, head):
    with open(os.path.join(eval_dir, "metrics.json"), encoding="utf-8") as handle:
        metrics = json.load(handle)
    return {"name": name, "head": head, "experiment": name, "metrics": metrics,
            "eval_dir": eval_dir, "seconds": 1.0, "data_dir": "-", "overrides": []}


@pytest.fixture()
def outcomes(tmp_path):
    soft = _write_eval(str(tmp_path), "soft", {"emotion_soft": SOFT})
    mlee = _write_eval(str(tmp_path), "mlee_only", {"emotion_exists": EXISTS})
    return {"soft": _outcome(soft, "soft", "emotion_soft"),
            "mlee_only": _outcome(mlee, "mlee_only", "emotion_exists")}


def test_rows_are_scored_against_the_reference(outcomes):
    soft = results_lib.row_result(outcomes["soft"], reference="emotion")
    # The hand-computed figures of tests/evaluation/test_reference.py.
    assert (soft["n"], soft["metrics"]["wa"]) == (4, 0.75)
    assert soft["metrics"]["ua"] == pytest.approx(2 / 3)
    assert "soft_kl_divergence" in soft["metrics"]     # the distribution figures stay
    assert [(f["fold"], f["num_samples"]) for f in soft["per_fold"]] == [("f0", 2), ("f1", 2)]
    mlee = results_lib.row_result(outcomes["mlee_only"], reference="emotion")
    assert (mlee["n"], mlee["metrics"]["wa"]) == (4, 0.5)
    # Without the reference a soft row keeps its argmax figures (its own targets).
    assert results_lib.row_result(outcomes["soft"])["metrics"]["wa"] == 0.0


def test_a_table_marks_rows_compared_against_the_reference(outcomes, tmp_path):
    table = spec_lib.TableSpec.from_dict(
        {"title": "Table 3", "rows": ["soft", "mlee_only"], "marks": "mlee_only",
         "columns": [{"label": "WA", "metric": "wa"}, {"label": "UA", "metric": "ua"}]},
        "t", ["soft", "mlee_only"])
    rows = {name: results_lib.row_result(o, "emotion") for name, o in outcomes.items()}
    built = results_lib.build_table(table, rows, outcomes, None, {}, str(tmp_path / "out"),
                                    0, reference="emotion")
    values = {r["name"]: r["values"] for r in built["rows"]}
    assert values["soft"]["WA"] == 0.75 and values["mlee_only"]["WA"] == 0.5
    assert [r["n"] for r in built["rows"]] == [4, 4]
    comparison = tmp_path / "out" / built["comparison"] / "comparison.json"
    assert "--reference=emotion" in comparison.read_text(encoding="utf-8")


def test_a_recipe_names_its_reference(tmp_path):
    base = {"name": "x", "featurize": {"synthetic": "configs/featurize/synthetic_001.yaml"},
            "rows": [{"name": "a", "experiment": "000_hard_pe"}]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({**base, "reference": "emotion"}), encoding="utf-8")
    assert spec_lib.load_recipe(str(path)).reference == "emotion"
    path.write_text(yaml.safe_dump(base), encoding="utf-8")
    assert spec_lib.load_recipe(str(path)).reference is None
    path.write_text(yaml.safe_dump({**base, "reference": ["emotion"]}), encoding="utf-8")
    with pytest.raises(spec_lib.RecipeError, match="reference: must be the name of a hard"):
        spec_lib.load_recipe(str(path))


def test_a_row_is_evaluated_against_the_reference(cv_run, tmp_path):
    run_dir = evaluation.evaluate.find_runs(cv_run[0])[1][0]
    copy = str(tmp_path / "run")
    shutil.copytree(run_dir, copy)
    metrics = runner.evaluation_of(copy, "test", reference="emotion")
    assert metrics["command"].endswith("--part=test --reference=emotion")
    assert metrics["heads"]["emotion_exists"]["pooled"]["vs_emotion"]["num_samples"] == \
        metrics["heads"]["emotion"]["pooled"]["num_samples"]


def _pairs_markdown(heads, reference):
    pair = {"a": "x", "b": "y", "ztest_wa": {"z": 1.0, "p_value": 0.2},
            "mcnemar": {"p_value": 0.3, "n": 10}}
    results = {"recipe": "r", "title": "t", "command": "c", "corpus": "synthetic",
               "protocol": "p", "folds": ["f0"], "protocol_folds": 1, "seconds": 1.0,
               "reference": reference, "tables": [], "figures": {}, "notes": None,
               "rows": [{"name": n, "head": h, "metrics": {"wa": 0.5}, "seconds": 1.0,
                         "experiment": n, "runs": 1, "overrides": [], "eval_dir": "e"}
                        for n, h in zip("xy", heads)],
               "comparisons": {"head": ",".join(heads), "pairs": [pair]}}
    return results_lib.to_markdown(results)


def test_the_pairwise_heading_names_each_head_once():
    assert "### Pairwise tests (head `emotion`)" in _pairs_markdown(
        ["emotion", "emotion"], None)
    assert "### Pairwise tests (heads `emotion`, `emotion_soft`)" in _pairs_markdown(
        ["emotion", "emotion_soft"], None)
    assert "### Pairwise tests (every row against `emotion`)" in _pairs_markdown(
        ["emotion", "emotion_soft"], "emotion")
