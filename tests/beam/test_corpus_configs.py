"""The shipped real-corpus featurize configs run on the format fixtures of their corpus.

MSP-Podcast (paper 000), CREMA-D (paper 004: the speaker-disjoint emotion split and
the by-sentence speaker-identification split) and IEMOCAP (paper 001: improvised
dialogs only, training sets "all" and "dominant"). The fixtures are tiny (CREMA-D's has
two actors), so the fold count is overridden where the shipped value needs more speakers.
"""

import os

import pytest

from tfser import annotations
from tfser import beam as tfser_beam
from tfser import corpora
from tfser.testing.fixtures import crema_d, iemocap, msp_podcast

from tests.beam.helpers import config_path, decode_files

CASES = {
    "msp_podcast_000.yaml": ("msp_podcast", msp_podcast, []),
    "msp_podcast_000_recipe.yaml": ("msp_podcast", msp_podcast, []),
    "crema_d_004.yaml": ("crema_d", crema_d, ["split.params.k=2", "split.params.dev_fraction=0"]),
    "crema_d_004_speaker_id.yaml": ("crema_d", crema_d, ["split.params.test_groups=[DFA]",
                                                         "split.params.dev_groups=[]"]),
    "iemocap_001.yaml": ("iemocap", iemocap, []),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_config_featurizes_its_fixture(name, tmp_path):
    corpus, fixture, overrides = CASES[name]
    fixture.write(str(tmp_path / "corpus"))
    table = corpora.load_corpus(corpus, str(tmp_path / "corpus")).table
    table_dir = annotations.save_table(table, str(tmp_path / "table"))
    config = tfser_beam.load_config(config_path(name), overrides)
    result = tfser_beam.build_pipeline(config, table_dir, str(tmp_path / "out"))
    counts = result.counts
    assert counts["in"] == counts["written"] + counts["rejected"] and counts["written"] > 0
    heads = [spec["head"] for spec in result.info["labels"]]
    if corpus == "msp_podcast":
        assert heads == (["emotion", "emotion_soft", "secondary"] if "recipe" in name
                         else ["emotion", "secondary"])
        assert result.info["split"]["protocol"] == "official"
    elif corpus == "iemocap":
        assert heads == ["emotion", "emotion_soft", "emotion_exists"]
        assert result.info["label_metadata"]["emotion"]["classes"] == [
            "angry", "happy", "sad", "neutral"]
    else:
        assert heads == ["emotion", "speaker"]
        classes = result.info["label_metadata"]["emotion"]["classes"]
        assert set(classes) <= {"angry", "disgust", "fear", "happy", "neutral", "sad"}
    assert os.path.isfile(os.path.join(result.out_dir, "dataset_info.json"))


def test_speaker_id_split_says_it_is_not_speaker_independent(tmp_path):
    crema_d.write(str(tmp_path / "corpus"))
    table = corpora.load_corpus("crema_d", str(tmp_path / "corpus")).table
    table_dir = annotations.save_table(table, str(tmp_path / "table"))
    config = tfser_beam.load_config(config_path("crema_d_004_speaker_id.yaml"),
                                    CASES["crema_d_004_speaker_id.yaml"][2])
    result = tfser_beam.build_pipeline(config, table_dir, str(tmp_path / "out"))
    split = result.info["split"]
    assert split["protocol"] == "by_group"
    assert split["params"]["speaker_independent"] is False
    fold = split["folds"][0]
    # Both fixture actors appear in training and in test: identification is possible.
    assert set(fold["test"]["speakers"]) <= set(fold["train"]["speakers"])


SCRIPTED = ["Ses01M_script01_1_F000", "Ses01M_script01_1_M003", "Ses02M_script02_1_M000",
            "Ses02M_script02_1_F000"]
# Improvised utterances without a dominant target emotion: a frustration majority, a
# three-way tie, "other" / surprise only (no target vote at all), a 2-2 tie.
NO_DOMINANT = ["Ses01F_impro01_M000", "Ses01F_impro01_M001", "Ses02F_impro02_M002",
               "Ses02F_impro02_F002"]
DOMINANT = ["Ses01F_impro01_F000", "Ses02F_impro02_F001"]


def _featurize_iemocap(tmp_path, overrides):
    iemocap.write(str(tmp_path / "corpus"))
    table = corpora.load_corpus("iemocap", str(tmp_path / "corpus")).table
    table_dir = annotations.save_table(table, str(tmp_path / "table"))
    config = tfser_beam.load_config(config_path("iemocap_001.yaml"), overrides)
    result = tfser_beam.build_pipeline(config, table_dir, str(tmp_path / "out"))
    originals = decode_files([os.path.join(result.out_dir, f)
                              for g in result.info["groups"].values()
                              if g["variant"] == "original" for f in g["files"]], result.info)
    return result, {e["meta"]["utt_id"]: e for e in originals}


def _check_counts(counts, not_selected):
    assert counts["in"] == counts["written"] + counts["rejected"]
    assert counts["table_utterances"] == counts["in"] + counts["not_selected"]["count"]
    assert counts["not_selected"]["count"] == sum(counts["not_selected"]["reasons"].values())
    assert counts["not_selected"]["reasons"] == not_selected


def test_iemocap_001_all_keeps_utterances_without_a_dominant_emotion(tmp_path):
    result, written = _featurize_iemocap(tmp_path, [])
    assert sorted(written) == sorted(DOMINANT + NO_DOMINANT)       # improvised only
    _check_counts(result.counts, {
        "select.extra.dialog_kind is 'script', not one of ['impro']": len(SCRIPTED)})
    for utt in NO_DOMINANT:
        assert written[utt]["weights"]["emotion"] == 0.0            # hard label masked
        assert written[utt]["weights"]["emotion_exists"] == 1.0     # existence still learns
    # Only "other" and surprise: no target class at all, a negative for existence (001).
    negative = written["Ses02F_impro02_M002"]
    assert negative["weights"]["emotion_soft"] == 0.0
    assert negative["targets"]["emotion_exists"].tolist() == [0, 0, 0, 0]
    # A frustration majority with one neutral vote: soft and existence targets remain.
    frustrated = written["Ses01F_impro01_M000"]
    assert frustrated["weights"]["emotion_soft"] == 1.0
    assert frustrated["targets"]["emotion_exists"].tolist() == [1, 0, 0, 1]  # "Anger" too
    # Speed copies of training utterances are written beside the originals.
    assert result.counts["augmented"]["written"] > 0


def test_iemocap_001_dominant_trains_only_on_dominant_emotions(tmp_path):
    # Two speakers keep a dominant utterance in the fixture: no development speaker.
    result, written = _featurize_iemocap(tmp_path, ["select.labelled_by=emotion",
                                                    "split.params.dev_policy=none"])
    assert sorted(written) == DOMINANT
    assert all(e["weights"]["emotion"] == 1.0 for e in written.values())
    _check_counts(result.counts, {
        "select.extra.dialog_kind is 'script', not one of ['impro']": len(SCRIPTED),
        "no 'emotion' label (select.labelled_by: emotion)": len(NO_DOMINANT)})
    for fold in result.info["split"]["folds"]:
        assert fold["train"]["written"] == 1
