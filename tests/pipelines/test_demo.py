"""The demo binary end to end on the small synthetic corpus."""

import json
import os
import subprocess
import sys


def test_demo_small_writes_summary(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "pipelines.demo", f"--out={out}", "--size=small"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Human performance" in done.stdout and "Rater agreement" in done.stdout
    with open(out / "summary.json") as handle:
        summary = json.load(handle)
    assert summary["corpus"]["speakers"] == 10
    assert 0.2 < summary["agreement"]["fleiss_kappa"] < 0.7
    assert 0 < summary["no_plurality_share"] < 0.3
    hp = summary["human_performance"]
    assert 0.2 < hp["ua"] <= 1 and hp["num_comparisons"] > 0
    assert summary["protocols"]["loso"]["folds"] == 10
    assert summary["speaker_class"]["total"]["total"] == 80
    assert os.path.getsize(out / "human_confusion.png") > 1000
    # A second run reuses the corpus instead of generating it again.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0 and "Reusing the corpus" in again.stdout
