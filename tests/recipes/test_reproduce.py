"""tfser-reproduce --smoke: every row of a recipe runs end to end in seconds each.

The run writes the contract files (results.json, results.md, runs/<row>/, the sweep
figure); a rerun trains nothing again.
"""

import dataclasses
import glob
import json
import os

import numpy as np
import pytest

from tfser.config.errors import UserError
from tfser.recipes import runner
from tfser.recipes import spec as spec_lib


@pytest.fixture(scope="module")
def smoke_000(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("reproduce") / "000")
    results = runner.reproduce("000", out, smoke=True, workers=1)
    return out, results


def test_results_follow_the_contract(smoke_000):
    out, results = smoke_000
    with open(os.path.join(out, "results.json"), encoding="utf-8") as handle:
        stored = json.load(handle)
    assert stored["recipe"] == "000" and stored["corpus"] == "synthetic"
    assert stored["protocol"] == "official" and stored["folds"] == ["official"]
    assert stored["command"] == f"tfser-reproduce --recipe=000 --out={out} --smoke"
    assert [r["name"] for r in stored["rows"]] == ["hard_pe", "soft_pe", "hard_se", "mtl",
                                                   "mtl_auto"]
    assert stored["selected"] is None
    for row in stored["rows"]:
        assert {"name", "head", "metrics", "n", "per_fold"} <= set(row)
        assert row["n"] > 0 and len(row["per_fold"]) == 1
        assert os.path.isdir(os.path.join(out, "runs", row["name"]))
    primary = {r["name"]: r for r in stored["rows"]}
    assert {"ua", "wa", "f1", "mean_precision"} <= set(primary["hard_pe"]["metrics"])
    assert "multilabel_accuracy" in primary["hard_se"]["metrics"]
    # Under --smoke the alpha sweep keeps its first and last point, chosen on dev.
    sweep = primary["mtl"]["sweep"]
    assert [p["value"] for p in sweep["points"]] == [0.0, 1.0]
    assert sweep["part"] == "dev" and sweep["chosen"] in (0.0, 1.0)
    assert os.path.isfile(os.path.join(out, "alpha_sweep.png"))
    assert stored["human"]["n"] > 0
    titles = [t["title"] for t in stored["tables"]]
    assert len(titles) == 3 and titles[0].startswith("Table 1")
    table1 = stored["tables"][0]
    assert [r["name"] for r in table1["rows"]] == ["hard_pe", "soft_pe", "mtl", "mtl_auto",
                                                   "human"]
    assert table1["rows"][0]["published"]["F1"] == pytest.approx(0.240)
    text = open(os.path.join(out, "results.md"), encoding="utf-8").read()
    assert text.startswith("# Recipe 000") and f"`{stored['command']}`" in text
    assert "| hard_pe" in text and "(24.0)" in text


def test_rerun_trains_nothing(smoke_000):
    out, _ = smoke_000
    checkpoints = sorted(glob.glob(os.path.join(out, "runs", "**", "*.keras"), recursive=True))
    assert checkpoints
    before = {path: os.path.getmtime(path) for path in checkpoints}
    runner.reproduce("000", out, smoke=True, workers=1, rows=["hard_pe"])
    assert {path: os.path.getmtime(path) for path in checkpoints} == before


def test_missing_views_are_named(smoke_000):
    out, _ = smoke_000
    data_dir = os.path.join(out, "features", "synthetic_000_recipe")
    recipe = dataclasses.replace(spec_lib.load_recipe("000"),
                                 requires_views=("emotion", "speaker"))
    with pytest.raises(UserError, match=r"needs the label view\(s\) \['speaker'\]"):
        runner.check_views(data_dir, recipe)


def test_unknown_rows_are_refused(smoke_000):
    out, _ = smoke_000
    with pytest.raises(UserError, match=r"no row\(s\) \['nope'\]"):
        runner.reproduce("000", out, smoke=True, rows=["nope"])


def test_another_corpus_seed_in_the_same_out_is_refused(smoke_000):
    out, _ = smoke_000
    with pytest.raises(UserError, match="holds a synthetic corpus made with"):
        runner.reproduce("000", out, smoke=True, seed=3)


def test_recipe_004_smoke_runs_both_splits(tmp_path):
    out = str(tmp_path / "004")
    results = runner.reproduce("004", out, smoke=True, workers=1)
    rows = {row["name"]: row for row in results["rows"]}
    assert list(rows) == ["stl", "mtl", "speaker_stl", "speaker_mtl"]
    assert rows["stl"]["head"] == "emotion" and rows["speaker_mtl"]["head"] == "speaker"
    assert rows["stl"]["data_dir"].endswith("synthetic_004_recipe")
    assert rows["speaker_stl"]["data_dir"].endswith("synthetic_004_speaker_id")
    # The paper scores the final model of its fixed schedule.
    with open(os.path.join(rows["mtl"]["eval_dir"], "metrics.json"), encoding="utf-8") as handle:
        assert json.load(handle)["run"]["checkpoint"] == "last"
    # The synthetic-corpus overrides (a narrower VGG-M) are recorded per row.
    assert any(o.startswith("model.trunk.params=") for o in rows["mtl"]["overrides"])
    table3 = results["tables"][0]
    assert [r["name"] for r in table3["rows"]] == ["stl", "mtl"]
    assert table3["gain_of"] == ["stl", "mtl"] and "TOTAL" in table3["gain"]
    assert table3["rows"][0]["published"]["TOTAL"] == pytest.approx(0.445)
    with open(os.path.join(out, "results.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert "relative gain of mtl over stl" in text and "Speaker identification" in text


@pytest.fixture(scope="module")
def smoke_001(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("reproduce") / "001")
    return out, runner.reproduce("001", out, smoke=True, workers=1)


def test_recipe_001_smoke_scores_every_row_on_the_same_test_utterances(smoke_001):
    out, results = smoke_001
    rows = {row["name"]: row for row in results["rows"]}
    assert len(rows) == 14 and results["reference"] == "emotion"
    assert rows["mlee_only/all"]["head"] == "emotion_exists"
    # Training set "dominant" is featurized without the utterances lacking a dominant
    # target emotion; "all" keeps them (hard label masked).
    assert rows["baseline/soft/dominant"]["data_dir"].endswith(
        "synthetic_001_recipe+select.labelled_by=emotion")
    assert rows["baseline/soft/all"]["data_dir"].endswith("synthetic_001_recipe")
    # Hard, soft and MLEE-only rows: the same test utterances against the hard label.
    assert len({row["n"] for row in rows.values()}) == 1 and rows["mlee_only/all"]["n"] > 0
    # Two-stage rows name the run directory of the row they build on.
    assert f"model.trunk.init_from={os.path.join(out, 'runs', 'mlee_only', 'all')}" in \
        rows["mlee_pretrain/hard/all"]["overrides"]
    # The synthetic-corpus narrowing applies to new encoders only.
    assert any(o.startswith("model.trunk.params=") for o in rows["mlee_only/all"]["overrides"])
    assert not any(o.startswith("model.trunk.params=")
                   for o in rows["mlee_fusion/soft/all"]["overrides"])
    tables = results["tables"]
    assert [t["rows"][0]["name"] for t in tables] == ["baseline/hard/dominant",
                                                      "baseline/hard/all"]
    assert tables[1]["rows"][-1]["published"]["UA"] == pytest.approx(0.654)
    assert results["figures"]["attention"] == "attention.png"
    assert os.path.getsize(os.path.join(out, "attention.png")) > 0
    with open(os.path.join(out, "results.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert "![attention](attention.png)" in text and "| mlee_fusion/soft/all" in text


def _fold_trunks(run_dir):
    """The trunk models of a (one-fold) cross-validation's best checkpoint."""
    import keras
    from tfser.training import run_dir as run_dir_lib
    fold_dir = glob.glob(os.path.join(run_dir, "folds", "*"))[0]
    model = keras.saving.load_model(run_dir_lib.checkpoint_path(fold_dir, "best"),
                                    compile=False)
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


@pytest.mark.parametrize("row, sources", [
    ("mlee_pretrain/soft/dominant", ["mlee_only/dominant"]),
    ("mlee_fusion/hard/all", ["mlee_only/all", "baseline/hard/all"])])
def test_recipe_001_two_stage_rows_keep_the_frozen_trunks_they_restore(smoke_001, row,
                                                                        sources):
    out, _ = smoke_001
    trained = _fold_trunks(os.path.join(out, "runs", row))
    assert len(trained) == len(sources)
    for trunk, source in zip(trained, sources):
        (original,) = _fold_trunks(os.path.join(out, "runs", source))
        assert len(trunk.weights) == len(original.weights) > 0
        for got, want in zip(trunk.get_weights(), original.get_weights()):
            np.testing.assert_array_equal(got, want)
