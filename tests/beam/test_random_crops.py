"""Paper 004's random 4 s crops: extra TRAIN examples at seeded random offsets."""

import numpy as np
import pytest

from tfser import beam as tfser_beam
from tfser.beam import work
from tfser.features import example_codec
from tfser.features import registry
from tfser.testing.audio import write_tone

from tests.beam.helpers import config_path

SPEC = example_codec.LabelFieldSpec("emotion", "hard", (), ("a", "b"))


def _item(path, crops):
    return work.WorkItem(utt_id="u1", speaker_id="s1", session_id="", group="s1",
                         audio_path=path, random_crops=crops, crop_seconds=4.0,
                         labels={"emotion": example_codec.LabelValue(np.array(1), 1.0)})


def test_crops_are_seeded_segments_inside_the_signal():
    waveform = np.arange(16000 * 6, dtype=np.float32)
    first = work.random_crop(waveform, 16000, 4.0, "u1", 1)
    assert len(first) == 64000 and first[0] == int(first[0])
    offset = int(first[0])
    np.testing.assert_array_equal(first, waveform[offset:offset + 64000])
    np.testing.assert_array_equal(first, work.random_crop(waveform, 16000, 4.0, "u1", 1))
    others = {int(work.random_crop(waveform, 16000, 4.0, "u1", k)[0]) for k in range(2, 6)}
    assert len(others | {offset}) > 1   # different indices, different offsets
    short = waveform[:16000]
    assert work.random_crop(short, 16000, 4.0, "u1", 1) is short


def test_featurize_item_writes_the_original_and_each_crop(tmp_path):
    path = write_tone(str(tmp_path / "long.wav"), 6.0, f0=180.0)
    settings = work.WorkSettings(definitions=(registry.get("spec_004"),), label_specs=(SPEC,))
    extractors = [registry.FeatureExtractor(d).setup() for d in settings.definitions]
    outcomes = list(work.featurize_item(_item(path, 2), extractors, settings))
    assert [o.variant for o in outcomes] == ["original", "crop1", "crop2"]
    assert all(isinstance(o, work.Written) for o in outcomes)
    assert [o.group for o in outcomes] == ["s1", "s1.crop1", "s1.crop2"]
    assert outcomes[1].audio_s == pytest.approx(4.0)
    # Augmented copies never enter the normalisation statistics.
    assert outcomes[0].moments and not outcomes[1].moments


def test_config_names_the_crop_variants_and_refuses_other_features():
    config = tfser_beam.load_config(config_path("synthetic_004.yaml"), ["random_crops=2"])
    assert config.variants == ("crop1", "crop2") and config.crop_seconds == 4.0
    assert config.to_dict()["random_crops"] == 2
    with pytest.raises(ValueError, match=r"random_crops: .*spec_004\] only"):
        tfser_beam.load_config(config_path("synthetic_000.yaml"), ["random_crops=2"])
    plain = tfser_beam.load_config(config_path("synthetic_004.yaml"))
    assert "random_crops" not in plain.to_dict()   # hashes of older configs unchanged
