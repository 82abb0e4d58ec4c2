"""Bad input is rejected with a reason, never dropped silently, and the counts reconcile."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from tfser import beam as tfser_beam
from tfser.beam import work

from tests.beam.helpers import registered, scalar_feature, subset_table, write_wav

EXPECTED = {
    "bad_corrupt": work.UNREADABLE_AUDIO,
    "bad_empty": work.SHORT_AUDIO,
    "bad_short": work.SHORT_AUDIO,
    "bad_silent": work.NAN_FEATURES,
    "bad_unlabelled": work.NO_LABEL,
}


def _peak_dbfs(waveform):
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.max(np.abs(waveform)))


@pytest.fixture(scope="module")
def peak_feature():
    """A test-only feature that is -inf on digital silence (a NaN-producing front-end)."""
    with registered(scalar_feature("test_peak_dbfs", _peak_dbfs, "peak level (test)")) as d:
        yield d


@pytest.fixture(scope="module")
def bad_run(synth_table, tmp_path_factory, peak_feature):
    root = tmp_path_factory.mktemp("bad")
    corrupt = root / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(64))
    source = synth_table.resolve_audio("wav/utt_S01F_0001.wav")
    shutil.copy(source, root / "unlabelled.wav")
    extra = [
        ("bad_corrupt", "utt_S01F_0001", str(corrupt), True),
        ("bad_empty", "utt_S01F_0002", write_wav(root / "empty.wav", []), True),
        ("bad_short", "utt_S01M_0001", write_wav(root / "short.wav", 0.1 * np.ones(800)), True),
        ("bad_silent", "utt_S01M_0002", write_wav(root / "silent.wav", np.zeros(16000)), True),
        ("bad_unlabelled", "utt_S02F_0001", str(root / "unlabelled.wav"), False),
    ]
    table_dir = subset_table(synth_table, root / "table", utterances_per_speaker=2,
                             speakers=3, extra_rows=extra)
    config = tfser_beam.FeaturizeConfig.from_dict({
        "feature_sets": ["test_peak_dbfs"],
        "labels": {"class_mapping": "exclude_other",
                   "views": [{"name": "emotion_soft", "kind": "soft", "params": {"a": 0.75}}]},
        "split": {"protocol": "loso", "params": {"dev_policy": "none"}},
        "speed_perturb": [1.1], "min_duration_s": 0.25})
    return tfser_beam.build_pipeline(config, table_dir, str(root / "out"))


def test_rejects_csv_names_every_bad_utterance_with_its_reason(bad_run):
    rejects = pd.read_csv(os.path.join(bad_run.out_dir, "rejects.csv"))
    originals = rejects[rejects["variant"] == "original"]
    assert dict(zip(originals["utt_id"], originals["reason"])) == EXPECTED
    detail = dict(zip(originals["utt_id"], originals["detail"]))
    assert "corrupt.wav" in detail["bad_corrupt"]
    assert "test_peak_dbfs" in detail["bad_silent"]
    assert "shorter than the minimum" in detail["bad_short"]


def test_counts_reconcile_with_rejects(bad_run):
    counts = bad_run.counts
    assert counts["in"] == 11
    assert counts["rejected"] == len(EXPECTED)
    assert counts["in"] == counts["written"] + counts["rejected"]
    assert counts["rejected_by_reason"] == {work.NAN_FEATURES: 1, work.NO_LABEL: 1,
                                            work.SHORT_AUDIO: 2, work.UNREADABLE_AUDIO: 1}
    augmented = counts["augmented"]
    assert augmented["in"] == augmented["written"] + augmented["rejected"]
    # A file that cannot be read has no speed-perturbed copy either.
    assert augmented["rejected"] == len(EXPECTED)
    rejects = pd.read_csv(os.path.join(bad_run.out_dir, "rejects.csv"))
    assert len(rejects) == counts["rejected"] + augmented["rejected"]
    info = tfser_beam.read_info(bad_run.out_dir)
    for fold in info["split"]["folds"]:
        test = fold["test"]
        assert test["utterances"] == test["written"] + test["rejected"]
    per_speaker = counts["per_speaker"]["synthetic:S01F"]
    assert per_speaker == {"in": 4, "written": 2, "rejected": 2, "augmented_in": 4,
                           "augmented_written": 2, "augmented_rejected": 2}


def test_rejected_examples_are_not_in_the_shards_or_stats(bad_run):
    info = tfser_beam.read_info(bad_run.out_dir)
    stats = info["normalisation"]["per_speaker"]["synthetic:S01M"]["test_peak_dbfs"]
    assert stats["count"] == info["counts"]["per_speaker"]["synthetic:S01M"]["written"]
    assert np.isfinite(stats["mean"]).all()
