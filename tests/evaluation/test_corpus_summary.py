"""Stage 1 of the demo as a library call: the corpus summary and its three files."""

import json

from tfser.evaluation import corpus_summary


def test_corpus_stage_writes_the_summary_files(tmp_path):
    command = "tfser-demo --out=X --seed=0 --size=small"
    summary, paths = corpus_summary.corpus_stage(str(tmp_path), 0, "small", False, command)
    assert sorted(paths) == ["human_confusion", "json", "markdown"]
    with open(paths["json"], encoding="utf-8") as handle:
        written = json.load(handle)
    assert written["command"] == command
    assert written["agreement"] == summary["agreement"]
    total = int(summary["speaker_class"].loc["total", "total"])
    assert written["speaker_class"]["total"]["total"] == total > 0
    with open(paths["markdown"], encoding="utf-8") as handle:
        assert f"Reproduce: `{command}`" in handle.read()
    assert (tmp_path / "human_confusion.png").stat().st_size > 1000
    assert (tmp_path / "corpus" / "demo_stamp.json").exists()
