"""Unified table: typed records -> frames -> Parquet -> frames, and validation."""

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from tfser import annotations
from tfser.annotations import schema


def _meta(**overrides):
    values = dict(corpus="toy", categories=["angry", "sad", "neutral"],
                  secondary_categories=["amused"],
                  dimensions={"arousal": [1.0, 7.0], "valence": [1.0, 7.0]})
    values.update(overrides)
    return annotations.TableMeta(**values)


def _table(tmp_path=None):
    utts = [
        annotations.Utterance("u1", "toy", "wav/u1.wav", 2.5, "toy:S1", session_id="s1",
                              gender="female", official_split="train",
                              extra={"latent": [0.1, 0.9], "note": "é"}),
        annotations.Utterance("u2", "toy", "long.wav", 1.0, "toy:S2", start_s=3.0, end_s=4.0,
                              session_id="s1", gender="male", intended_label="sad"),
        annotations.Utterance("u3", "toy", "wav/u3.wav", float("nan"), None),
    ]
    ratings = [
        annotations.Rating("u1", "toy:R1", primary="angry", primary_raw="Anger",
                           secondary=["amused", "sad"], dims={"arousal": 6, "valence": 2}),
        annotations.Rating("u1", "toy:R2", primary="sad", secondary=[]),
        annotations.Rating("u2", "toy:R1", rater_type="self", primary=None,
                           dims={"arousal": 3.5}),
        annotations.Rating("u2", "toy:R2", primary="neutral", condition="voice"),
    ]
    traces = []
    if tmp_path is not None:
        os.makedirs(tmp_path / "traces", exist_ok=True)
        np.save(tmp_path / "traces" / "u1_arousal.npy", np.linspace(-1, 1, 25))
        traces.append(annotations.Trace("u1", "consensus", "label", "arousal", 10.0,
                                        "traces/u1_arousal.npy", 25))
    return annotations.build_table(_meta(), utts, ratings, traces, root=str(tmp_path))


def test_round_trip_is_exact(tmp_path):
    table = annotations.validate(_table(tmp_path))
    annotations.save_table(table, str(tmp_path))
    loaded = annotations.load_table(str(tmp_path))
    assert annotations.tables_equal(table, loaded)
    # save(load(x)) writes the same rows again
    again = tmp_path / "again"
    annotations.save_table(loaded, str(again))
    assert annotations.tables_equal(loaded, annotations.load_table(str(again)))
    assert loaded.ratings.loc[0, "secondary"] == ["amused", "sad"]
    assert loaded.ratings.loc[1, "secondary"] == []
    assert loaded.utterances.loc[0, "extra"] == {"latent": [0.1, 0.9], "note": "é"}
    assert math.isnan(loaded.utterances.loc[2, "duration_s"])
    assert loaded.utterances.loc[2, "speaker_id"] is None
    np.testing.assert_allclose(loaded.load_trace(0), np.linspace(-1, 1, 25))
    with open(tmp_path / "meta.json") as handle:
        assert json.load(handle)["schema_version"] == schema.SCHEMA_VERSION


def test_resolve_audio_relative_to_table_dir(tmp_path):
    table = _table(tmp_path)
    assert table.resolve_audio("wav/u1.wav") == os.path.join(str(tmp_path), "wav", "u1.wav")
    assert table.resolve_audio("/abs/x.wav") == "/abs/x.wav"


def test_schema_version_mismatch_is_refused(tmp_path):
    annotations.save_table(_table(tmp_path), str(tmp_path))
    meta_path = tmp_path / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = 999
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(annotations.AnnotationValidationError, match="schema version 999"):
        annotations.load_table(str(tmp_path))


def test_missing_table_file_names_the_file(tmp_path):
    annotations.save_table(_table(tmp_path), str(tmp_path))
    os.remove(tmp_path / "ratings.parquet")
    with pytest.raises(FileNotFoundError, match="ratings.parquet"):
        annotations.load_table(str(tmp_path))


def test_validation_reports_every_problem_with_row_ids():
    table = _table()
    bad_utts = pd.concat([table.utterances, table.utterances.iloc[[0]]], ignore_index=True)
    bad_utts.loc[1, "duration_s"] = -1.0
    bad_utts.loc[2, "duration_s"] = 0.0
    bad_ratings = table.ratings.copy()
    bad_ratings.loc[0, "primary"] = "joy"
    bad_ratings.loc[1, "secondary"] = ["sad", "bliss"]
    bad_ratings.loc[2, "utt_id"] = "ghost"
    bad_ratings.loc[3, "valence"] = float("inf")
    bad = schema.AnnotationTable(table.meta, bad_utts, bad_ratings, table.traces)
    with pytest.raises(annotations.AnnotationValidationError) as info:
        annotations.validate(bad)
    messages = [str(p) for p in info.value.problems]
    expected = [
        "utterances[u1]: duplicate utt_id (2 rows)",
        "utterances[u2]: duration_s must be > 0, got -1.0",
        "utterances[u3]: duration_s must be > 0, got 0.0",
        "ratings[u1, toy:R1]: unknown primary category 'joy'",
        "ratings[u1, toy:R2]: unknown secondary categories ['bliss']",
        "ratings[ghost, toy:R1]: unknown utterance 'ghost'",
        "ratings[u2, toy:R2, voice]: valence is infinite",
    ]
    for text in expected:
        assert any(m.startswith(text) for m in messages), (text, messages)
    assert len(messages) >= len(expected)


def test_missing_required_columns_are_reported():
    table = _table()
    bad = schema.AnnotationTable(table.meta, table.utterances.drop(columns=["speaker_id"]),
                                 table.ratings.drop(columns=["arousal"]), table.traces)
    with pytest.raises(annotations.AnnotationValidationError) as info:
        annotations.validate(bad)
    text = str(info.value)
    assert "utterances: missing required column 'speaker_id'" in text
    assert "ratings: missing required column 'arousal'" in text


def test_nan_dimension_given_by_a_loader_is_refused_with_row():
    with pytest.raises(ValueError, match=r"ratings\[u1, toy:R9\]: arousal=nan"):
        annotations.build_table(_meta(), [annotations.Utterance("u1", "toy", "a.wav", 1.0, "s")],
                                [annotations.Rating("u1", "toy:R9", primary="sad",
                                                    dims={"arousal": float("nan")})])


def test_out_of_scale_and_empty_ratings_are_reported():
    table = _table()
    ratings = table.ratings.copy()
    ratings.loc[0, "arousal"] = 9.0
    ratings.loc[1, "primary"] = None
    bad = schema.AnnotationTable(table.meta, table.utterances, ratings, table.traces)
    text = str(pytest.raises(annotations.AnnotationValidationError,
                             annotations.validate, bad).value)
    assert "arousal=9.0 outside the scale [1.0, 7.0]" in text
    assert "ratings[u1, toy:R2]: rating carries no category" in text


def test_duplicate_rating_and_bad_trace_are_reported():
    table = _table()
    ratings = pd.concat([table.ratings, table.ratings.iloc[[1]]], ignore_index=True)
    traces = schema.traces_frame([annotations.Trace("nope", "r", "wave", "x", 0.0, "p.npy", 0)])
    bad = schema.AnnotationTable(table.meta, table.utterances, ratings, traces)
    text = str(pytest.raises(annotations.AnnotationValidationError,
                             annotations.validate, bad).value)
    assert "ratings[u1, toy:R2]: duplicate rating" in text
    assert "traces[nope, r, x]: unknown utterance 'nope'" in text
    assert "kind 'wave'" in text and "rate_hz must be > 0" in text
    assert "num_frames must be > 0" in text


def test_undeclared_dimension_is_refused():
    with pytest.raises(ValueError, match="not declared"):
        annotations.build_table(_meta(), [annotations.Utterance("u1", "toy", "a.wav", 1.0, "s")],
                                [annotations.Rating("u1", "r", primary="sad",
                                                    dims={"liking": 1.0})])


def test_unknown_meta_keys_are_refused():
    with pytest.raises(ValueError, match="unknown keys"):
        annotations.TableMeta.from_dict({"corpus": "x", "colour": "red"})
