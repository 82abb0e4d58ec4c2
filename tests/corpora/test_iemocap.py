"""IEMOCAP loader on the fixture release (tfser.testing.fixtures.iemocap)."""

import os
import re

import numpy as np
import pytest

from tfser.annotations import io as table_io
from tfser.annotations import validation
from tfser.corpora import iemocap, load_corpus
from tfser.testing.fixtures import iemocap as fixture


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("iemocap"))
    return root, fixture.write(root, malformed=True)


@pytest.fixture(scope="module")
def result(written):
    return iemocap.load(written[0])


def _ratings(result, utt_id):
    frame = result.table.ratings
    return frame[frame.utt_id == utt_id].set_index("rater_id")


def _extra(result, utt_id):
    utts = result.table.utterances
    return utts[utts.utt_id == utt_id].iloc[0]["extra"]


def test_counts_reconcile_and_table_is_valid(written, result, tmp_path):
    _, info = written
    assert result.items_found == info["items"]
    assert sorted(result.table.utterances.utt_id) == sorted(info["utterance_ids"])
    assert len(result.rejects) == len(info["rejects"])
    assert len(result.table.ratings) == info["ratings"]
    result.check_counts()
    validation.validate(result.table)
    saved = table_io.save_table(result.table, str(tmp_path / "table"))
    assert table_io.tables_equal(result.table, table_io.load_table(saved))


def test_registry_loads_the_same_corpus(written, result):
    via_registry = load_corpus("iemocap", written[0])
    assert table_io.tables_equal(via_registry.table, result.table)


def test_speaker_comes_from_the_utterance_not_the_dialog(written, result):
    utts = result.table.utterances.set_index("utt_id")
    assert utts.loc["Ses01F_impro01_M000", "speaker_id"] == "iemocap:Ses01M"
    assert utts.loc["Ses01F_impro01_M000", "gender"] == "male"
    assert utts.loc["Ses01M_script01_1_F000", "speaker_id"] == "iemocap:Ses01F"
    assert utts.loc["Ses01M_script01_1_F000", "gender"] == "female"
    assert utts.loc["Ses01F_impro01_M000", "extra"]["mocap_actor"] == "F"
    assert utts["speaker_id"].to_dict() == written[1]["speakers"]
    assert set(utts["session_id"]) == {"Ses01", "Ses02"}
    assert utts["official_split"].isna().all()


def test_self_evaluations_are_kept_apart_from_observers(written, result):
    ratings = result.table.ratings
    is_self = ratings.rater_type == "self"
    assert int(is_self.sum()) == written[1]["self_ratings"]
    assert int((ratings.rater_type == "observer").sum()) == written[1]["observer_ratings"]
    assert ratings[is_self].rater_id.str.match(r"^iemocap:self:Ses0[12][FM]$").all()
    assert ratings[~is_self].rater_id.str.match(r"^iemocap:E\d+$").all()
    # The male actor rated his own turn in a dialog where the female actor wore markers;
    # his categorical and dimensional self-ratings share one row.
    own = _ratings(result, "Ses01F_impro01_M000").loc["iemocap:self:Ses01M"]
    assert own.rater_type == "self"
    assert own.primary == "frustration"
    assert (own.valence, own.arousal, own.dominance) == (1.0, 4.0, 4.0)


def test_no_agreement_and_ties_stay_visible(result):
    extra = _extra(result, "Ses01F_impro01_M001")
    assert extra["cons_label_raw"] == "xxx"
    assert extra["cons_label"] is None
    assert extra["cons_no_agreement"] is True
    votes = _ratings(result, "Ses01F_impro01_M001")
    observers = votes[votes.rater_type == "observer"].primary.dropna()
    assert sorted(observers) == ["angry", "frustration", "neutral"]
    tie = _ratings(result, "Ses02F_impro02_F002")
    counts = tie[tie.rater_type == "observer"].primary.value_counts().to_dict()
    assert counts == {"angry": 2, "frustration": 2}
    assert _extra(result, "Ses02F_impro02_M002")["cons_label"] == "other"


def test_multi_category_lines_give_primary_and_secondary(result):
    e1 = _ratings(result, "Ses01F_impro01_M000").loc["iemocap:E1"]
    assert (e1.primary, e1.primary_raw, list(e1.secondary)) == (
        "frustration", "Frustration", ["angry"])
    e3 = _ratings(result, "Ses01M_script01_1_F000").loc["iemocap:E3"]
    assert (e3.primary, list(e3.secondary)) == ("happy", ["excited"])
    neutral_state = _ratings(result, "Ses02M_script02_1_M000").loc["iemocap:E4"]
    assert (neutral_state.primary, neutral_state.primary_raw) == ("neutral", "Neutral state")


def test_dimensional_lines_merge_by_rater_and_parse_irregular_spacing(result):
    votes = _ratings(result, "Ses01F_impro01_F000")
    both = votes.loc["iemocap:E2"]
    assert both.primary == "neutral" and (both.valence, both.arousal, both.dominance) == (
        3.0, 2.0, 2.0)
    dims_only = votes.loc["iemocap:E1"]
    assert dims_only.primary is None and list(dims_only.secondary) == []
    assert (dims_only.valence, dims_only.arousal, dims_only.dominance) == (2.0, 3.0, 3.0)
    cat_only = votes.loc["iemocap:E3"]
    assert np.isnan([cat_only.valence, cat_only.arousal, cat_only.dominance]).all()
    spaced = _ratings(result, "Ses01F_impro01_M001").loc["iemocap:E5"]
    assert (spaced.valence, spaced.arousal, spaced.dominance) == (3.0, 3.0, 2.0)
    squeezed = _ratings(result, "Ses01M_script01_1_M003").loc["iemocap:E2"]
    assert (squeezed.valence, squeezed.arousal, squeezed.dominance) == (1.0, 2.0, 2.0)


def test_header_consensus_is_read_in_v_a_d_order(result):
    extra = _extra(result, "Ses01F_impro01_M000")
    assert (extra["cons_valence"], extra["cons_arousal"], extra["cons_dominance"]) == (
        2.0, 3.5, 3.0)
    assert extra["cons_label"] == "frustration"


def test_durations_come_from_header_times(written, result):
    utts = result.table.utterances.set_index("utt_id")
    for utt_id, seconds in written[1]["durations"].items():
        assert utts.loc[utt_id, "duration_s"] == pytest.approx(seconds)
    row = utts.loc["Ses01F_impro01_M000"]
    assert row.audio_path == "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M000.wav"
    assert np.isnan(row.start_s) and np.isnan(row.end_s)
    assert row.extra["dialog_start_s"] == pytest.approx(10.01)
    assert os.path.isfile(result.table.resolve_audio(row.audio_path))


def test_missing_sentence_wav_is_kept_unless_audio_is_required(written, result):
    missing = written[1]["missing_audio"][0]
    assert missing in set(result.table.utterances.utt_id)
    strict = iemocap.load(written[0], require_audio=True)
    reasons = {r.item: r.reason for r in strict.rejects}
    assert "audio file missing" in reasons[missing]
    strict.check_counts()


def test_dialog_audio_mode_points_into_the_dialog_wav(written):
    result = iemocap.load(written[0], audio="dialog", sessions=[1])
    row = result.table.utterances.set_index("utt_id").loc["Ses01F_impro01_M000"]
    assert row.audio_path == "Session1/dialog/wav/Ses01F_impro01.wav"
    assert (row.start_s, row.end_s) == (pytest.approx(10.01), pytest.approx(11.36))
    assert set(result.table.utterances.session_id) == {"Ses01"}


def test_file_quirks_crlf_bom_latin1_comments(result):
    assert _extra(result, "Ses01F_impro01_F000")["rater_comments"] == {
        "C-E4": "a little down"}
    assert _extra(result, "Ses01M_script01_1_F000")["rater_comments"] == {
        "C-E3": "très content"}
    # A nested parenthesis stays part of the comment.
    assert _extra(result, "Ses01M_script01_1_M003")["rater_comments"]["C-E4"] == (
        "crying (softly)")
    assert not any("Categorical" in e["label_file"] or "/._" in e["label_file"]
                   for e in result.table.utterances.extra)


def test_rater_scope_session_namespaces_evaluators(written):
    result = iemocap.load(written[0], rater_scope="session", sessions=[2])
    observers = result.table.ratings[result.table.ratings.rater_type == "observer"]
    assert observers.rater_id.str.match(r"^iemocap:Ses02:E\d+$").all()


def test_malformed_blocks_are_rejected_with_file_and_line(written, result):
    got = {r.item: r.reason for r in result.rejects}
    for item, reason in written[1]["rejects"]:
        assert reason in got[item]
        assert re.search(r"Ses02M_impro03\.txt:\d+", got[item])


def test_extra_words_extend_the_vocabulary(written):
    result = iemocap.load(written[0], extra_words={"Boredom": "other"}, sessions=[2])
    votes = _ratings(result, "Ses02M_impro03_F001")
    assert (votes.loc["iemocap:E1"].primary, votes.loc["iemocap:E1"].primary_raw) == (
        "other", "Boredom")
    with pytest.raises(ValueError, match="not one of"):
        iemocap.load(written[0], extra_words={"boredom": "boredom"})


def test_bad_root_and_options_raise_clear_errors(tmp_path, written):
    with pytest.raises(FileNotFoundError, match="no Session<N>/ folder"):
        iemocap.load(str(tmp_path))
    with pytest.raises(ValueError, match="rater_scope"):
        iemocap.load(written[0], rater_scope="global")
    with pytest.raises(FileNotFoundError, match=r"session\(s\) \[4\]"):
        iemocap.load(written[0], sessions=[4])


def test_file_not_named_after_a_dialog_is_an_error(tmp_path):
    root = str(tmp_path)
    fixture.write(root, with_audio=False)
    stray = os.path.join(root, "IEMOCAP_full_release", "Session1", "dialog", "EmoEvaluation",
                         "notes.txt")
    with open(stray, "w", encoding="utf-8") as handle:
        handle.write("hello\n")
    with pytest.raises(ValueError, match=r"EmoEvaluation/notes\.txt: file name is not"):
        iemocap.load(root)


def test_read_text_strips_bom_before_the_latin1_fallback(tmp_path):
    path = tmp_path / "Ses01F_impro01.txt"
    path.write_bytes(b"\xef\xbb\xbf% header\r\nC-E1:\tNeutral;\t(tr\xe8s)\r\n")
    assert iemocap.read_text(str(path)) == ["% header", "C-E1:\tNeutral;\t(très)"]
