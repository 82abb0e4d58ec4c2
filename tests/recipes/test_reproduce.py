"""tfser-reproduce --smoke: every row of a recipe runs end to end in seconds each.

The run writes the contract files (results.json, results.md, runs/<row>/, the sweep
figure); a rerun trains nothing again.
"""

import dataclasses
import glob
import json
import os

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
    """configs/recipes/003.yaml cut to two networks, their SVR late fusion and one
    multistage row (the machinery of every 003 row kind but the sweeps, in ~1 min)."""
    import yaml  # pylint: disable=import-outside-toplevel
    with open(spec_lib.recipe_path("003"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    keep = ["unimodal/au", "unimodal/egemaps", "late_svr", "multistage_1"]
    data["rows"] = [r for r in data["rows"] if r["name"] in keep]
    for row in data["rows"]:
        if "sklearn" in row:
            row["sklearn"] = {**row["sklearn"], "rows": keep[:2], "best": 2}
    data["tables"] = [{**data["tables"][1], "rows": keep}]
    data["figures"] = [{**data["figures"][0], "rows": keep[2:], "x": [1, 2]}]
    data["published"] = {k: v for k, v in data["published"].items() if k in keep}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    return str(path)


def test_recipe_003_smoke_stacks_svr_on_development_predictions(tmp_path):
    recipe = _recipe_003_subset(tmp_path / "003_subset.yaml")
    out = str(tmp_path / "003")
    results = runner.reproduce(recipe, out, smoke=True, workers=1)
    rows = {r["name"]: r for r in results["rows"]}
    assert list(rows) == ["unimodal/au", "unimodal/egemaps", "late_svr", "multistage_1"]
    for name, row in rows.items():
        assert row["head"] == "traces" and row["n"] == 2   # the two test recordings
        assert set(row["metrics"]["ccc"]) == {"arousal", "valence", "liking"}
        assert "per_recording_mean_ccc" in row["metrics"]
    assert rows["late_svr"]["experiment"] == "sklearn:svr"
    assert rows["multistage_1"]["experiment"] == "sklearn:svr x2"
    # The SVR was fitted on the networks' development predictions, written beside their
    # test evaluations, and scored on the same test recordings.
    for name in ("unimodal/au", "unimodal/egemaps"):
        assert os.path.isfile(os.path.join(out, "runs", name, "eval_dev", "metrics.json"))
    with open(os.path.join(out, "runs", "late_svr", "eval", "metrics.json"),
              encoding="utf-8") as handle:
        stacked = json.load(handle)
    assert stacked["run"]["fitted_on"] == "dev"
    assert sorted(stacked["run"]["inputs"]) == ["unimodal/au", "unimodal/egemaps"]
    assert stacked["heads"]["traces"]["pooled"]["num_frames"] == \
        rows["unimodal/au"]["metrics"]["num_frames"]
    (table,) = results["tables"]
    assert [c["heading"] for c in table["columns"]] == ["arousal", "valence", "liking",
                                                        "Average"]
    assert table["rows"][0]["published"]["arousal"] == pytest.approx(0.522)
    assert os.path.isfile(os.path.join(out, "fig3_stages.png"))
    text = open(os.path.join(out, "results.md"), encoding="utf-8").read()
    assert "fig3_stages.png" in text and "| late_svr" in text
