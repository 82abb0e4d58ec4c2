"""CREMA-D loader: fixture with responses, fixture with vote counts only, real annotations."""

import math
import pathlib

import numpy as np
import pytest

from tfser.annotations import io as table_io
from tfser.annotations import validation
from tfser.corpora import crema_d, load_corpus
from tfser.testing.fixtures import crema_d as fixture

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]
REAL_ROOT = PROJECT_ROOT.parent / "shared" / "corpora" / "crema-d-annotations"


@pytest.fixture(name="corpus")
def _corpus(tmp_path):
    return fixture.write(str(tmp_path / "crema"))


def _voice_counts(table):
    voice = table.ratings[table.ratings["condition"] == "voice"]
    counts = {}
    for utt_id, group in voice.groupby("utt_id"):
        counts[utt_id] = group["primary_raw"].value_counts().to_dict()
    return counts


def test_responses_counts_and_rejects(corpus):
    result = load_corpus("crema_d", corpus["root"])
    table = result.table
    assert len(table.utterances) == 6
    reasons = {r.item: r.reason for r in result.rejects}
    assert set(reasons) == set(corpus["rejects"]), reasons
    for item, expected in corpus["rejects"].items():
        assert expected in reasons[item], (item, reasons[item])
    assert "(1 rating row(s) set aside with it)" in reasons["ANG_HI_practice"]
    # 6 clips + stray WAV + 2 practice clips, plus 3 response rows set aside.
    assert result.items_found == 6 + 1 + 2 + 3


def test_responses_are_real_raters(corpus):
    table = crema_d.load(corpus["root"]).table
    crowd = table.ratings[table.ratings["rater_type"] == "crowd"]
    assert set(crowd["rater_id"]) == {"crema:P01", "crema:P02", "crema:P03", "crema:P04"}
    assert crowd["condition"].value_counts().to_dict() == {"voice": 15, "face": 2,
                                                           "audiovisual": 2}
    assert _voice_counts(table) == {k: v for k, v in corpus["voice_counts"].items() if v}
    # The same rater may rate a clip in two modalities (two rows, different condition).
    p01 = crowd[(crowd["rater_id"] == "crema:P01") & (crowd["utt_id"] == "1001_IEO_NEU_XX")]
    assert sorted(p01["condition"]) == ["face", "voice"]
    # respLevel is the intensity dimension (0-100); a non-numeric level stays in extra.
    assert table.meta.dimensions == {"intensity": [0.0, 100.0]}
    assert p01.set_index("condition").loc["voice", "intensity"] == 50.0
    extra = table.utterances.set_index("utt_id").loc["1001_IEO_HAP_LO", "extra"]
    assert extra["intensity_raw"] == {"crema:P02|voice": "high"}


def test_intended_label_and_demographics(corpus):
    table = crema_d.load(corpus["root"]).table
    utts = table.utterances.set_index("utt_id")
    for name, want in corpus["clips"].items():
        row = utts.loc[name]
        assert row.speaker_id == want["speaker_id"]
        assert row.gender == want["gender"]
        assert row.intended_label == want["intended_label"]
        assert row.extra["clip_num"] == want["clip_num"]
        assert row.audio_path == f"AudioWAV/{name}.wav"
    assert utts.loc["1001_IEO_HAP_LO", "extra"]["intended_level"] == "low"
    assert utts.loc["1002_TIE_SAD_XX", "extra"]["race"] == "Asian"
    assert utts.loc["1001_IEO_NEU_XX", "extra"]["speaker_age"] == 51
    intended = table.ratings[table.ratings["rater_type"] == "intended"]
    assert len(intended) == 6 and set(intended["rater_id"]) == {"crema:intended"}
    assert intended["condition"].isna().all()


def test_clips_without_audio_are_still_annotated(corpus):
    table = crema_d.load(corpus["root"]).table
    utts = table.utterances.set_index("utt_id")
    for name, want in corpus["clips"].items():
        duration = utts.loc[name, "duration_s"]
        if want["duration_s"] is None:
            assert math.isnan(duration), name
        else:
            assert duration == pytest.approx(want["duration_s"])
    assert utts.loc["1002_MTI_DIS_XX", "extra"]["audio_present"] is False
    assert "git-LFS pointer" in utts.loc["1002_IWW_FEA_XX", "extra"]["audio_problem"]
    # Without audio_check the silent file is not decoded, so no problem is known yet.
    assert utts.loc["1002_TIE_SAD_XX", "extra"]["audio_problem"] is None
    validation.validate(table)


def test_audio_check_reports_problems(corpus):
    table = crema_d.load(corpus["root"], audio_check=True).table
    problems = {u: e["audio_problem"] for u, e in zip(table.utterances["utt_id"],
                                                      table.utterances["extra"])}
    for name, expected in corpus["audio_problems"].items():
        assert expected in problems[name], (name, problems[name])
    assert [n for n, p in problems.items() if p is None] == [
        "1001_IEO_NEU_XX", "1001_IEO_HAP_LO", "1001_DFA_ANG_XX"]


def test_require_audio_rejects_clips_without_audio(corpus):
    result = crema_d.load(corpus["root"], require_audio=True)
    reasons = {r.item: r.reason for r in result.rejects}
    assert "file not found" in reasons["1002_MTI_DIS_XX"]
    assert "git-LFS" in reasons["1002_IWW_FEA_XX"]
    assert len(result.table.utterances) == 4
    assert result.items_found == len(result.table.utterances) + len(result.rejects)


def test_aggregates_in_extra(corpus):
    table = crema_d.load(corpus["root"]).table
    utts = table.utterances.set_index("utt_id")
    tie = utts.loc[corpus["tie_clip"], "extra"]
    voice = tie["tabulated"]["voice"]
    assert voice["emoVote"] == "H:N"
    assert voice["emoVote_labels"] == ["happy", "neutral"]
    assert voice["numResponses"] == 2 and voice["agreement"] == 0.5
    assert voice["meanAngerResp"] is None          # -1: nobody chose anger
    assert voice["meanHappyResp"] == pytest.approx(63.0)
    assert tie["summary"]["voice"] == {"vote": "H:N", "level": [63.0, 70.0]}
    sad = utts.loc["1002_TIE_SAD_XX", "extra"]["tabulated"]["voice"]
    assert sad["meanEmoRespNorm"] is None           # NA
    assert set(tie["tabulated"]) == {"voice", "face", "audiovisual"}


def test_votes_mode_expands_anonymous_ratings(tmp_path):
    corpus = fixture.write(str(tmp_path / "c"), responses=False)
    result = crema_d.load(corpus["root"])
    table = result.table
    assert {r.item for r in result.rejects} == {"1040_ITH_SAD_X"}
    assert table.meta.dimensions == {}
    crowd = table.ratings[table.ratings["rater_type"] == "crowd"]
    assert crowd["rater_id"].str.startswith("crema:anon:").all()
    # One id per vote: no id rates two clips.
    assert crowd.groupby("rater_id")["utt_id"].nunique().max() == 1
    assert "crema:anon:1:1001_IEO_HAP_LO:0" in set(crowd["rater_id"])
    assert _voice_counts(table) == {k: v for k, v in corpus["voice_counts"].items() if v}
    face = crowd[(crowd["condition"] == "face") & (crowd["utt_id"] == "1001_IEO_HAP_LO")]
    assert face["primary"].value_counts().to_dict() == {"happy": 8, "neutral": 2}
    assert "anonymous" in table.meta.description


def test_forced_votes_mode_matches_responses_on_voice(corpus):
    from_votes = crema_d.load(corpus["root"], ratings="votes").table
    from_responses = crema_d.load(corpus["root"], ratings="responses").table
    assert _voice_counts(from_votes) == _voice_counts(from_responses)


def test_bad_vote_row_is_rejected(tmp_path):
    corpus = fixture.write(str(tmp_path / "c"), responses=False, bad_vote_row=True)
    result = crema_d.load(corpus["root"])
    reasons = {r.item: r.reason for r in result.rejects}
    item = "processedResults/tabulatedVotes.csv:13"
    assert "do not add up to numResponses 8" in reasons[item]
    face = result.table.ratings[(result.table.ratings["condition"] == "face")
                                & (result.table.ratings["utt_id"] == "1002_MTI_DIS_XX")]
    assert face.empty
    assert result.items_found == len(result.table.utterances) + len(result.rejects)


def test_bom_and_crlf(tmp_path):
    corpus = fixture.write(str(tmp_path / "c"), newline="\r\n", bom=True)
    result = crema_d.load(corpus["root"])
    assert len(result.table.utterances) == 6
    assert {r.item for r in result.rejects} == set(corpus["rejects"])


def test_without_emo_responses_distracted_is_kept(corpus):
    (pathlib.Path(corpus["root"]) / "finishedEmoResponses.csv").unlink()
    result = crema_d.load(corpus["root"])
    assert "finishedResponses.csv:16" not in {r.item for r in result.rejects}
    voice = _voice_counts(result.table)
    assert voice["1001_IEO_HAP_LO"] == {"H": 1, "N": 1, "S": 1}


def test_lfs_stub_responses_fall_back_to_votes(corpus):
    path = pathlib.Path(corpus["root"]) / "finishedResponses.csv"
    path.write_text("version https://git-lfs.github.com/spec/v1\nsize 9\n")
    table = crema_d.load(corpus["root"]).table
    assert table.ratings["rater_id"].str.startswith("crema:anon:").any()
    with pytest.raises(ValueError, match="git-LFS pointer stub"):
        crema_d.load(corpus["root"], ratings="responses")


def test_number_name_mismatch_is_a_row_reject(corpus):
    path = pathlib.Path(corpus["root"]) / "finishedResponses.csv"
    text = path.read_text().replace(',1,0,3,3,4,"1001_DFA_ANG_XX"',
                                    ',1,0,2,3,4,"1001_DFA_ANG_XX"', 1)
    path.write_text(text)
    result = crema_d.load(corpus["root"])
    mismatched = [r for r in result.rejects if "clip number 2 is '1001_IEO_HAP_LO'" in r.reason]
    assert len(mismatched) == 1


def test_bad_clips_take_their_rows_with_them(corpus):
    root = pathlib.Path(corpus["root"])
    responses = root / "finishedResponses.csv"
    responses.write_text(responses.read_text().replace(
        ',1,0,5,4,4,"1002_IWW_FEA_XX",101', ',1,0,9999,4,4,"1001_XYZ_FEA_XX",101'))
    sentences = root / "SentenceFilenames.csv"
    sentences.write_text(sentences.read_text() + '7,"1099_IEO_NEU_XX"\n')
    result = crema_d.load(corpus["root"])
    reasons = {r.item: r.reason for r in result.rejects}
    assert "sentence code 'XYZ'" in reasons["1001_XYZ_FEA_XX"]
    assert "(1 rating row(s) set aside with it)" in reasons["1001_XYZ_FEA_XX"]
    assert "actor 1099 is not in VideoDemographics.csv" in reasons["1099_IEO_NEU_XX"]
    assert result.items_found == len(result.table.utterances) + len(result.rejects)


def test_parse_name():
    assert crema_d.parse_name("1017_IWL_FEA_XX")["emotion"] == "fear"
    for name, match in [("1017_IWL_FEA_X", "not a CREMA-D clip name"),
                        ("1017_ABC_FEA_XX", "sentence code 'ABC'"),
                        ("1017_IWL_SUR_XX", "emotion code 'SUR'"),
                        ("1017_IWL_FEA_ZZ", "level 'ZZ'")]:
        with pytest.raises(crema_d.BadNameError, match=match):
            crema_d.parse_name(name)


def test_options_are_checked(corpus, tmp_path):
    with pytest.raises(ValueError, match="ratings must be"):
        crema_d.load(corpus["root"], ratings="both")
    with pytest.raises(FileNotFoundError):
        crema_d.load(str(tmp_path / "nowhere"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="tabulatedVotes.csv"):
        crema_d.load(str(empty))


def test_round_trip(corpus, tmp_path):
    table = crema_d.load(corpus["root"]).table
    table_io.save_table(table, str(tmp_path / "t"))
    assert table_io.tables_equal(table, table_io.load_table(str(tmp_path / "t")))


@pytest.fixture(name="real", scope="module")
def _real():
    if not REAL_ROOT.is_dir():
        pytest.skip(f"real CREMA-D annotations not available at {REAL_ROOT}")
    return crema_d.load(str(REAL_ROOT))


def test_real_annotations(real):
    table = real.table
    utts = table.utterances
    assert real.items_found == 7442 and not real.rejects
    assert len(utts) == 7442
    assert utts["speaker_id"].nunique() == 91
    assert utts["gender"].value_counts().to_dict() == {"male": 3930, "female": 3512}
    assert utts["duration_s"].isna().all()           # annotations only, no audio here
    assert not any(e["audio_present"] for e in utts["extra"])
    ratings = table.ratings
    voice = ratings[ratings["condition"] == "voice"].groupby("utt_id").size()
    assert len(voice) == 7442 and voice.min() == 4 and voice.max() == 12
    face = ratings[ratings["condition"] == "face"].groupby("utt_id").size()
    assert face.min() == 6 and face.max() == 12
    # Ties as documented: 644 tied voice votes.
    ties = sum(len(e["tabulated"]["voice"]["emoVote_labels"]) > 1 for e in utts["extra"])
    assert ties == 644
    # The expanded counts reproduce numResponses for every clip.
    num = np.array([e["tabulated"]["voice"]["numResponses"] for e in utts["extra"]])
    assert np.array_equal(voice.reindex(utts["utt_id"]).to_numpy(), num)
