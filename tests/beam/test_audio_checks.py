"""Featurize applies annotate's audio checks (issue 10.9): silence, clipping, duration.

Before, a near-silent file, a heavily clipped one and one longer than the export limit
became training examples without a word. Now each is flagged (``warn``: written,
counted and logged) or rejected (``reject``: in rejects.csv, ``in = written +
rejected``) according to ``audio_checks.policy``.
"""

import logging
import os

import numpy as np
import pandas as pd
import pytest

from tfser import beam as tfser_beam
from tfser.audio import audio_io
from tfser.beam import work
from tfser.export import contract
from tfser.testing import audio as test_audio

from tests.beam.helpers import registered, scalar_feature, subset_table, write_wav


def _rms(waveform):
    return np.sqrt(np.mean(np.square(waveform)))


@pytest.fixture(scope="module")
def rms_feature():
    """A cheap test-only feature (finite on quiet audio, unlike a dB level)."""
    with registered(scalar_feature("test_rms", _rms, "RMS level (test)")) as definition:
        yield definition


@pytest.fixture(scope="module")
def flawed_table(synth_table, tmp_path_factory):
    root = tmp_path_factory.mktemp("flawed")
    rng = np.random.default_rng(0)
    quiet = 1e-4 * rng.standard_normal(16000)                     # about -80 dBFS
    clipped = np.clip(5.0 * test_audio.tone(1.0), -1.0, 1.0)       # shouted into the mic
    long_tone = test_audio.tone(3.0)                               # > max_duration_s=2.5
    extra = [
        ("flaw_silent", "utt_S01F_0001", write_wav(root / "quiet.wav", quiet), True),
        ("flaw_clipped", "utt_S01M_0001", write_wav(root / "clipped.wav", clipped), True),
        ("flaw_long", "utt_S02F_0001", write_wav(root / "long.wav", long_tone), True),
    ]
    return subset_table(synth_table, root / "table", utterances_per_speaker=1, speakers=3,
                        extra_rows=extra)


def _run(table_dir, out, policy):
    config = tfser_beam.FeaturizeConfig.from_dict({
        "feature_sets": ["test_rms"],
        "labels": {"class_mapping": "exclude_other",
                   "views": [{"name": "emotion_soft", "kind": "soft", "params": {"a": 0.75}}]},
        "split": {"protocol": "loso", "params": {"dev_policy": "none"}},
        "audio_checks": {"policy": policy, "max_duration_s": 2.5}})
    return tfser_beam.build_pipeline(config, table_dir, str(out))


EXPECTED = {"flaw_silent": work.SILENT_AUDIO, "flaw_clipped": work.CLIPPED_AUDIO,
            "flaw_long": work.LONG_AUDIO}


def test_warn_keeps_flawed_audio_but_counts_and_logs_it(flawed_table, rms_feature, tmp_path,
                                                        caplog):
    with caplog.at_level(logging.WARNING, logger="tfser.beam"):
        result = _run(flawed_table, tmp_path / "warn", "warn")
    counts = result.counts
    assert counts["in"] == counts["written"] == 6 and counts["rejected"] == 0
    checks = counts["audio_checks"]
    assert checks["written_with_problems"] == 3
    assert checks["by_problem"] == {work.LONG_AUDIO: 1, work.CLIPPED_AUDIO: 1,
                                    work.SILENT_AUDIO: 1}
    problems = {u["utt_id"]: u["problems"][0] for u in checks["utterances"]}
    assert problems["flaw_silent"].startswith("silent: RMS -79.9 dBFS")
    assert problems["flaw_clipped"].startswith("clipped: ")
    assert problems["flaw_long"] == "too long: lasts 3.0 s, longer than the maximum 2.5 s"
    summary = "\n".join(result.summary_lines())
    assert "3 written utterance(s) failed the audio checks" in summary
    assert "flaw_long: too long" in summary
    assert "failed the audio checks" in caplog.text


def test_reject_leaves_flawed_audio_out_with_reasons(flawed_table, rms_feature, tmp_path):
    result = _run(flawed_table, tmp_path / "reject", "reject")
    counts = result.counts
    assert counts["in"] == 6 == counts["written"] + counts["rejected"]
    assert counts["rejected"] == 3
    assert counts["rejected_by_reason"] == {reason: 1 for reason in EXPECTED.values()}
    assert counts["audio_checks"]["written_with_problems"] == 0
    rejects = pd.read_csv(os.path.join(result.out_dir, "rejects.csv"))
    assert dict(zip(rejects["utt_id"], rejects["reason"])) == EXPECTED
    assert any("rejected, audio too long: 1" in line for line in result.summary_lines())


def test_off_checks_nothing_and_default_limit_is_the_export_limit(flawed_table, rms_feature,
                                                                  tmp_path):
    result = _run(flawed_table, tmp_path / "off", "off")
    assert result.counts["written"] == 6
    assert result.counts["audio_checks"]["written_with_problems"] == 0
    default = tfser_beam.FeaturizeConfig.from_dict({
        "feature_sets": ["test_rms"], "labels": {"views": [{"name": "e", "kind": "hard"}]}})
    assert default.audio_checks.policy == "warn"
    assert default.audio_checks.max_duration_s == contract.MAX_DURATION_S == \
        audio_io.MAX_DURATION_S == 600.0


@pytest.mark.parametrize("checks, message", [
    ({"policy": "drop"}, "audio_checks.policy: must be one of"),
    ({"clip_fraction": 2}, "audio_checks.clip_fraction: must be a share"),
    ({"silence_dbfs": 3}, "audio_checks.silence_dbfs"),
    ({"max_duration": 3}, "audio_checks: unknown keys"),
])
def test_bad_audio_checks_config_names_the_key(checks, message):
    with pytest.raises(ValueError, match=message):
        tfser_beam.FeaturizeConfig.from_dict({
            "feature_sets": ["egemaps_functionals"],
            "labels": {"views": [{"name": "e", "kind": "hard"}]}, "audio_checks": checks})
