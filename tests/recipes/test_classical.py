"""sklearn rows (tfser.recipes.classical): spec validation and stacking on tiny arrays."""

import numpy as np
import pandas as pd
import pytest

from tfser.config.errors import UserError
from tfser.evaluation.columns import HeadLayout
from tfser.recipes import classical
from tfser.recipes import spec as spec_lib

LAYOUT = HeadLayout(head="traces", kind="dimensional", classes=("arousal", "valence"),
                    sequence=True)


def _frame(recordings, part="dev"):
    """A sequence predictions table: recording -> (outputs [T, 2], targets [T, 2])."""
    rows = []
    for utt, (outputs, targets) in recordings.items():
        outputs, targets = np.asarray(outputs, float), np.asarray(targets, float)
        row = {"utt_id": utt, "speaker_id": utt, "fold": "official", "part": part,
               "traces/frames": len(targets), "traces/labelled": True}
        for j, attribute in enumerate(LAYOUT.classes):
            row[f"traces/value/{attribute}"] = outputs[:, j].tolist()
            row[f"traces/target/{attribute}"] = targets[:, j].tolist()
        rows.append(row)
    return pd.DataFrame(rows)


def _pairs(x, y):
    """Both attributes see input x and target y."""
    return np.stack([x, x], axis=1), np.stack([y, y], axis=1)


def test_fit_stages_fits_on_the_fitting_data_only():
    make = lambda: classical.build_estimator("linear_regression", {})  # noqa: E731
    fit_x, fit_y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0])  # y = 2x + 1
    stage1, stage2 = classical.fit_stages(make, fit_x, fit_y, np.array([[3.0], [-1.0]]), 2)
    np.testing.assert_allclose(stage1, [7.0, -1.0])
    # Stage 2 is fitted on stage 1's in-sample outputs (= y), so it is the identity.
    np.testing.assert_allclose(stage2, [7.0, -1.0])


def test_stacking_is_fitted_on_dev_predictions_and_ignores_test_targets():
    spec = classical.SklearnSpec(estimator="linear_regression", rows=("a", "b"), stages=2)
    # Dev: target = run a's prediction + run b's prediction (per attribute).
    dev_a = {"d1": _pairs([0.0, 1.0, 2.0], [1.0, 3.0, 6.0]),
             "d2": _pairs([0.5, -1.0], [1.0, -1.0])}
    dev_b = {"d1": _pairs([1.0, 2.0, 4.0], [1.0, 3.0, 6.0]),
             "d2": _pairs([0.5, 0.0], [1.0, -1.0])}
    test_a = {"t1": _pairs([1.0, 3.0], [0.0, 0.0])}
    test_b = {"t1": _pairs([2.0, 0.5], [0.0, 0.0])}
    runs = [_frame(dev_a), _frame(dev_b)], [_frame(test_a, "test"), _frame(test_b, "test")]
    first, second = classical.stack_predictions(spec, *runs, LAYOUT, ["a", "b"])
    for attribute in LAYOUT.classes:
        np.testing.assert_allclose(first[f"traces/value/{attribute}"][0], [3.0, 3.5])
        np.testing.assert_allclose(second[f"traces/value/{attribute}"][0], [3.0, 3.5])
    # Other test targets, and other test predictions of the other utterances, change
    # nothing that was fitted: the same inputs give the same outputs.
    test_a2 = {"t1": _pairs([1.0, 3.0], [9.0, -9.0])}
    again = classical.stack_predictions(spec, runs[0], [_frame(test_a2, "test"),
                                                        _frame(test_b, "test")],
                                        LAYOUT, ["a", "b"])[0]
    np.testing.assert_allclose(again["traces/value/arousal"][0], [3.0, 3.5])
    # The targets are kept as they were; only the outputs are replaced.
    assert again["traces/target/arousal"][0] == [9.0, -9.0]


def test_stacked_rows_must_predict_the_same_utterances():
    spec = classical.SklearnSpec(estimator="svr", rows=("a", "b"))
    dev = _frame({"d1": _pairs([0.0, 1.0], [0.0, 1.0])})
    other = _frame({"d9": _pairs([0.0, 1.0], [0.0, 1.0])})
    with pytest.raises(UserError, match="row 'b' predicted other utterances than 'a'"):
        classical.stack_predictions(spec, [dev, other], [dev, dev], LAYOUT, ["a", "b"])


def _recipe(sklearn, rows_before=("a",)):
    rows = [{"name": n, "experiment": "003_mtl_au"} for n in rows_before]
    rows.append({"name": "late", "sklearn": sklearn})
    return {"name": "x", "featurize": {"synthetic": "c.yaml"}, "head": "traces",
            "rows": rows}


def test_a_valid_sklearn_row():
    recipe = spec_lib.RecipeSpec.from_dict(_recipe(
        {"estimator": "svr", "params": {"C": 2.0}, "rows": ["a"], "stages": 3}), "r.yaml")
    row = recipe.row("late")
    assert row.sklearn.stages == 3 and row.sklearn.fit_on == "dev"
    assert row.experiment == "sklearn:svr x3" and row.head == "traces"


@pytest.mark.parametrize("sklearn,rows_before,message", [
    ({"estimator": "forest", "rows": ["a"]}, ("a",), r"rows.1.sklearn.estimator: must be one of"),
    ({"estimator": "svr", "rows": ["b"]}, ("a",), r"\['b'\] must be rows listed before"),
    ({"estimator": "svr", "rows": []}, ("a",), "sklearn.rows"),
    ({"estimator": "svr", "rows": ["a"], "stages": 0}, ("a",), "stages.*positive"),
    ({"estimator": "svr", "rows": ["a"], "best": 2}, ("a",), "best.*from 1 to 1"),
    ({"estimator": "svr", "rows": ["a"], "fit_on": "test"}, ("a",), "fit_on"),
    ({"estimator": "svr", "rows": ["a"], "inputs": "features"}, ("a",), "inputs: features takes a classifier"),
    ({"estimator": "svr", "rows": ["a"], "kernel": "rbf"}, ("a",), "kernel"),
])
def test_bad_sklearn_rows_fail_in_one_line(sklearn, rows_before, message):
    with pytest.raises(spec_lib.RecipeError, match=message) as error:
        spec_lib.RecipeSpec.from_dict(_recipe(sklearn, rows_before), "r.yaml")
    assert "\n" not in str(error.value)


def test_a_sklearn_row_takes_no_experiment():
    data = _recipe({"estimator": "svr", "rows": ["a"]})
    data["rows"][-1]["experiment"] = "003_mtl_au"
    with pytest.raises(spec_lib.RecipeError, match="takes no.*experiment"):
        spec_lib.RecipeSpec.from_dict(data, "r.yaml")


def test_grid_points_expose_the_complement_of_their_sum():
    sweep = spec_lib.SweepSpec.from_dict(
        {"name": "w", "grid": {"alpha": [0.3], "beta": [0.1]},
         "overrides": ["w=[{alpha}, {beta}, {complement}]"]}, "s", "traces")
    (point,) = sweep.points()
    assert sweep.point_overrides(point) == ("w=[0.3, 0.1, 0.6]",)
