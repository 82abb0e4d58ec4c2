"""The shipped real-corpus featurize configs run on the format fixtures of their corpus.

MSP-Podcast (paper 000) and CREMA-D (paper 004: the speaker-disjoint emotion split and
the by-sentence speaker-identification split). The fixtures are tiny (CREMA-D's has two
actors), so the fold count is overridden where the shipped value needs more speakers.
"""

import os

import pytest

from tfser import annotations
from tfser import beam as tfser_beam
from tfser import corpora
from tfser.testing.fixtures import crema_d, msp_podcast

from tests.beam.helpers import config_path

CASES = {
    "msp_podcast_000.yaml": ("msp_podcast", msp_podcast, []),
    "msp_podcast_000_recipe.yaml": ("msp_podcast", msp_podcast, []),
    "crema_d_004.yaml": ("crema_d", crema_d, ["split.params.k=2", "split.params.dev_fraction=0"]),
    "crema_d_004_speaker_id.yaml": ("crema_d", crema_d, ["split.params.test_groups=[DFA]",
                                                         "split.params.dev_groups=[]"]),
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
