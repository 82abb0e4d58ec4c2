"""Classifier rows of recipes (tfser.recipes.classifiers): the inner speaker search,
probability fusion, the per-fold choice on development speakers, the EmoDB recipe's
smoke run and its perception-test human row."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml

from tfser import corpora
from tfser.annotations import io as table_io
from tfser.recipes import classical, classifiers, results, runner
from tfser.recipes import spec as spec_lib
from tfser.testing.fixtures import emodb as emodb_fixture


def _toy(seed=0, speakers=4, per_speaker=32):
    """Two classes (3 : 1) told apart by feature 0, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.tile([0, 0, 0, 1], speakers * per_speaker // 4)
    spk = np.repeat([f"s{i}" for i in range(speakers)], per_speaker)
    x = rng.normal(size=(len(y), 3))
    x[:, 0] += 4.0 * y
    return x, y, spk


def test_speaker_groups_one_per_speaker_or_dealt_round_robin():
    spk = np.asarray(["b", "a", "c", "a", "d", "e"])
    assert classifiers.speaker_groups(spk, 5).tolist() == [1, 0, 2, 0, 3, 4]
    assert classifiers.speaker_groups(spk, 2).tolist() == [1, 0, 0, 0, 1, 0]


def test_inner_search_picks_the_best_point_by_held_out_speakers():
    x, y, spk = _toy()
    make = lambda p: classical.build_estimator("logistic_regression", p)  # noqa: E731
    best, held_out, curve = classifiers.inner_search(make, x, y, spk, {"C": [1e-6, 1.0]}, 2)
    assert [c["params"] for c in curve] == [{"C": 1e-6}, {"C": 1.0}]
    assert best == {"C": 1.0} and curve[1]["ua"] > curve[0]["ua"] and curve[1]["ua"] > 0.8
    # Speaker s2's held-out probabilities come from a fit on the other speakers only.
    out = spk == "s2"
    again = classifiers.fit(lambda: make({"C": 1.0}), x[~out], y[~out], 2)(x[out])
    np.testing.assert_allclose(held_out[out], again)
    np.testing.assert_allclose(held_out.sum(axis=1), 1.0)


def test_inner_search_needs_two_speakers():
    x, y, _ = _toy(speakers=1)
    with pytest.raises(Exception, match="two or more speakers"):
        classifiers.inner_search(lambda p: classical.build_estimator("linear_svm", p),
                                 x, y, np.asarray(["s0"] * len(y)), {}, 2)


def test_svm_scores_become_probabilities_over_every_class():
    x, y, _ = _toy()
    predict = classifiers.fit(lambda: classical.build_estimator("linear_svm", {}),
                              x, y * 2, 3)  # classes 0 and 2 seen, 1 never
    probs = predict(x[:5])
    assert probs.shape == (5, 3) and np.all(probs[:, 1] == 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


BASE = {"name": "x", "featurize": {"synthetic": "configs/featurize/synthetic_emodb.yaml"},
        "rows": [{"name": "a", "sklearn": {"estimator": "linear_svm", "inputs": "features",
                                           "features": ["egemaps_functionals"]}}]}


@pytest.mark.parametrize("block, message", [
    ({"estimator": "svr", "inputs": "features", "features": ["f"]},
     r"inputs: features takes a classifier"),
    ({"estimator": "linear_svm", "inputs": "features"}, r"sklearn.features"),
    ({"estimator": "linear_svm", "inputs": "features", "features": ["f"],
      "search": {"C": []}}, "sklearn.search: must map"),
    ({"estimator": "linear_svm", "inputs": "features", "features": ["f"], "inner_folds": 1},
     "inner_folds: must be an integer >= 2"),
    ({"estimator": "linear_svm", "inputs": "features", "features": ["f"], "rows": ["a"]},
     r"takes no \['rows'\]"),
    ({"estimator": "linear_svm", "rows": ["a"]}, "fits stored features"),
    ({"estimator": "mean", "rows": ["a"], "search": {"C": [1]}},
     "only a row with inputs: features takes it"),
])
def test_bad_classifier_blocks_name_the_key(tmp_path, block, message):
    data = {**BASE, "rows": BASE["rows"] + [{"name": "b", "sklearn": block}]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(spec_lib.RecipeError, match=message):
        spec_lib.load_recipe(str(path))


@pytest.fixture(scope="module")
def smoke_emodb(tmp_path_factory):
    """The EmoDB recipe on the small synthetic corpus, first two folds."""
    out = str(tmp_path_factory.mktemp("reproduce") / "emodb")
    return out, runner.reproduce("emodb", out, smoke=True, workers=1, folds=["0", "1"])


def _inner(out, row, fold):
    return classifiers.load_inner(os.path.join(out, "runs", row), fold)


def _test_frame(out, row):
    return pd.read_parquet(os.path.join(out, "runs", row, "eval", "predictions.parquet"))


def test_emodb_smoke_rows_and_folds(smoke_emodb):
    out, res = smoke_emodb
    rows = {row["name"]: row for row in res["rows"]}
    assert list(rows) == ["svm_egemaps", "svm_compare", "lr_egemaps", "lr_compare",
                          "fusion", "hard_pe", "selected"]
    assert len(res["folds"]) == 2 and res["protocol_folds"] > 2
    assert rows["svm_egemaps"]["experiment"] == "sklearn:linear_svm"
    assert all(0.0 <= rows[name]["metrics"]["ua"] <= 1.0 for name in rows)
    assert rows["selected"]["n"] == rows["svm_egemaps"]["n"] == rows["hard_pe"]["n"]
    text = open(os.path.join(out, "results.md"), encoding="utf-8").read()
    assert "| selected" in text and "2 of its" in text


def test_emodb_smoke_never_lets_the_test_speaker_decide(smoke_emodb):
    out, res = smoke_emodb
    for fold in res["folds"]:
        test = _test_frame(out, "svm_egemaps")
        test_utts = set(test[test["fold"] == fold]["utt_id"])
        test_speakers = set(test[test["fold"] == fold]["speaker_id"])
        assert len(test_speakers) == 1
        seen = set(_inner(out, "svm_egemaps", fold)["utt_ids"].tolist())
        assert seen and not seen & test_utts


def test_emodb_smoke_fusion_is_the_mean_and_selected_follows_development(smoke_emodb):
    out, res = smoke_emodb
    first = _test_frame(out, "lr_egemaps")
    prob_columns = [c for c in first.columns if c.startswith("emotion/p/")]
    frames = {name: _test_frame(out, name).set_index(["fold", "utt_id"]).sort_index()
              for name in ("lr_egemaps", "lr_compare", "fusion", "selected",
                           "svm_egemaps", "svm_compare")}
    mean = (frames["lr_egemaps"][prob_columns] + frames["lr_compare"][prob_columns]) / 2
    np.testing.assert_allclose(frames["fusion"][prob_columns].to_numpy(), mean.to_numpy(),
                               atol=1e-6)
    candidates = ["svm_egemaps", "svm_compare", "lr_egemaps", "lr_compare", "fusion"]
    for fold in res["folds"]:
        dev_ua = {}
        for name in candidates:
            stored = _inner(out, name, fold)
            order = np.argsort(stored["utt_ids"])
            dev_ua[name] = results_ua(stored["y"][order], stored["probs"][order])
        pick = max(candidates, key=lambda n: dev_ua[n])
        got = frames["selected"].loc[fold, prob_columns].to_numpy()
        np.testing.assert_allclose(got, frames[pick].loc[fold, prob_columns].to_numpy(),
                                   atol=1e-6)


def results_ua(y, probs):
    from tfser.metrics import classification  # pylint: disable=import-outside-toplevel
    return classification.unweighted_accuracy(y, probs.argmax(axis=1))


def test_perception_test_is_the_human_row(tmp_path):
    corpus = emodb_fixture.write(str(tmp_path / "emodb"))
    table_dir = str(tmp_path / "table")
    table_io.save_table(corpora.load_corpus("emodb", corpus["root"]).table, table_dir)
    table = table_io.load_table(table_dir)
    utts = table.utterances
    extra = [eval_json(e) for e in utts["extra"]]
    rates = {}
    for label, entry in zip(utts["intended_label"], extra):
        if entry.get("recognition_pct") is not None:
            rates.setdefault(label, []).append(entry["recognition_pct"] / 100)
    assert rates
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    classes = sorted(rates)
    from tfser.features import dataset_info  # pylint: disable=import-outside-toplevel
    (data_dir / "dataset_info.json").write_text(json.dumps(
        {"format": dataset_info.FORMAT, "version": dataset_info.VERSION,
         "label_metadata": {"emotion": {"classes": classes}}}), encoding="utf-8")
    row = results.perception_row(table_dir, str(data_dir), "emotion")
    expected = {c: sum(v) / len(v) for c, v in rates.items()}
    assert row["metrics"]["per_class_recall"] == pytest.approx(expected)
    assert row["metrics"]["ua"] == pytest.approx(sum(expected.values()) / len(expected))
    assert row["n"] == sum(len(v) for v in rates.values())


def eval_json(value):
    return json.loads(value) if isinstance(value, str) else dict(value or {})


@pytest.mark.parametrize("estimator, params", [
    ("logistic_regression", {"C": 0.01, "tol": 1e-10, "max_iter": 10000}),
    ("linear_svm", {"C": 0.01, "tol": 1e-10, "max_iter": 200000})])
def test_fitting_in_the_span_of_the_utterances_changes_nothing(estimator, params):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 300)), np.repeat([0, 1, 2, 3], 10)
    x[:, :4] += 3 * np.eye(4)[y]
    make = lambda: classical.build_estimator(estimator, params)  # noqa: E731
    test = rng.normal(size=(7, 300))
    full = classifiers.fit(make, x, y, 4, in_span=False)(test)
    span = classifiers.fit(make, x, y, 4, in_span=True)(test)
    np.testing.assert_allclose(span, full, atol=2e-4)
