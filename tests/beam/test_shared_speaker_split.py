"""A split whose parts share speakers (paper 004's speaker identification, by sentence):
the reader keeps each part's own utterances, and training statistics pool only the
training utterances (before, both came from whole speaker shards)."""

import numpy as np
import pytest

from tfser import beam as tfser_beam
from tfser import data

from tests.beam.helpers import config_path

BY_SENTENCE = ("split={protocol: by_group, params: {group_column: sentence, "
               "test_groups: [sent06, sent07, sent08], dev_groups: [sent05], "
               "speaker_independent: false}}")


@pytest.fixture(scope="module")
def by_sentence(synth_dir, tmp_path_factory):
    config = tfser_beam.load_config(config_path("synthetic_000.yaml"), [BY_SENTENCE])
    out = tmp_path_factory.mktemp("by_sentence") / "out"
    return tfser_beam.build_pipeline(config, synth_dir, str(out), log_every=1000)


def _utt_ids(info, part):
    dataset = data.build_dataset(info, 0, part, batch_size=64, shuffle=False,
                                 include_variants=False, return_meta=True, cache=False)
    return [u.decode() for *_, meta in dataset for u in meta["utt_id"].numpy()]


def test_each_part_reads_only_its_own_utterances(by_sentence):
    info = data.load_info(by_sentence.out_dir)
    fold = by_sentence.info["split"]["folds"][0]
    assert not fold["speaker_independent"]
    assert set(fold["test"]["speakers"]) <= set(fold["train"]["speakers"])
    seen = {}
    for part in ("train", "dev", "test"):
        ids = _utt_ids(info, part)
        # Listed: the part's utterances; read: those written (some have no label).
        assert ids and set(ids) <= set(info.utterances(0, part))
        assert len(ids) == fold[part]["written"] == data.count_examples(info, 0, part)
        seen[part] = set(ids)
    assert not (seen["train"] & seen["test"]) and not (seen["dev"] & seen["test"])


def test_training_statistics_pool_training_utterances_only(by_sentence):
    info = by_sentence.info
    fold = info["split"]["folds"][0]
    stats = info["normalisation"]["global"][fold["name"]]["egemaps_functionals"]
    # One frame (the functionals vector) per training utterance, not per utterance of
    # every training speaker.
    assert stats["count"] == fold["train"]["written"]
    per_speaker = info["normalisation"]["per_speaker"]
    everything = sum(s["egemaps_functionals"]["count"] for s in per_speaker.values())
    assert everything == sum(fold[p]["written"] for p in ("train", "dev", "test"))


def test_speaker_independent_folds_list_no_utterances(data_000):
    info = data.load_info(data_000)
    assert info.utterances(0, "test") is None
    assert np.isfinite(info.global_stats(0, "egemaps_functionals")[0]).all()
