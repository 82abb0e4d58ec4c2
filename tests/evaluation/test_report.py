"""Metrics of predictions tables, evaluate_run on runs and cross-validations, the report."""

import json
import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from tfser import evaluation
from tfser.metrics import classification
from tfser.evaluation import metrics as metrics_lib
from tfser.metrics import regression
from tfser.evaluation import report
from tfser.evaluation.columns import HeadLayout

from tests.evaluation.test_predictions import synthetic_frame

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _read(out_dir):
    with open(os.path.join(out_dir, report.METRICS_FILE), encoding="utf-8") as handle:
        stored = json.load(handle)
    return stored, report.read_predictions(out_dir)


def _layouts(stored):
    return {head: HeadLayout.from_dict(entry) for head, entry in stored["layouts"].items()}


def test_metrics_json_matches_a_recomputation_from_the_predictions(cv_evaluation):
    out_dir, returned = cv_evaluation
    stored, frame = _read(out_dir)
    assert stored == returned
    assert stored["folds"] == sorted(set(frame["fold"]), key=list(frame["fold"]).index)
    assert len(stored["folds"]) == 2 and stored["num_utterances"] == len(frame)
    classes = stored["heads"]["emotion"]["classes"]
    scopes = [("pooled", frame)] + [(fold, frame[frame["fold"] == fold])
                                    for fold in stored["folds"]]
    for scope, rows in scopes:
        got = stored["heads"]["emotion"]["pooled" if scope == "pooled" else "per_fold"]
        got = got if scope == "pooled" else got[scope]
        hard = rows[rows["emotion/labelled"]]
        truth, pred = hard["emotion/target"].tolist(), hard["emotion/pred"].tolist()
        probs = hard[[f"emotion/p/{c}" for c in classes]].to_numpy()
        assert got["num_samples"] == len(hard)
        assert got["ua"] == pytest.approx(
            classification.unweighted_accuracy(truth, pred, classes))
        assert got["wa"] == pytest.approx(classification.weighted_accuracy(truth, pred,
                                                                           classes))
        assert got["f1"] == pytest.approx(classification.f1_of_means(truth, pred, classes))
        assert got["macro_f1"] == pytest.approx(classification.macro_f1(truth, pred,
                                                                         classes))
        assert got["cross_entropy"] == pytest.approx(classification.cross_entropy(
            probs, classification.encode_labels(truth, classes)))
        assert got["confusion"] == classification.confusion_matrix(
            truth, pred, classes).tolist()

        soft_rows = rows[rows["emotion_soft/labelled"]]
        soft = stored["heads"]["emotion_soft"]["pooled" if scope == "pooled" else
                                               "per_fold"]
        soft = soft if scope == "pooled" else soft[scope]
        assert soft["cross_entropy"] == pytest.approx(classification.cross_entropy(
            soft_rows[[f"emotion_soft/p/{c}" for c in classes]].to_numpy(),
            soft_rows[[f"emotion_soft/target/{c}" for c in classes]].to_numpy()))

        exists_rows = rows[rows["emotion_exists/labelled"]]
        exists = stored["heads"]["emotion_exists"]["pooled" if scope == "pooled" else
                                                   "per_fold"]
        exists = exists if scope == "pooled" else exists[scope]
        assert exists["multilabel_accuracy"] == pytest.approx(
            classification.multilabel_accuracy(
                exists_rows[[f"emotion_exists/target/{c}" for c in classes]].to_numpy(),
                exists_rows[[f"emotion_exists/score/{c}" for c in classes]].to_numpy()))


def test_pooled_metrics_are_the_metrics_of_the_concatenated_folds(cv_evaluation):
    out_dir, _ = cv_evaluation
    stored, frame = _read(out_dir)
    layouts = _layouts(stored)
    parts = [frame[frame["fold"] == fold].reset_index(drop=True) for fold in stored["folds"]]
    recomputed = metrics_lib.compute_metrics(pd.concat(parts, ignore_index=True), layouts)
    for head, layout in layouts.items():
        head_stored = stored["heads"][head]
        assert report.json_safe(recomputed["heads"][head]["pooled"]) == head_stored["pooled"]
        for fold, part in zip(stored["folds"], parts):
            alone = report.json_safe(metrics_lib.head_metrics(part, layout))
            assert alone == head_stored["per_fold"][fold]
        counts = [head_stored["per_fold"][f]["num_samples"] for f in stored["folds"]]
        assert head_stored["pooled"]["num_samples"] == sum(counts)
        assert head_stored["fold_mean"]["num_samples"] == pytest.approx(np.mean(counts))
    ua = [stored["heads"]["emotion"]["per_fold"][f]["ua"] for f in stored["folds"]]
    assert stored["heads"]["emotion"]["fold_mean"]["ua"] == pytest.approx(np.mean(ua))
    assert stored["heads"]["emotion"]["fold_std"]["ua"] == pytest.approx(np.std(ua, ddof=1))


def test_report_has_the_command_on_top_and_its_figures(cv_evaluation, cv_run):
    out_dir, stored = cv_evaluation
    text = open(os.path.join(out_dir, report.REPORT_FILE), encoding="utf-8").read()
    command = stored["command"]
    assert command.startswith(f"tfser-evaluate --model_dir={cv_run[0]} --out={out_dir}")
    assert text.index(command) < text.index("## emotion")
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    # Confusion and recall for the hard head and the soft head's decisions.
    assert {"emotion_confusion.png", "emotion_recall.png", "emotion_soft_confusion.png",
            "emotion_soft_recall.png"} == set(figures)
    for name in figures:
        with open(os.path.join(out_dir, name), "rb") as handle:
            assert handle.read(8) == PNG_MAGIC
    for fold in stored["folds"]:
        assert f"| fold {fold} |" in text
    assert "| mean ± std over 2 folds |" in text
    assert "2 of 10 (loso)" in text
    csv = pd.read_csv(os.path.join(out_dir, report.PREDICTIONS_CSV))
    assert list(csv["utt_id"]) == list(report.read_predictions(out_dir)["utt_id"])


def test_a_single_run_directory_is_evaluated_on_its_fold(cv_run, tmp_path):
    model_dir, _ = cv_run
    run_dir = evaluation.evaluate.find_runs(model_dir)[1][1]
    out_dir = str(tmp_path / "single")
    result = evaluation.evaluate_run(run_dir, out_dir, part="dev", checkpoint="last",
                                     command="my command", verbose=False)
    assert result["run"]["kind"] == "single" and len(result["folds"]) == 1
    assert result["run"]["part"] == "dev"
    frame = report.read_predictions(out_dir)
    assert set(frame["part"]) == {"dev"}
    text = open(os.path.join(out_dir, report.REPORT_FILE), encoding="utf-8").read()
    assert "```\nmy command\n```" in text
    assert "mean ± std" not in text


def test_clear_errors_for_missing_pieces(cv_run, tmp_path):
    model_dir, data_dir = cv_run
    runs = evaluation.evaluate.find_runs(model_dir)[1]
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(os.path.join(runs[0], "params.yaml"), bare / "params.yaml")
    with pytest.raises(FileNotFoundError, match=r"no checkpoint checkpoints/best\.keras"):
        evaluation.evaluate_run(str(bare), str(tmp_path / "out"))
    with pytest.raises(FileNotFoundError, match="featurized directory '.*nowhere'"):
        evaluation.evaluate_run(model_dir, str(tmp_path / "out"),
                                data_dir=str(tmp_path / "nowhere"))
    lost = tmp_path / "lost"
    lost.mkdir()
    shutil.copy(os.path.join(model_dir, "folds.json"), lost / "folds.json")
    with pytest.raises(FileNotFoundError, match="is listed in .*folds.json but its run "
                                                "directory .* is missing"):
        evaluation.evaluate_run(str(lost), str(tmp_path / "out"))
    with pytest.raises(FileNotFoundError, match="neither a run directory"):
        evaluation.evaluate_run(str(tmp_path), str(tmp_path / "out"))
    with pytest.raises(ValueError, match="checkpoint must be one of"):
        evaluation.evaluate_run(runs[0], str(tmp_path / "out"), checkpoint="newest")
    assert not (tmp_path / "out").exists()


def test_metrics_of_every_kind_of_head_and_their_report(tmp_path):
    frames, layouts = [], None
    for seed, fold in enumerate(("f0", "f1", "f2")):
        frame, layouts, _ = synthetic_frame(n=15, seed=seed, fold=fold)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    result = metrics_lib.compute_metrics(frame, layouts)
    assert result["folds"] == ["f0", "f1", "f2"]

    dims = frame[["dims/value/arousal", "dims/target/arousal", "dims/labelled/arousal"]]
    keep = dims["dims/labelled/arousal"].to_numpy()
    pooled = result["heads"]["dims"]["pooled"]
    assert pooled["per_attribute"]["arousal"]["ccc"] == pytest.approx(regression.ccc(
        dims["dims/target/arousal"][keep], dims["dims/value/arousal"][keep]))
    assert pooled["mean_ccc"] == pytest.approx(np.mean(
        [pooled["per_attribute"][a]["ccc"] for a in ("arousal", "valence")]))

    raters = result["heads"]["raters"]["pooled"]
    pairs = frame[["raters/labelled/r1", "raters/labelled/r2"]].to_numpy()
    assert raters["num_ratings"] == pairs.sum()
    assert raters["per_rater"]["r1"]["num_samples"] == pairs[:, 0].sum()

    traces = result["heads"]["traces"]["pooled"]
    assert traces["num_frames"] == frame["traces/frames"].sum()
    assert traces["num_samples"] == frame["traces/labelled"].sum()

    soft = result["heads"]["soft"]["pooled"]
    assert soft["kl_divergence"] >= 0
    assert soft["argmax"]["num_samples"] + soft["num_ties"] == soft["num_samples"]
    secondary = result["heads"]["secondary"]["pooled"]
    assert 0 <= secondary["multilabel_accuracy"] <= 1 and secondary["kl_normalised"] >= 0

    result["layouts"] = {head: layout.to_dict() for head, layout in layouts.items()}
    result["command"] = "tfser-evaluate --model_dir=x --out=y"
    paths = report.write_outputs(str(tmp_path), frame, report.json_safe(result), layouts)
    text = open(paths["report"], encoding="utf-8").read()
    for head in layouts:
        assert f"## {head} (" in text
    assert "raters/raters_confusion.png" in paths and "traces/" not in "".join(paths)
    assert json.load(open(paths["metrics"]))["heads"]["dims"]["pooled"]["mean_ccc"] == \
        pytest.approx(pooled["mean_ccc"])


def test_a_fold_without_test_examples_is_skipped_and_reported(cv_run, tmp_path):
    model_dir, data_dir = cv_run
    # The same featurized data, except that fold 1's test speaker had everything rejected.
    emptied = tmp_path / "data"
    shutil.copytree(data_dir, emptied)
    with open(emptied / "dataset_info.json") as handle:
        info = json.load(handle)
    folds = info["split"]["folds"]
    folds[1]["test"]["written"] = 0
    with open(emptied / "dataset_info.json", "w") as handle:
        json.dump(info, handle)
    metrics = evaluation.evaluate_run(model_dir, str(tmp_path / "out"), data_dir=str(emptied),
                                      verbose=False)
    assert [entry["fold"] for entry in metrics["skipped_folds"]] == [folds[1]["name"]]
    assert metrics["folds"] == [folds[0]["name"]]
    with open(tmp_path / "out" / "report.md") as handle:
        assert f"Skipped fold `{folds[1]['name']}`" in handle.read()
