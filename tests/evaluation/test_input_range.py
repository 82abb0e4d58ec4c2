"""Evaluation flags utterances whose normalised inputs lie beyond the clip (issue 10.8)."""

import pandas as pd

from tfser.evaluation import evaluate
from tfser.evaluation import report


def test_input_range_counts_and_names_the_worst():
    frame = pd.DataFrame({"utt_id": ["a", "b", "c"], "out_of_range_features": [0, 2, 1],
                          "max_abs_z": [1.5, 40.0, 7.0]})
    summary = evaluate.input_range(frame, 6.0)
    assert summary == {"clip_sigma": 6.0, "utterances": 2, "values": 3, "max_abs_z": 40.0,
                       "examples": ["b", "c"]}


def test_evaluated_predictions_carry_the_range_columns(cv_run, tmp_path):
    model_dir, _ = cv_run
    metrics = evaluate.evaluate_run(model_dir, str(tmp_path / "eval"), verbose=False)
    frame = report.read_predictions(str(tmp_path / "eval"))
    assert {"out_of_range_features", "max_abs_z"} <= set(frame.columns)
    assert (frame["max_abs_z"] > 0).all()
    assert metrics["input_range"]["utterances"] == int((frame["out_of_range_features"] > 0).sum())
