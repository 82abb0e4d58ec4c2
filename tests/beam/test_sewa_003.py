"""configs/featurize/sewa_003.yaml (paper 003 on SEWA) featurizes the SEWA format fixture."""

import numpy as np

from tfser import annotations
from tfser import beam as tfser_beam
from tfser.corpora import sewa
from tfser.testing.fixtures import sewa as fixture

from tests.beam.helpers import config_path, decode_files

from tfser.testing.audio import write_tone


def test_sewa_003_featurizes_the_fixture_with_the_paper_shift(tmp_path):
    written = fixture.write(str(tmp_path / "corpus"))
    # The fixture ships audio for one unlabelled recording only; give every labelled
    # recording a tone as long as its labels (the AVEC package has all recordings).
    for utt, frames in written["label_frames"].items():
        write_tone(str(tmp_path / "corpus" / "audio" / f"{utt}.wav"), frames / 10.0,
                   sample_rate=16000)
    table_dir = str(tmp_path / "table")
    table = sewa.load(str(tmp_path / "corpus"), table_dir=table_dir,
                      speaker_per_recording=True).table
    annotations.save_table(table, table_dir)
    config = tfser_beam.load_config(config_path("sewa_003.yaml"),
                                    ["split.params.k=2",
                                     "split.params.dev_fraction=0.3"])
    assert config.traces.label_shift_s == 0.1 and config.continuous
    result = tfser_beam.build_pipeline(config, table_dir, str(tmp_path / "out"))
    info = result.info
    assert [spec["head"] for spec in info["labels"]] == ["traces"]
    specs = {f["name"]: f for f in info["features"]}
    assert specs["visual_features"]["frame_rate_hz"] == 10.0
    assert specs["audio_features_mfcc_functionals"]["dim"] == 6
    files = [f for g in info["groups"].values() for f in g["files"]]
    decoded = decode_files([f"{result.out_dir}/{f}" for f in files], info)
    labelled = {e["meta"]["utt_id"]: e for e in decoded}
    # Only the labelled Train and Devel recordings have targets to learn from.
    assert labelled and set(labelled) <= set(written["label_frames"])
    for utt, example in labelled.items():
        frames = example["features"]["visual_features"].shape[0]
        assert example["targets"]["traces"].shape == (frames, 3)
        # The 0.1 s shift pairs feature frame k with label frame k + 1.
        gold = np.stack([table.load_trace(i) for i in table.traces[
            (table.traces.utt_id == utt) & (table.traces.kind == "label")].index], axis=1)
        np.testing.assert_allclose(example["targets"]["traces"][:, :],
                                   gold.reshape(len(gold), -1)[1:frames + 1, :3], rtol=1e-5)
