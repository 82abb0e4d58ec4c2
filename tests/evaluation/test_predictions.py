"""Predictions tables: one row per utterance, column layout, round trips through disk."""

import os

import keras
import numpy as np
import pandas as pd
import pytest

from tfser import data
from tfser import training
from tfser.evaluation import columns
from tfser.evaluation import predictions
from tfser.evaluation import report
from tfser.evaluation.columns import HeadLayout
from tfser.models.config import HEAD_TYPE_BY_KIND


def _fold_runs(model_dir):
    listing = training.read_folds(model_dir)
    return [(entry["name"], os.path.join(model_dir, entry["dir"]))
            for entry in listing["folds"]]


def test_predict_frame_has_one_row_per_test_utterance(cv_run):
    model_dir, data_dir = cv_run
    info = data.load_info(data_dir)
    name, run_dir = _fold_runs(model_dir)[1]
    model = predictions.load_checkpoint(os.path.join(run_dir, "checkpoints", "best.keras"))
    done = []
    frame = predictions.predict_frame(model, data_dir, name, "test", batch_size=3,
                                      progress=done.append)

    assert len(frame) == data.count_examples(info, name, "test", include_variants=False)
    assert done[-1] == len(frame) and len(done) == -(-len(frame) // 3)
    assert frame["utt_id"].is_unique
    assert set(frame["speaker_id"]) == set(info.speakers(name, "test"))
    assert set(frame["fold"]) == {name} and set(frame["part"]) == {"test"}
    assert list(frame.columns[:4]) == list(columns.META_COLUMNS)

    classes = list(info.label_specs["emotion"].classes)
    probs = frame[[f"emotion/p/{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert list(frame["emotion/pred"]) == [classes[i] for i in probs.argmax(axis=1)]
    labelled = frame["emotion/labelled"].to_numpy()
    np.testing.assert_array_equal(frame["emotion/target"].notna().to_numpy(), labelled)
    assert set(frame.loc[labelled, "emotion/target"]) <= set(classes)
    soft = frame[[f"emotion_soft/target/{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(soft[frame["emotion_soft/labelled"]].sum(axis=1), 1.0,
                               atol=1e-5)
    scores = frame[[f"emotion_exists/score/{c}" for c in classes]].to_numpy()
    assert ((scores >= 0) & (scores <= 1)).all()

    # The same utterances, in the same order, as the reader's unshuffled pass.
    expected = []
    for *_, meta in data.build_dataset(info, name, "test", heads=[], shuffle=False,
                                       return_meta=True, include_variants=False):
        expected += [v.decode() for v in meta["utt_id"].numpy()]
    assert list(frame["utt_id"]) == expected


def test_predict_frame_errors_name_the_problem(cv_run):
    model_dir, data_dir = cv_run
    name, run_dir = _fold_runs(model_dir)[0]
    model = predictions.load_checkpoint(os.path.join(run_dir, "checkpoints", "best.keras"))
    with pytest.raises(ValueError, match=r"heads \['arousal'\] are not outputs of model"):
        predictions.predict_frame(model, data_dir, name, heads=["arousal"])
    with pytest.raises(ValueError, match="unknown part 'validation'"):
        predictions.predict_frame(model, data_dir, name, part="validation")
    inputs = {"mfcc": keras.Input((13,), name="mfcc")}
    other = keras.Model(inputs, {"emotion": keras.layers.Dense(8)(inputs["mfcc"])})
    with pytest.raises(ValueError, match=r"model inputs \['mfcc'\] are neither features"):
        predictions.predict_frame(other, data_dir, name)


def _layouts():
    return [
        HeadLayout("emotion", "hard", ("a", "b", "c")),
        HeadLayout("soft", "soft", ("a", "b", "c")),
        HeadLayout("secondary", "secondary", ("a", "b", "c")),
        HeadLayout("dims", "dimensional", ("arousal", "valence")),
        HeadLayout("raters", "per_rater", ("a", "b", "c"), raters=("r1", "r2")),
        HeadLayout("traces", "dimensional", ("arousal", "valence"), sequence=True),
        # Class names a CSV reads back as numbers (CREMA-D speaker ids).
        HeadLayout("speaker", "speaker", ("1001", "1002", "1003")),
    ]


def synthetic_frame(n=12, seed=0, fold="f0"):
    """A predictions table of every kind of head, with some unlabelled entries."""
    rng = np.random.default_rng(seed)

    def probs(*shape):
        values = rng.random(shape) + 0.05
        return values / values.sum(axis=-1, keepdims=True)

    labelled = rng.random(n) > 0.2
    labelled[:2] = True
    inputs = {
        "emotion": (probs(n, 3), rng.integers(0, 3, n), labelled.astype(float)),
        "speaker": (probs(n, 3), rng.integers(0, 3, n), labelled.astype(float)),
        "soft": (probs(n, 3), probs(n, 3), labelled.astype(float)),
        "secondary": (rng.random((n, 3)), (rng.random((n, 3)) > 0.5).astype(float),
                      labelled.astype(float)),
        "dims": (rng.normal(size=(n, 2)), rng.normal(size=(n, 2)),
                 (rng.random((n, 2)) > 0.2).astype(float)),
        "raters": (probs(n, 2, 3), np.eye(3)[rng.integers(0, 3, (n, 2))],
                   (rng.random((n, 2)) > 0.3).astype(float)),
    }
    lengths = rng.integers(3, 7, n)
    inputs["traces"] = ([rng.normal(size=(t, 2)) for t in lengths],
                        [rng.normal(size=(t, 2)) for t in lengths],
                        [np.where(np.arange(t) < t - 1, 1.0, 0.0) * ok
                         for t, ok in zip(lengths, labelled)])
    table = {"utt_id": [f"{fold}_u{i}" for i in range(n)], "speaker_id": ["s"] * n,
             "fold": [fold] * n, "part": ["test"] * n}
    layouts = _layouts()
    for layout in layouts:
        table.update(layout.to_columns(*inputs[layout.head]))
    return pd.DataFrame(table), {layout.head: layout for layout in layouts}, inputs


@pytest.mark.parametrize("fmt", ["memory", "parquet", "csv"])
def test_every_layout_reads_back_what_it_wrote(fmt, tmp_path):
    frame, layouts, inputs = synthetic_frame()
    if fmt != "memory":
        report.write_predictions(frame, str(tmp_path))
        frame = report.read_predictions(str(tmp_path)) if fmt == "parquet" else \
            pd.read_csv(tmp_path / report.PREDICTIONS_CSV)
    for head, layout in layouts.items():
        assert set(layout.columns()) <= set(frame.columns), head
        arrays = layout.from_frame(frame)
        outputs, targets, weights = inputs[head]
        if layout.family == "sequence":
            for i, (out, target, weight) in enumerate(zip(outputs, targets, weights)):
                keep = np.asarray(weight) > 0
                np.testing.assert_allclose(arrays.outputs[i], out[keep], atol=1e-12)
                np.testing.assert_allclose(arrays.targets[i], target[keep], atol=1e-12)
            continue
        np.testing.assert_allclose(arrays.outputs, outputs, atol=1e-12)
        mask = np.asarray(weights) > 0
        np.testing.assert_array_equal(arrays.labelled, mask)
        if layout.family == "categorical":
            np.testing.assert_array_equal(arrays.targets, np.where(mask, targets, -1))
        else:
            expanded = mask[..., None] if layout.family == "per_rater" else \
                mask if layout.family == "regression" else mask[:, None]
            expanded = np.broadcast_to(expanded, targets.shape)
            np.testing.assert_allclose(arrays.targets[expanded], targets[expanded])
            assert np.isnan(arrays.targets[~expanded]).all()
        if layout.family in ("categorical", "soft", "per_rater"):
            np.testing.assert_array_equal(layout.decisions(frame), outputs.argmax(axis=-1))


def test_layout_errors_name_the_head():
    with pytest.raises(ValueError, match="no predictions layout for label kind 'speech'"):
        HeadLayout("x", "speech", ("a",))
    with pytest.raises(ValueError, match="per-rater head 'r' needs its rater ids"):
        HeadLayout("r", "per_rater", ("a",))
    layout = HeadLayout("emotion", "hard", ("a", "b"))
    with pytest.raises(ValueError, match=r"outputs have shape \(2, 3\), expected \(2, 2\)"):
        layout.to_columns(np.zeros((2, 3)), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="lacks columns of head 'emotion'"):
        layout.from_frame(pd.DataFrame({"utt_id": ["u"]}))


def test_every_model_label_kind_has_a_table_family():
    # One kind -> head-type map (models); the table family follows the head type.
    assert set(columns.FAMILY_BY_KIND) == set(HEAD_TYPE_BY_KIND)
    for kind, head_type in HEAD_TYPE_BY_KIND.items():
        expected = "soft" if kind == "soft" else columns.FAMILY_BY_HEAD_TYPE[head_type]
        assert columns.FAMILY_BY_KIND[kind] == expected
        layout = HeadLayout("h", kind, ("a", "b"), raters=("r1",))
        assert layout.family == expected
