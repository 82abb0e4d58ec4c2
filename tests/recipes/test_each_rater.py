"""An each_rater row (paper 002's E_n): one run per rater with enough labels, each on that
rater's slice and scored against the recipe's reference; the others skipped, with why."""

import pytest

from tfser import data
from tfser.config.errors import UserError
from tfser.recipes import runner
from tfser.recipes import spec as spec_lib

ROW = spec_lib.RowSpec(name="individual", experiment="002_individual",
                       overrides=("epochs=1",))


def _counts(data_002):
    info = data.load_info(data_002)
    return {rater: data.label_summary(info, data.slice_head("rater", rater))["labelled"]
            for rater in info.label_specs.raters("rater")}


def test_one_run_per_qualifying_rater_others_reported(data_002, monkeypatch, tmp_path):
    counts = _counts(data_002)
    threshold = sorted(counts.values())[3]  # at least three raters fall below it
    below = sorted(r for r, n in counts.items() if n < threshold)
    assert len(below) >= 3
    calls = []

    def fake_run_row(row, runs_dir, data_dir, smoke, extra, reference=None, run_dirs=None,
                     folds="all"):
        calls.append({"row": row, "reference": reference, "extra": list(extra)})
        return {"name": row.name, "head": row.head, "chosen_run_dir": f"{runs_dir}/{row.name}"}

    monkeypatch.setattr(runner, "run_row", fake_run_row)
    row = spec_lib.RowSpec(**{**ROW.__dict__,
                              "each_rater": spec_lib.EachRaterSpec("rater", threshold)})
    result = runner.run_each_rater(row, str(tmp_path), data_002, smoke=True,
                                   extra_overrides=["x=1"], reference="emotion")
    kept = sorted(r for r, n in counts.items() if n >= threshold)
    assert [o["rater"] for o in result["outcomes"]] == kept
    for call, rater in zip(calls, kept):
        head = data.slice_head("rater", rater)
        assert call["row"].name == f"individual/{head.split('.', 1)[1]}"
        assert call["row"].head == head and call["row"].each_rater is None
        assert call["row"].overrides == ("epochs=1", f"model.heads.0.name={head}")
        # Every component is scored against the consensus label, not its rater's own.
        assert call["reference"] == "emotion" and call["extra"] == ["x=1"]
    assert [(s["rater"], s["labels"]) for s in result["skipped"]] == [
        (r, counts[r]) for r in below]
    assert all(s["row"] == "individual" and f"fewer than min_labels={threshold}" in s["reason"]
               for s in result["skipped"])
    for outcome in result["outcomes"]:
        assert outcome["group"] == "individual" and outcome["labels"] >= threshold


def test_no_qualifying_rater_or_no_per_rater_view_is_a_user_error(data_002, data_000,
                                                                    tmp_path):
    row = spec_lib.RowSpec(**{**ROW.__dict__,
                              "each_rater": spec_lib.EachRaterSpec("rater", 10 ** 6)})
    with pytest.raises(UserError, match="no rater of view 'rater' has 1000000 labelled"):
        runner.run_each_rater(row, str(tmp_path), data_002, True, [])
    with pytest.raises(UserError, match="'rater' is not a per-rater label view"):
        runner.qualifying_raters(data_000, spec_lib.EachRaterSpec("rater", 1))
