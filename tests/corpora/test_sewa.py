"""SEWA (AVEC 2019 CES) loader on the fixture package."""

import os

import numpy as np
import pytest

from tfser.annotations import io as table_io
from tfser.annotations import validation
from tfser.corpora import sewa
from tfser.testing.fixtures import sewa as fixture


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("sewa"))
    return root, fixture.write(root, malformed=True)


@pytest.fixture(scope="module")
def loaded(written, tmp_path_factory):
    table_dir = str(tmp_path_factory.mktemp("sewa_table"))
    return table_dir, sewa.load(written[0], table_dir=table_dir)


def _traces(result, **where):
    frame = result.table.traces
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return frame


def test_counts_reconcile_and_table_is_valid(written, loaded):
    _, info = written
    table_dir, result = loaded
    assert result.items_found == info["items"]
    assert sorted(result.table.utterances.utt_id) == sorted(info["utterances"])
    result.check_counts()
    validation.validate(result.table)
    got = {r.item: r.reason for r in result.rejects}
    assert sorted(got) == [item for item, _ in info["rejects"]]
    for item, reason in info["rejects"]:
        assert reason in got[item]


def test_recordings_have_culture_sessions_and_official_splits(written, loaded):
    utts = loaded[1].table.utterances.set_index("utt_id")
    assert utts["official_split"].to_dict() == written[1]["splits"]
    assert utts.loc["Devel_HU_01", "session_id"] == "HU"
    assert utts.loc["Devel_HU_01", "extra"]["partition_raw"] == "Devel"
    assert utts.loc["Test_CN_01", "extra"]["language"] == "zh"
    assert utts["speaker_id"].isna().all()
    for utt_id, seconds in written[1]["durations"].items():
        assert utts.loc[utt_id, "duration_s"] == pytest.approx(seconds)
    assert utts.loc["Test_DE_01", "extra"]["duration_source"] == "audio"
    assert utts.loc["Test_HU_01", "extra"]["duration_source"] == "features"


def test_label_traces_are_consensus_at_10_hz(written, loaded):
    result = loaded[1]
    labels = _traces(result, kind="label")
    assert set(labels.rater_id) == {"consensus"}
    assert set(labels.attribute) == {"arousal", "valence", "liking"}
    assert set(labels.rate_hz) == {10.0}
    for utt_id, frames in written[1]["label_frames"].items():
        rows = labels[labels.utt_id == utt_id]
        assert len(rows) == 3 and set(rows.num_frames) == {frames}
    # Test recordings carry no labels.
    assert not labels.utt_id.str.startswith("Test_").any()


def test_label_values_survive_the_quirky_files(written, loaded):
    root, _ = written
    result = loaded[1]
    # Train_HU_01 has a trailing ';' on every row, Train_DE_02 a BOM, Train_DE_01 CRLF.
    for utt_id in ("Train_HU_01", "Train_DE_02", "Train_DE_01"):
        with open(os.path.join(root, "labels", f"{utt_id}.csv"), encoding="utf-8-sig") as handle:
            second_row = handle.read().splitlines()[1].rstrip(";").split(";")
        row = _traces(result, utt_id=utt_id, attribute="valence").index[0]
        trace = result.table.load_trace(row)
        assert trace.dtype == np.float32 and trace.ndim == 1
        assert trace[0] == pytest.approx(float(second_row[3]), abs=1e-6)


def test_feature_traces_measure_their_rate_and_shape(written, loaded):
    result = loaded[1]
    features = _traces(result, kind="feature")
    assert set(features.rater_id) == {"none"}
    for name, rate in written[1]["feature_rates"].items():
        rows = features[features.attribute == name]
        assert set(rows.rate_hz) == {rate}
        expected = written[1]["feature_frames"][name]
        assert dict(zip(rows.utt_id, rows.num_frames)) == expected
        array = result.table.load_trace(rows.index[0])
        assert array.ndim == 2 and array.shape[0] == rows.iloc[0].num_frames
    visual = features[(features.attribute == "visual_features")].index[0]
    assert result.table.load_trace(visual).shape[1] == 4


def test_trace_paths_are_relative_to_the_table_dir_and_survive_save_load(loaded, written):
    table_dir, result = loaded
    paths = result.table.traces.path
    assert not paths.map(os.path.isabs).any()
    assert paths.str.startswith("traces/sewa/").all()
    table_io.save_table(result.table, table_dir)
    reloaded = table_io.load_table(table_dir)
    assert table_io.tables_equal(result.table, reloaded)
    assert reloaded.load_trace(0).shape == (reloaded.traces.iloc[0].num_frames,)
    # The corpus folder was not written to.
    assert not any(name.startswith(".") or name == "traces" for name in os.listdir(written[0]))


def test_default_cache_is_under_the_user_cache_with_absolute_paths(written, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("TFSER_CACHE_DIR", str(tmp_path / "cache"))
    result = sewa.load(written[0], feature_sets=[])
    assert result.table.traces.path.map(os.path.isabs).all()
    assert result.table.traces.path.str.startswith(str(tmp_path / "cache" / "sewa")).all()
    assert set(result.table.traces.kind) == {"label"}
    assert result.table.load_trace(0).ndim == 1


def test_feature_set_selection(written, tmp_path):
    result = sewa.load(written[0], cache_dir=str(tmp_path / "c"),
                       feature_sets=["audio_features_mfcc_functionals"])
    assert set(_traces(result, kind="feature").attribute) == {"audio_features_mfcc_functionals"}
    with pytest.raises(FileNotFoundError, match="feature set"):
        sewa.load(written[0], cache_dir=str(tmp_path / "c"), feature_sets=["au"])


def test_speaker_per_recording_option(written, tmp_path):
    result = sewa.load(written[0], cache_dir=str(tmp_path / "c"), feature_sets=[],
                       speaker_per_recording=True)
    utts = result.table.utterances.set_index("utt_id")
    assert utts.loc["Train_DE_01", "speaker_id"] == "sewa:Train_DE_01"


def test_read_stream_reports_file_and_line(tmp_path):
    path = tmp_path / "Train_DE_01.csv"
    path.write_text("'Train_DE_01';0.0;1\n'Train_DE_01';0.1;x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"f\.csv:2: non-numeric value 'x'"):
        sewa.read_stream(str(path), "Train_DE_01", "f.csv")
    path.write_text("name;timestamp;arousal\n'Train_DE_01';0.0;0.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="1 frame"):
        sewa.read_stream(str(path), "Train_DE_01", "f.csv")


def test_empty_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no labels/ folder"):
        sewa.load(str(tmp_path), cache_dir=str(tmp_path / "cache"))


def test_converted_arrays_are_written_atomically_under_their_own_name(tmp_path):
    # np.save given a name appends ".npy"; the atomic temporary file must not get one.
    path = str(tmp_path / "cache" / "x.npy")
    sewa._save_npy(path, np.arange(3))  # pylint: disable=protected-access
    assert os.listdir(tmp_path / "cache") == ["x.npy"]
    np.testing.assert_array_equal(np.load(path), np.arange(3))
