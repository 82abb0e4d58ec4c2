"""The featurization pipeline on the small synthetic corpus, through the real DirectRunner."""

import glob
import json
import os

import numpy as np
import pandas as pd
import pytest

from tfser import beam as tfser_beam
from tfser import labels
from tfser.beam import dataset_info

from tests.beam.helpers import decode_files


@pytest.fixture(scope="module")
def info(main_run):
    return tfser_beam.read_info(main_run.out_dir)


def test_every_listed_shard_exists_and_nothing_else(main_run, info):
    listed = {f for group in info["groups"].values() for f in group["files"]}
    on_disk = {os.path.relpath(p, main_run.out_dir)
               for p in glob.glob(os.path.join(main_run.out_dir, "examples", "*"))}
    assert listed == on_disk
    # 10 speakers, each with its originals and its speed1.1 copies, one shard each.
    assert len(listed) == 20
    assert "examples/synthetic_S01F-00000-of-00001.tfrecord" in listed
    assert "examples/synthetic_S01F.speed1.1-00000-of-00001.tfrecord" in listed
    assert sorted(os.listdir(main_run.out_dir)) == [
        "config.yaml", "dataset_info.json", "examples", "rejects.csv"]


def test_counts_reconcile(info):
    counts = info["counts"]
    assert counts["table_utterances"] == 83
    assert counts["not_selected"]["count"] == 3          # the continuous recordings
    assert counts["in"] == 80
    assert counts["in"] == counts["written"] + counts["rejected"]
    assert counts["augmented"]["in"] == 80                # every speaker trains in some fold
    assert counts["augmented"]["in"] == counts["augmented"]["written"] + \
        counts["augmented"]["rejected"]
    per_speaker = counts["per_speaker"]
    assert sum(s["written"] for s in per_speaker.values()) == counts["written"]
    originals = sum(g["count"] for g in info["groups"].values() if g["variant"] == "original")
    assert originals == counts["written"]
    for fold in info["split"]["folds"]:
        parts = [fold[p] for p in ("train", "dev", "test")]
        assert sum(p["utterances"] for p in parts) == counts["in"]
        assert sum(p["written"] for p in parts) == counts["written"]
        assert not set(fold["train"]["speakers"]) & set(fold["test"]["speakers"])
    assert len(info["split"]["folds"]) == 10


def test_decoded_examples_have_shapes_and_masked_labels(main_run, info, synth_table):
    fold = info["split"]["folds"][0]
    decoded = decode_files(tfser_beam.fold_files(info, main_run.out_dir, part="test"), info)
    assert len(decoded) == fold["test"]["written"] > 0
    derived = labels.derive(synth_table, tfser_beam.load_config(
        os.path.join(main_run.out_dir, "config.yaml")).labels)
    row_of = {u: i for i, u in enumerate(derived.utt_ids)}
    for example in decoded:
        assert example["meta"]["variant"] == "original"
        assert example["meta"]["speaker_id"] in fold["test"]["speakers"]
        assert example["features"]["egemaps_functionals"].shape == (88,)
        frames = example["features"]["logspec_001"]
        assert frames.ndim == 2 and frames.shape[1] == 400 and frames.shape[0] > 50
        assert set(example["targets"]) == {"emotion", "emotion_soft", "emotion_exists"}
        assert example["targets"]["emotion_soft"].shape == (8,)
        row = row_of[example["meta"]["utt_id"]]
        hard = derived["emotion"]
        assert example["weights"]["emotion"] == float(hard.mask[row])
        assert example["targets"]["emotion"] == hard.values[row]   # -1 where masked
        np.testing.assert_allclose(example["targets"]["emotion_soft"],
                                   derived["emotion_soft"].values[row], rtol=1e-6)


def test_partly_labelled_utterances_are_kept_with_zero_weight(main_run, info, synth_table):
    decoded = decode_files([os.path.join(main_run.out_dir, f)
                            for g in info["groups"].values() if g["variant"] == "original"
                            for f in g["files"]], info)
    weights = [e["weights"]["emotion"] for e in decoded]
    # Ties leave the hard head unlabelled while the soft head still teaches.
    assert 0.0 in weights and 1.0 in weights
    assert all(e["weights"]["emotion_soft"] == 1.0 for e in decoded)


def test_global_stats_are_train_only_and_exclude_augmented_copies(main_run, info):
    fold = info["split"]["folds"][3]
    train = decode_files(tfser_beam.fold_files(info, main_run.out_dir, fold["name"]), info)
    assert len(train) == fold["train"]["written"]
    stats = info["normalisation"]["global"][fold["name"]]
    vectors = np.stack([e["features"]["egemaps_functionals"] for e in train]).astype(np.float64)
    frames = np.concatenate([e["features"]["logspec_001"] for e in train]).astype(np.float64)
    for name, data in (("egemaps_functionals", vectors), ("logspec_001", frames)):
        assert stats[name]["count"] == len(data)
        np.testing.assert_allclose(stats[name]["mean"], data.mean(axis=0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(stats[name]["std"], data.std(axis=0), rtol=1e-4, atol=1e-5)
    # Statistics over every speaker would differ: the test speaker is left out.
    test = decode_files(tfser_beam.fold_files(info, main_run.out_dir, fold["name"], "test"), info)
    everyone = np.concatenate([vectors, np.stack(
        [e["features"]["egemaps_functionals"] for e in test])])
    assert not np.allclose(stats["egemaps_functionals"]["mean"], everyone.mean(axis=0),
                           rtol=1e-6)


def test_per_speaker_stats_count_original_examples(info):
    per_speaker = info["normalisation"]["per_speaker"]
    counts = info["counts"]["per_speaker"]
    assert set(per_speaker) == set(counts)
    for speaker, features in per_speaker.items():
        assert features["egemaps_functionals"]["count"] == counts[speaker]["written"]
        assert len(features["logspec_001"]["mean"]) == 400


def test_info_records_specs_hashes_and_command(main_run, info, synth_dir):
    assert [f["name"] for f in info["features"]] == ["egemaps_functionals", "logspec_001"]
    assert info["label_metadata"]["emotion"]["classes"][0] == "angry"
    assert info["variants"] == ["original", "speed1.1"]
    for name, digest in info["table"]["sha256"].items():
        assert dataset_info.sha256_file(os.path.join(synth_dir, name)) == digest
    config = tfser_beam.load_config(os.path.join(main_run.out_dir, "config.yaml"))
    assert config.sha256() == info["config_sha256"]
    assert info["created_by"].startswith("tfser.beam.build_pipeline")
    assert info["tfser_version"]
    rejects = pd.read_csv(os.path.join(main_run.out_dir, "rejects.csv"))
    assert list(rejects.columns) == list(dataset_info.REJECT_COLUMNS)
    assert len(rejects) == info["counts"]["rejected"] + info["counts"]["augmented"]["rejected"]
    json.dumps(info)  # plain JSON all the way down


def test_summary_reports_rate_and_real_time_factor(main_run):
    lines = main_run.summary_lines()
    counts = main_run.counts
    assert lines[1] == (f"in 80 = written {counts['written']} + rejected {counts['rejected']} "
                        "(not selected: 3 of 83 table rows)")
    assert main_run.utterances_per_second > 0
    assert 0 < main_run.real_time_factor < 1
