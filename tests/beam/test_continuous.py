"""Continuous recordings (003): one example per recording, sequence features and targets."""

import numpy as np

from tfser import beam as tfser_beam
from tfser.beam import work
from tfser.features import example_codec
from tfser.beam import label_fields
from tfser.features import registry

from tests.beam.helpers import decode_files


def test_one_example_per_recording_with_aligned_streams(continuous_run, synth_table):
    info = tfser_beam.read_info(continuous_run.out_dir)
    assert info["counts"]["in"] == info["counts"]["written"] == 3
    assert info["counts"]["not_selected"]["count"] == 80
    specs = {f["name"]: f for f in info["features"]}
    assert specs["windowed_egemaps_003"]["frame_rate_hz"] == 10.0
    assert specs["au"] == {"name": "au", "dim": 10, "sequence": True, "frame_rate_hz": 10.0}
    assert info["labels"][0]["head"] == "traces" and info["labels"][0]["sequence"]
    files = [f for g in info["groups"].values() for f in g["files"]]
    decoded = decode_files([f"{continuous_run.out_dir}/{f}" for f in files], info)
    assert len(decoded) == 3
    for example in decoded:
        frames = example["features"]["windowed_egemaps_003"].shape[0]
        assert example["features"]["au"].shape == (frames, 10)
        assert example["targets"]["traces"].shape == (frames, 3)
        assert example["weights"]["traces"] == 1.0
        utt = example["meta"]["utt_id"]
        consensus = label_fields.load_trace_targets(synth_table, utt)
        # No shift: frame k of the features is paired with trace frame k.
        np.testing.assert_allclose(example["targets"]["traces"], consensus[:frames])
        assert len(consensus) - frames <= 1   # at most openSMILE's incomplete last frame


def test_stats_of_a_fold_pool_its_train_recordings(continuous_run):
    info = tfser_beam.read_info(continuous_run.out_dir)
    fold = info["split"]["folds"][0]
    stats = info["normalisation"]["global"][fold["name"]]
    per_speaker = info["normalisation"]["per_speaker"]
    expected = sum(per_speaker[s]["au"]["count"] for s in fold["train"]["speakers"])
    assert stats["au"]["count"] == expected


def test_label_shift_drops_the_first_trace_frames(synth_table):
    utt = synth_table.utterances.set_index("utt_id").loc["cont_S01F_001"]
    targets = label_fields.load_trace_targets(synth_table, "cont_S01F_001")
    item = work.WorkItem(
        utt_id="cont_S01F_001", speaker_id=utt["speaker_id"], session_id="Ses1",
        group="S01F", audio_path=synth_table.resolve_audio(utt["audio_path"]),
        trace_targets=targets, trace_features={})
    spec = label_fields.trace_field_spec()
    settings = work.WorkSettings(
        definitions=(registry.get("windowed_egemaps_003"),), label_specs=(spec,),
        trace_head="traces", trace_shift=label_fields.shift_frames(2.0, 10.0))
    extractors = [registry.FeatureExtractor(d).setup() for d in settings.definitions]
    (outcome,) = list(work.featurize_item(item, extractors, settings))
    assert isinstance(outcome, work.Written)
    frames = outcome.frames["windowed_egemaps_003"]
    assert frames == len(targets) - 20
    assert outcome.moments["windowed_egemaps_003"].count == frames


def test_missing_or_broken_feature_traces_reject_the_recording(synth_table):
    utt = synth_table.utterances.set_index("utt_id").loc["cont_S01M_001"]
    targets = label_fields.load_trace_targets(synth_table, "cont_S01M_001")
    au = label_fields.load_feature_trace(synth_table, "cont_S01M_001", "au")
    settings = work.WorkSettings(
        definitions=(registry.get("egemaps_functionals"),),
        trace_feature_specs=(example_codec.FeatureSpec("au", 10, True, 10.0),),
        label_specs=(label_fields.trace_field_spec(),), trace_head="traces")
    extractors = [registry.FeatureExtractor(d).setup() for d in settings.definitions]
    broken = au.copy()
    broken[3, 2] = np.nan
    reasons = []
    for traces in ({}, {"au": broken}, {"au": au}):
        item = work.WorkItem(
            utt_id="cont_S01M_001", speaker_id=utt["speaker_id"], session_id="Ses1",
            group="S01M", audio_path=synth_table.resolve_audio(utt["audio_path"]),
            trace_targets=targets, trace_features=traces)
        (outcome,) = list(work.featurize_item(item, extractors, settings))
        reasons.append(getattr(outcome, "reason", "written"))
    assert reasons == [work.MISSING_TRACE, work.NAN_FEATURES, "written"]
