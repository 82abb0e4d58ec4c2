"""EmoDB loader: the fixture in the exact format, and the real 243-file part when present."""

import logging
import pathlib

import pytest

from tfser.annotations import io as table_io
from tfser.annotations import validation
from tfser.corpora import emodb, load_corpus
from tfser.testing.fixtures import emodb as fixture

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]
REAL_ROOT = PROJECT_ROOT.parent / "shared" / "corpora" / "emodb-part"


@pytest.fixture(name="corpus")
def _corpus(tmp_path):
    return fixture.write(str(tmp_path / "emodb"))


def test_fixture_counts_and_rejects(corpus):
    result = load_corpus("emodb", corpus["root"])
    assert result.items_found == corpus["items_found"] == 11
    assert len(result.table.utterances) == len(corpus["utterances"])
    reasons = {r.item.split("/")[-1]: r.reason for r in result.rejects}
    assert set(reasons) == set(corpus["rejects"])
    for name, expected in corpus["rejects"].items():
        assert expected in reasons[name], reasons[name]
    assert all(r.source.startswith("wav/") for r in result.rejects)


def test_fixture_utterance_fields(corpus):
    table = emodb.load(corpus["root"]).table
    utts = table.utterances.set_index("utt_id")
    for stem, want in corpus["utterances"].items():
        row = utts.loc[stem]
        assert row.audio_path == f"wav/{stem}.wav"
        assert row.duration_s == pytest.approx(want["duration_s"])   # from the header
        assert row.speaker_id == want["speaker_id"]
        assert row.session_id == want["speaker_id"]
        assert row.gender == want["gender"]
        assert row.official_split is None
        assert row.extra["speaker_age"] == want["speaker_age"]
        assert row.extra["sample_rate"] == 16000
        assert row.extra["emotion_code"] == want["emotion_code"]
        assert row.extra["recognition_pct"] == want["recognition_pct"]
        assert row.extra["naturalness_pct"] == want["naturalness_pct"]
    assert utts.loc["08b03Ec", "extra"]["recognition_pct"] == pytest.approx(61.90)
    assert utts.loc["16b09Wa", "extra"]["perception_nr"] is None
    assert table.resolve_audio("wav/03a01Fa.wav").endswith("emodb/wav/03a01Fa.wav")


def test_letters_follow_the_german_words(corpus):
    utts = emodb.load(corpus["root"]).table.utterances.set_index("utt_id")
    # A = Angst (fear), F = Freude (happy), E = Ekel (disgust), W = Wut (angry).
    assert utts.loc["08a01Ab", "intended_label"] == "fear"
    assert utts.loc["03a01Fa", "intended_label"] == "happy"
    assert utts.loc["08b03Ec", "intended_label"] == "disgust"
    assert utts.loc["03a01Wa", "intended_label"] == "angry"
    assert utts.loc["03b10Lb", "intended_label"] == "boredom"
    assert utts.loc["08a04Td", "intended_label"] == "sad"


def test_intended_label_is_one_rating_per_utterance(corpus):
    table = emodb.load(corpus["root"]).table
    ratings = table.ratings
    assert len(ratings) == len(table.utterances)
    assert set(ratings["rater_type"]) == {"intended"}
    assert set(ratings["rater_id"]) == {"emodb:intended"}
    merged = ratings.merge(table.utterances[["utt_id", "intended_label"]], on="utt_id")
    assert (merged["primary"] == merged["intended_label"]).all()
    assert set(ratings["primary_raw"]) <= set(emodb.EMOTIONS)


def test_missing_perception_line_is_warned(corpus, caplog):
    with caplog.at_level(logging.WARNING, logger="tfser.corpora.emodb"):
        emodb.load(corpus["root"])
    assert "1 of 8 utterances have no line" in caplog.text


@pytest.mark.parametrize("encoding,newline,bom", [("utf-8", "\r\n", True),
                                                  ("utf-8", "\n", False),
                                                  ("latin-1", "\r\n", False)])
def test_perception_file_variants(tmp_path, encoding, newline, bom):
    corpus = fixture.write(str(tmp_path / "e"), encoding=encoding, newline=newline, bom=bom)
    entries = emodb.read_perception(str(tmp_path / "e" / "erkennung.txt"))
    assert len(entries) == corpus["perception_lines"]
    assert entries["08b03Ec"]["naturalness_pct"] == pytest.approx(57.14)
    assert entries["03a01Ab"] == {"perception_nr": 1, "recognition_pct": 65.0,
                                  "naturalness_pct": 35.0}


def test_malformed_perception_line_names_file_and_line(corpus):
    path = pathlib.Path(corpus["root"]) / "erkennung.txt"
    data = path.read_bytes().replace(b"95,00\xa0", b"9x,00\xa0", 1)
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"erkennung.txt, line \d+: column 'erkannt' holds"):
        emodb.load(corpus["root"])


def test_contradictory_duplicate_line(tmp_path):
    path = tmp_path / "erkennung.txt"
    path.write_bytes("Nr.\tSatz\terkannt\tnatuerlich\n1\xa0\t03a01Fa.wav\t90,00\t75,00\n"
                     "2\xa0\t03a01Fa.wav\t80,00\t75,00\n".encode("latin-1"))
    with pytest.raises(ValueError, match="line 3: '03a01Fa' listed again"):
        emodb.read_perception(str(path))


def test_without_perception_file(corpus):
    (pathlib.Path(corpus["root"]) / "erkennung.txt").unlink()
    table = emodb.load(corpus["root"]).table
    assert all(e["recognition_pct"] is None for e in table.utterances["extra"])


def test_audio_check_records_problems(corpus):
    table = emodb.load(corpus["root"], audio_check=True, min_duration_s=0.5).table
    problems = dict(zip(table.utterances["utt_id"],
                        (e["audio_problem"] for e in table.utterances["extra"])))
    assert problems["03a01Fa"] is None
    assert "shorter than the minimum" in problems["03a01Wa"]   # 0.45 s


def test_parse_name_errors():
    assert emodb.parse_name("14b09Tb")["emotion"] == "sad"
    for stem, match in [("07a01Wa", "speaker '07'"), ("03c01Wa", "not an EmoDB name"),
                        ("03a03Wa", "text code 'a03'"), ("03a01Wab", "not an EmoDB name")]:
        with pytest.raises(emodb.BadNameError, match=match):
            emodb.parse_name(stem)


def test_round_trip(corpus, tmp_path):
    table = emodb.load(corpus["root"]).table
    table_io.save_table(table, str(tmp_path / "table"))
    assert table_io.tables_equal(table, table_io.load_table(str(tmp_path / "table")))


@pytest.mark.skipif(not REAL_ROOT.is_dir(),
                    reason=f"real EmoDB part not available at {REAL_ROOT}")
def test_real_emodb_part():
    result = load_corpus("emodb", str(REAL_ROOT))
    table = validation.validate(result.table)
    utts = table.utterances
    assert result.items_found == 243 and not result.rejects
    assert len(utts) == 243
    assert sorted(utts["speaker_id"].unique()) == [
        "emodb:03", "emodb:08", "emodb:09", "emodb:10", "emodb:11"]
    assert set(utts["intended_label"]) == set(emodb.CATEGORIES)
    # This public copy is 22,050 Hz and 2.000 s per file; both come from the headers.
    assert {e["sample_rate"] for e in utts["extra"]} == {22050}
    assert utts["duration_s"].eq(2.0).all()
    # Every released utterance has a perception-test line, all at >= 80 % recognition.
    matched = [e for e in utts["extra"] if e["recognition_pct"] is not None]
    assert len(matched) == 243
    assert min(e["recognition_pct"] for e in matched) >= 80.0
    assert all(e["naturalness_pct"] is not None for e in matched)
