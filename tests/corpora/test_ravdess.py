"""RAVDESS loader on the fixture copy (speech + song, bad names)."""

import pytest

from tfser.annotations import io as table_io
from tfser.annotations import validation
from tfser.corpora import ravdess
from tfser.testing.fixtures import ravdess as fixture


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("ravdess"))
    return root, fixture.write(root, malformed=True)


@pytest.fixture(scope="module")
def result(written):
    return ravdess.load(written[0])


def test_counts_reconcile_and_table_is_valid(written, result, tmp_path):
    _, info = written
    assert result.items_found == info["items"]
    assert sorted(result.table.utterances.utt_id) == sorted(info["utterances"])
    result.check_counts()
    validation.validate(result.table)
    saved = table_io.save_table(result.table, str(tmp_path / "table"))
    assert table_io.tables_equal(result.table, table_io.load_table(saved))


def test_bad_files_are_rejected_with_reasons(written, result):
    got = {r.item: r.reason for r in result.rejects}
    assert sorted(got) == [path for path, _ in written[1]["rejects"]]
    for path, reason in written[1]["rejects"]:
        assert reason in got[path]


def test_name_fields_are_decoded(result):
    utts = result.table.utterances.set_index("utt_id")
    angry = utts.loc["03-01-05-02-02-02-01"]
    assert (angry.intended_label, angry.speaker_id, angry.gender) == (
        "angry", "ravdess:01", "male")
    assert angry.extra["intensity"] == "strong"
    assert angry.extra["statement_text"] == "Dogs are sitting by the door"
    assert angry.extra["repetition"] == 2
    assert angry.extra["vocal_channel"] == "speech"
    song = utts.loc["03-02-06-02-02-01-02"]
    assert (song.intended_label, song.gender, song.extra["vocal_channel"]) == (
        "fear", "female", "song")
    assert utts.loc["03-01-02-02-01-01-01", "intended_label"] == "calm"
    assert utts["official_split"].isna().all() and utts["session_id"].isna().all()


def test_intended_label_is_the_only_rating(result):
    ratings = result.table.ratings
    assert len(ratings) == len(result.table.utterances)
    assert set(ratings.rater_type) == {"intended"}
    assert set(ratings.rater_id) == {"ravdess:intended"}
    row = ratings.set_index("utt_id").loc["03-01-08-01-01-02-02"]
    assert (row.primary, row.primary_raw) == ("surprise", "08")


def test_durations_from_headers_including_the_extra_chunk(written, result):
    utts = result.table.utterances.set_index("utt_id")
    for stem, seconds in written[1]["durations"].items():
        assert utts.loc[stem, "duration_s"] == pytest.approx(seconds, abs=1e-4)
    filler = utts.loc[written[1]["filler"]]
    assert (filler.extra["sample_rate"], filler.extra["channels"]) == (48000, 1)
    with open(result.table.resolve_audio(filler.audio_path), "rb") as handle:
        assert b"FLLR" in handle.read(200)


def test_parse_name_errors_name_the_field():
    with pytest.raises(ValueError, match="unknown intensity code '03'"):
        ravdess.parse_name("03-01-05-03-01-01-01")
    with pytest.raises(ValueError, match="7-field"):
        ravdess.parse_name("03-01-05-02-01-02-17-01")
    assert ravdess.parse_name("03-01-05-02-01-02-17")["actor"] == 17


def test_duplicate_stem_is_rejected(tmp_path):
    root = str(tmp_path)
    fixture.write(root)
    from tfser.testing.audio import write_tone
    write_tone(str(tmp_path / "copy" / "Actor_01" / "03-01-01-01-01-01-01.wav"), 0.2,
               sample_rate=48000)
    result = ravdess.load(root)
    reasons = [r.reason for r in result.rejects]
    assert len(reasons) == 1 and reasons[0].startswith("duplicate of Audio_Speech_Actors_01-24/")
    result.check_counts()


def test_missing_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ravdess.load(str(tmp_path / "nowhere"))
