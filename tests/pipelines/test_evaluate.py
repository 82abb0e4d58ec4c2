"""tfser-evaluate end to end on a trained cross-validation, and tfser-train --fold=0,1."""

import json
import os
import subprocess
import sys

from tests.evaluation.cv import CV_EXPERIMENT, CV_OVERRIDES

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _run(module, *args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_train_with_a_fold_list_reruns_as_a_cross_validation(cv_run):
    model_dir, data_dir = cv_run
    done = _run("pipelines.train", f"--experiment={CV_EXPERIMENT}", f"--model_dir={model_dir}",
                f"--data_dir={data_dir}", "--fold=0,1", "--smoke",
                *[f"--params_override={override}" for override in CV_OVERRIDES])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cross-validation: 2 of 10 folds of loso" in done.stdout
    assert done.stdout.count("finished before, skipped") == 2


def test_the_binary_writes_the_report_and_prints_a_summary(cv_run, tmp_path):
    model_dir, _ = cv_run
    out = tmp_path / "eval"
    done = _run("pipelines.evaluate", f"--model_dir={model_dir}", f"--out={out}",
                "--checkpoint=last", "--batch_size=5")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("fold 2/2 (") for line in lines)
    header = next(line for line in lines if line.startswith("emotion "))
    assert header.split()[:4] == ["emotion", "n", "WA", "UA"]
    assert any(line.startswith("mean ± std over 2 folds") for line in lines)
    assert lines[-1] == f"report: {out / 'report.md'}"
    for name in ("predictions.parquet", "predictions.csv", "metrics.json", "report.md",
                 "emotion_confusion.png", "emotion_recall.png"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["command"] == (f"tfser-evaluate --model_dir={model_dir} --out={out} "
                                  "--checkpoint=last")
    assert metrics["run"]["checkpoint"] == "last" and len(metrics["folds"]) == 2
    assert (out / "report.md").read_text().startswith("# Evaluation: 000_hard_pe")

