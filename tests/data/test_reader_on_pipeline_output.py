"""build_dataset on what the real Beam pipeline writes for the small synthetic corpus."""

import numpy as np
import pytest

from tfser import data
from tfser import synthetic
from tfser.beam import build_pipeline
from tfser.beam.config import FeaturizeConfig

CONFIG = {
    "feature_sets": ["logspec_001"],
    "labels": {"class_mapping": "exclude_other", "views": [
        {"name": "emotion", "kind": "hard",
         "params": {"method": "plurality", "tie_policy": "drop"}},
        {"name": "raters", "kind": "per_rater", "params": {"min_ratings": 1}},
        {"name": "dims", "kind": "dimensional"}]},
    "split": {"protocol": "official", "params": {}},
    "normalisation": {"logspec_001": "per_speaker"},
    "speed_perturb": [0.9],
}


@pytest.fixture(scope="module")
def featurized(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    synthetic.generate(str(root / "synth"), seed=0, size="small", progress=False)
    out = str(root / "features")
    build_pipeline(FeaturizeConfig.from_dict(CONFIG), str(root / "synth"), out)
    return out


def test_reads_every_written_example_with_the_documented_shapes(featurized):
    info = data.load_info(featurized)
    split = info.raw["split"]["folds"][0]
    assert data.count_examples(featurized, 0, "train") == (
        split["train"]["written"] + split["train"]["augmented"]["written"])
    seen = 0
    for x, y, w in data.build_dataset(featurized, 0, "train", batch_size=8):
        batch, frames = x["logspec_001"].shape[:2]
        assert x["logspec_001"].shape[2] == 400 and x["logspec_001_length"].shape == (batch,)
        assert int(x["logspec_001_length"].numpy().max()) == frames
        rater_count = info.label_specs["raters"].shape[0]
        assert w["raters"].shape == (batch, rater_count) and w["dims"].shape == (batch, 3)
        assert np.isfinite(x["logspec_001"].numpy()).all()
        assert y["emotion"].numpy().min() >= 0  # masked -1 placeholders are zeroed
        seen += batch
    assert seen == data.count_examples(featurized, 0, "train")


def test_per_speaker_statistics_centre_each_dev_speaker(featurized):
    dataset = data.build_dataset(featurized, 0, "dev", batch_size=64, return_meta=True)
    frames, speakers = [], []
    for x, _, _, meta in dataset.as_numpy_iterator():
        for row, length in enumerate(x["logspec_001_length"]):
            frames.append(x["logspec_001"][row, :length])
            speakers += [meta["speaker_id"][row]] * int(length)
    frames, speakers = np.concatenate(frames), np.array(speakers)
    for speaker in set(speakers):
        mean = frames[speakers == speaker].mean(axis=0)
        # float32 statistics rounded in the sidecar: centred to well under one std.
        assert np.abs(mean).max() < 1e-3, speaker
