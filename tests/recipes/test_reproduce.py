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
import yaml

from tfser import data
from tfser.config.errors import UserError
from tfser.recipes import runner
from tfser.recipes import spec as spec_lib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def _recipe_002_one_fold(tmp_path, min_labels):
    """Recipe 002 as shipped, on one fold (the official split instead of five LOSO
    folds), without the grid sweep (tested with 000), E_n for raters with
    ``min_labels`` labels: a smoke run of its rows in about two minutes."""
    featurize = yaml.safe_load(open(os.path.join(REPO, "configs", "featurize",
                                                 "synthetic_002_recipe.yaml"),
                                    encoding="utf-8"))
    featurize["split"] = {"protocol": "official", "params": {}}
    featurize_path = tmp_path / "synthetic_002_one_fold.yaml"
    featurize_path.write_text(yaml.safe_dump(featurize), encoding="utf-8")
    recipe = yaml.safe_load(open(spec_lib.recipe_path("002"), encoding="utf-8"))
    recipe["featurize"]["synthetic"] = str(featurize_path)
    for row in recipe["rows"]:
        row.pop("sweep", None)
        if "each_rater" in row:
            row["each_rater"]["min_labels"] = min_labels
    path = tmp_path / "002.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return str(path)


def test_recipe_002_smoke_fuses_crowd_and_individual_models(tmp_path, data_002):
    info = data.load_info(data_002)  # the same small corpus the recipe generates
    counts = sorted(data.label_summary(info, data.slice_head("rater", r))["labelled"]
                    for r in info.label_specs.raters("rater"))
    min_labels = counts[-2]  # the two raters with the most labels get a model
    out = str(tmp_path / "002")
    results = runner.reproduce(_recipe_002_one_fold(tmp_path, min_labels), out, smoke=True,
                               workers=1, rows=["proposed"])
    rows = {row["name"]: row for row in results["rows"]}
    individual = [name for name in rows if name.startswith("individual/")]
    assert list(rows) == ["crowd_h", "crowd_s", *individual, "proposed"]
    assert len(individual) == 2 and len(results["skipped"]) == len(counts) - 2
    assert results["reference"] == "emotion"
    for name in individual:
        row = rows[name]
        assert row["head"] == data.slice_head("rater", row["rater"]) and row["group"] == \
            "individual"
        assert row["labels"] >= min_labels
        assert os.path.isdir(os.path.join(out, "runs", name))
        # Scored against the consensus (hard) test label like every other row.
        with open(os.path.join(row["eval_dir"], "metrics.json"), encoding="utf-8") as handle:
            metrics = json.load(handle)
        assert "vs_emotion" in metrics["heads"][row["head"]]["pooled"]
        assert row["n"] == rows["crowd_h"]["n"] > 0
    # The proposed model restores every component's trunk, frozen, under one softmax.
    params = yaml.safe_load(open(glob.glob(os.path.join(
        out, "runs", "proposed", "folds", "*", "params.yaml"))[0], encoding="utf-8"))
    fused = params["model"]["trunk"]["fuse"]
    assert len(fused) == 4 and params["model"]["trunk"]["freeze"] is True
    assert params["model"]["trunk"]["precompute"] is True  # the components run once
    assert fused[2:] == [os.path.join(out, "runs", name) for name in individual]
    table3, table1 = results["tables"][0], results["tables"][1]
    assert [r["name"] for r in table3["rows"]] == ["crowd_h", "crowd_s", *individual,
                                                   "proposed"]
    assert {"Overall", "neutral", "angry", "happy", "sad"} <= set(table3["rows"][0]["values"])
    assert table3["rows"][-1]["published"]["Overall"] == pytest.approx(0.6148)
    # Table 1: each component's labelled utterances and class distribution.
    by_name = {r["name"]: r for r in table1["rows"]}
    assert by_name["crowd_h"]["values"]["utterances"] == \
        data.label_summary(info, "emotion")["labelled"]
    assert by_name[individual[0]]["values"]["utterances"] == rows[individual[0]]["labels"]
    assert sum(by_name["crowd_s"]["values"][c] for c in ("neutral", "angry", "happy",
                                                         "sad")) == pytest.approx(1.0)
    with open(os.path.join(out, "results.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert "| individual/" in text and "no model for rater" in text


def _recipe_003_subset(path):
    """configs/recipes/003.yaml cut to two networks, their SVR late fusion, one
    multistage row and mtl_auto (the machinery of every 003 row kind but the sweeps, in
    ~1 min)."""
    import yaml  # pylint: disable=import-outside-toplevel
    with open(spec_lib.recipe_path("003"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    keep = ["unimodal/au", "unimodal/mfcc", "late_svr", "multistage_1", "mtl_auto"]
    data["rows"] = [r for r in data["rows"] if r["name"] in keep]
    for row in data["rows"]:
        if "sklearn" in row:
            row["sklearn"] = {**row["sklearn"], "rows": keep[:2], "best": 2}
    data["tables"] = [{**data["tables"][1], "rows": keep[:4]}]
    data["figures"] = [{**data["figures"][0], "rows": keep[2:4], "x": [1, 2]}]
    data["published"] = {k: v for k, v in data["published"].items() if k in keep}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    return str(path)


def test_recipe_003_smoke_stacks_svr_on_development_predictions(tmp_path):
    recipe = _recipe_003_subset(tmp_path / "003_subset.yaml")
    out = str(tmp_path / "003")
    results = runner.reproduce(recipe, out, smoke=True, workers=1)
    rows = {r["name"]: r for r in results["rows"]}
    assert list(rows) == ["mtl_auto", "unimodal/au", "unimodal/mfcc", "late_svr",
                          "multistage_1"]
    for name, row in rows.items():
        assert row["head"] == "traces" and row["n"] == 2   # the two test recordings
        assert set(row["metrics"]["ccc"]) == {"arousal", "valence", "liking"}
        assert "per_recording_mean_ccc" in row["metrics"]
    assert rows["late_svr"]["experiment"] == "sklearn:svr"
    assert rows["multistage_1"]["experiment"] == "sklearn:svr x2"
    # The SVR was fitted on the networks' development predictions, written beside their
    # test evaluations, and scored on the same test recordings.
    for name in ("unimodal/au", "unimodal/mfcc"):
        assert os.path.isfile(os.path.join(out, "runs", name, "eval_dev", "metrics.json"))
    with open(os.path.join(out, "runs", "late_svr", "eval", "metrics.json"),
              encoding="utf-8") as handle:
        stacked = json.load(handle)
    assert stacked["run"]["fitted_on"] == "dev"
    assert sorted(stacked["run"]["inputs"]) == ["unimodal/au", "unimodal/mfcc"]
    assert stacked["heads"]["traces"]["pooled"]["num_frames"] == \
        rows["unimodal/au"]["metrics"]["num_frames"]
    (table,) = results["tables"]
    assert [c["heading"] for c in table["columns"]] == ["arousal", "valence", "liking",
                                                        "Average"]
    assert table["rows"][0]["published"]["arousal"] == pytest.approx(0.522)
    assert os.path.isfile(os.path.join(out, "fig3_stages.png"))
    text = open(os.path.join(out, "results.md"), encoding="utf-8").read()
    assert "fig3_stages.png" in text and "| late_svr" in text
    # mtl_auto learns alpha, beta, gamma: one weight per attribute, reported per fold.
    terms = ["traces/arousal", "traces/valence", "traces/liking"]
    assert "learned_weights" not in rows["unimodal/au"]
    (learned,) = rows["mtl_auto"]["learned_weights"].values()
    assert sorted(learned) == sorted(terms) and all(w > 0 for w in learned.values())
    assert "### Learned loss weights" in text
    assert "| row | fold | " + " | ".join(terms) + " |" in text
    assert "| mtl_auto | " in text


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
