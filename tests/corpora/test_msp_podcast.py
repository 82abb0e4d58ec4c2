"""MSP-Podcast loader on fixture releases of several layouts."""

import csv
import io
import json
import os

import numpy as np
import pandas as pd
import pytest

from tfser.annotations import io as table_io
from tfser.annotations import validation
from tfser.corpora import msp_podcast
from tfser.testing.fixtures import msp_podcast as fixture

LAYOUTS = [("1.12", False), ("1.6", False), ("2.0", False), ("1.12", True), ("2.0", True)]


@pytest.fixture(scope="module", params=LAYOUTS, ids=lambda p: f"{p[0]}{'-json' if p[1] else ''}")
def loaded(request, tmp_path_factory):
    release, as_json = request.param
    root = str(tmp_path_factory.mktemp(f"msp{release}"))
    info = fixture.write(root, release=release, json=as_json, malformed=True)
    return root, info, msp_podcast.load(root)


@pytest.fixture(scope="module")
def release_112(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("msp112"))
    info = fixture.write(root, release="1.12", malformed=True)
    return root, info, msp_podcast.load(root)


def _votes(result, utt_id):
    ratings = result.table.ratings
    return ratings[ratings.utt_id == utt_id].set_index("rater_id")


def _utts(result):
    return result.table.utterances.set_index("utt_id")


def test_every_layout_loads_and_reconciles(loaded, tmp_path):
    root, info, result = loaded
    assert result.items_found == info["items"]
    assert list(result.table.utterances.utt_id) == info["utterances"]
    assert len(result.table.ratings) == info["ratings"]
    result.check_counts()
    validation.validate(result.table)
    assert (result.table.ratings.rater_type == "crowd").all()
    saved = table_io.save_table(result.table, str(tmp_path / "table"))
    assert table_io.tables_equal(result.table, table_io.load_table(saved))


def test_rejects_name_the_problem(loaded):
    _, info, result = loaded
    got = {r.item: r.reason for r in result.rejects}
    assert sorted(got) == [item for item, _ in info["rejects"]]
    for item, reason in info["rejects"]:
        assert reason in got[item]


def test_split_names_of_every_release_map_to_train_dev_test(loaded):
    _, info, result = loaded
    utts = _utts(result)
    for utt_id, (split, raw) in info["splits"].items():
        assert utts.loc[utt_id, "official_split"] == split
        assert utts.loc[utt_id, "extra"]["split_raw"] == raw
    raws = {e["split_raw"] for e in utts["extra"]}
    if info["release"] == "1.6":
        assert "Validation" in raws and "Development" not in raws
    else:
        assert {"Development", "Test3"} <= raws


def test_x_is_a_consensus_outcome_and_o_is_other(loaded):
    _, _, result = loaded
    utts = _utts(result)
    no_agreement = utts.loc["MSP-PODCAST_0001_0002", "extra"]
    assert (no_agreement["cons_label_raw"], no_agreement["cons_label"],
            no_agreement["cons_no_agreement"]) == ("X", None, True)
    other = utts.loc["MSP-PODCAST_0003_0001", "extra"]
    assert (other["cons_label"], other["cons_no_agreement"]) == ("other", False)
    assert "X" not in set(result.table.ratings.primary_raw.dropna())
    assert no_agreement["cons_arousal"] == pytest.approx(3.6)


def test_unknown_speaker_is_none(loaded):
    _, info, result = loaded
    utts = _utts(result)
    assert utts["speaker_id"].to_dict() == info["speakers"]
    unknown = utts.loc["MSP-PODCAST_0002_0001"]
    assert unknown.speaker_id is None and unknown.gender is None
    assert str(unknown.extra["speaker_raw"]) == "Unknown"
    assert utts.loc["MSP-PODCAST_0002_0002", "gender"] == "male"
    assert utts.loc["MSP-PODCAST_0002_0002", "session_id"] == "0002"


def test_free_text_and_secondary_lists(loaded):
    _, _, result = loaded
    votes = _votes(result, "MSP-PODCAST_0001_0001")
    free = votes.loc["msp:WORKER0000015"]
    assert (free.primary, free.primary_raw) == ("other", "Other-joyful")
    assert list(free.secondary) == ["happy", "other"]
    assert list(votes.loc["msp:WORKER0000014"].secondary) == []  # no secondary list
    assert list(votes.loc["msp:WORKER0000013"].secondary) == ["happy", "excited"]
    extra = _utts(result).loc["MSP-PODCAST_0001_0001", "extra"]
    assert extra["secondary_raw"] == {"msp:WORKER0000015": "Happy,Other-cheerful"}
    misspelt = _votes(result, "MSP-PODCAST_0001_0002").loc["msp:WORKER0000012"]
    assert list(misspelt.secondary) == ["sad", "disappointed"]
    secondary = {s for row in result.table.ratings.secondary for s in row}
    assert {"amused", "frustrated", "concerned", "annoyed", "confused", "depressed"} <= secondary


def test_worker_values_follow_a_v_d_labels(loaded):
    _, _, result = loaded
    worker = _votes(result, "MSP-PODCAST_0002_0002").loc["msp:WORKER0000012"]
    assert (worker.arousal, worker.valence, worker.dominance) == (6.0, 2.0, 6.0)


def test_durations_come_from_the_wav_header(loaded):
    _, info, result = loaded
    utts = _utts(result)
    for utt_id, seconds in info["durations"].items():
        assert utts.loc[utt_id, "duration_s"] == pytest.approx(seconds, abs=1e-4)
    assert utts.loc["MSP-PODCAST_0001_0001", "audio_path"] == "Audios/MSP-PODCAST_0001_0001.wav"


def test_bom_and_crlf_are_present_in_the_fixture_and_tolerated(release_112):
    root, _, result = release_112
    with open(os.path.join(root, "Labels", "labels_consensus.csv"), "rb") as handle:
        head = handle.read(200)
    assert head.startswith(b"\xef\xbb\xbfFileName,") and b"\r\n" in head
    assert "FileName" not in result.table.utterances.utt_id.iloc[0]


def test_raw_labels_txt_gives_the_same_ratings(release_112):
    root, _, from_csv = release_112
    from_txt = msp_podcast.load(root, detailed="txt")
    as_tuples = lambda frame: frame.assign(secondary=frame["secondary"].map(tuple))
    pd.testing.assert_frame_equal(as_tuples(from_txt.table.ratings),
                                  as_tuples(from_csv.table.ratings))
    assert [r.item for r in from_txt.rejects] == [r.item for r in from_csv.rejects]


def test_consensus_only(release_112):
    root, info, _ = release_112
    result = msp_podcast.load(root, detailed="none")
    assert result.table.ratings.empty
    # Without worker rows only consensus problems remain: bad code, missing audio, split.
    assert {r.item for r in result.rejects} == {
        "MSP-PODCAST_0009_0001", "MSP-PODCAST_0009_0003", "MSP-PODCAST_0009_0005"}
    result.check_counts()


def test_side_files_fill_in_missing_columns(tmp_path):
    root = str(tmp_path)
    fixture.write(root, release="1.12")
    path = os.path.join(root, "Labels", "labels_consensus.csv")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    keep = [i for i, name in enumerate(rows[0]) if name not in ("SpkrID", "Gender", "Split_Set")]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[row[i] for i in keep] for row in rows])
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
    utts = _utts(msp_podcast.load(root))
    assert utts.loc["MSP-PODCAST_0001_0002", "official_split"] == "dev"
    assert utts.loc["MSP-PODCAST_0001_0002", "speaker_id"] == "msp:101"
    assert utts.loc["MSP-PODCAST_0001_0002", "gender"] == "female"
    assert utts.loc["MSP-PODCAST_0002_0001", "speaker_id"] is None


def test_missing_audio_kept_as_annotation_only_when_allowed(release_112):
    root, _, _ = release_112
    result = msp_podcast.load(root, require_audio=False, split_map={"Holdout": "test"})
    utts = _utts(result)
    assert np.isnan(utts.loc["MSP-PODCAST_0009_0003", "duration_s"])
    assert utts.loc["MSP-PODCAST_0009_0005", "official_split"] == "test"
    assert utts.loc["MSP-PODCAST_0009_0005", "extra"]["split_raw"] == "Holdout"
    validation.validate(result.table)


def test_unknown_layouts_and_options_raise(tmp_path):
    root = str(tmp_path)
    with pytest.raises(FileNotFoundError, match="no consensus label file"):
        msp_podcast.load(root)
    fixture.write(root, release="2.0", with_audio=False)
    detailed = os.path.join(root, "Labels", "labels_detailed.csv")
    with open(detailed, "w", encoding="utf-8") as handle:
        handle.write("FileName,Rater,Label\nMSP-PODCAST_0001_0001.wav,W1,Happy\n")
    with pytest.raises(ValueError, match="unknown labels_detailed layout"):
        msp_podcast.load(root, require_audio=False)
    with pytest.raises(ValueError, match="detailed must be"):
        msp_podcast.load(root, detailed="xml")
    with pytest.raises(ValueError, match="split_map"):
        msp_podcast.load(root, split_map={"Holdout": "validation"})


def test_msp_face_json_is_refused(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "Labels"))
    with open(os.path.join(root, "Labels", "labels_consensus.json"), "w",
              encoding="utf-8") as handle:
        json.dump({"MSP-FACE_0001.mp4": [{"EmoClass": "H"}]}, handle)
    with pytest.raises(ValueError, match="MSP-Face"):
        msp_podcast.load(root)


def test_broken_csv_row_is_a_reject(tmp_path):
    root = str(tmp_path)
    fixture.write(root, release="2.0")
    path = os.path.join(root, "Labels", "labels_consensus.csv")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("MSP-PODCAST_0005_0001.wav,N,4\n")
    result = msp_podcast.load(root)
    reasons = {r.item: r.reason for r in result.rejects}
    assert "fields where the header has 8" in reasons["MSP-PODCAST_0005_0001"]
    result.check_counts()
