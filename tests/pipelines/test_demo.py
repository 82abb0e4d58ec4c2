"""The demo binary end to end on the small synthetic corpus (smoke-sized training)."""

import json
import os
import subprocess
import sys

import pandas as pd

from tfser.evaluation import corpus_summary

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_demo_small_runs_every_stage(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "pipelines.demo", f"--out={out}", "--size=small", "--smoke"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False,
                          cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for stage in ("corpus", "annotate", "featurize", "train", "evaluate", "compare",
                  "export", "predict"):
        assert f"{stage} done in" in done.stdout, stage
    assert "Hard-label PE" in done.stdout and "plain TensorFlow" in done.stdout

    # Stage 1: the raters' figures and the corpus report beside them.
    for name in ("corpus_summary.md", "corpus_summary.json", "human_confusion.png"):
        assert (out / name).exists(), name
    with open(out / "summary.json") as handle:
        summary = json.load(handle)
    corpus = summary["corpus"]
    assert corpus["utterances"] == 83
    assert 0.2 < corpus["fleiss_kappa"] < 0.7
    assert 0 < corpus["no_plurality_share"] < 0.3
    assert 0.2 < corpus["human_ua"] <= 1 and 0.2 < corpus["human_f1"] <= 1
    assert "human raters (leave one out, whole corpus)" in done.stdout

    # Later stages: both models evaluated on the same test utterances, then served.
    rows = summary["comparison"]["rows"]
    assert set(rows) == {"000_mtl", "000_hard_pe"}
    assert rows["000_mtl"]["count"] == rows["000_hard_pe"]["count"] > 0
    for row in rows.values():
        assert 0 <= row["ua"] <= 1 and 0 <= row["wa"] <= 1
    assert set(summary["stage_seconds"]) >= {"featurize", "train", "export", "predict"}
    assert summary["prediction"]["prediction"] == summary["prediction"]["plain_tf_prediction"]
    assert summary["prediction"]["max_probability_gap"] < 1e-4
    predictions = pd.read_csv(out / "predictions.csv")
    assert len(predictions) == 1 and "emotion/pred" in predictions.columns
    for experiment in rows:
        assert (out / "eval" / experiment / "report.md").exists()
    assert (out / "export" / "000_mtl" / "1" / "saved_model.pb").exists()
    with open(out / "summary.md") as handle:
        assert "Reproduce: `tfser-demo" in handle.read()


def test_demo_reuses_a_corpus_with_the_same_seed_and_size(tmp_path, capsys):
    first, seconds = corpus_summary.prepare_corpus(str(tmp_path), 0, "small", False)
    assert seconds is not None
    again, seconds = corpus_summary.prepare_corpus(str(tmp_path), 0, "small", False)
    assert seconds is None and "Reusing the corpus" in capsys.readouterr().out
    assert len(again.utterances) == len(first.utterances)
