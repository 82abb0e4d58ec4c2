"""Output replacement: refused without overwrite, atomic with it, untouched on failure."""

import io
import logging
import os

import pytest

from tfser import beam as tfser_beam
from tfser.features import example_codec
from tfser.features import registry
from tfser.testing.processes import dead_pid

from tests.beam.helpers import config_path, subset_table

OVERRIDES = ["split={protocol: loso, params: {dev_policy: none}}"]


@pytest.fixture(scope="module")
def tiny_table(synth_table, tmp_path_factory):
    return subset_table(synth_table, tmp_path_factory.mktemp("tiny") / "table",
                        utterances_per_speaker=2, speakers=2)


def _config(*extra):
    return tfser_beam.load_config(config_path("synthetic_001.yaml"), OVERRIDES + [
        "feature_sets=[egemaps_functionals]", "speed_perturb=[]", *extra])


def _tree(directory):
    return sorted(os.path.relpath(os.path.join(d, f), directory)
                  for d, _, files in os.walk(directory) for f in files)


def _siblings(out):
    parent = os.path.dirname(out)
    name = os.path.basename(out)
    return sorted(n for n in os.listdir(parent) if n.startswith(name))


def test_existing_output_is_refused_then_replaced_atomically(tiny_table, tmp_path):
    out = str(tmp_path / "features")
    first = tfser_beam.build_pipeline(_config("num_shards=2"), tiny_table, out)
    assert first.counts["written"] == 4
    assert "examples/synthetic_S01F-00001-of-00002.tfrecord" in _tree(out)
    with open(os.path.join(out, "examples", "stale.tfrecord"), "wb") as handle:
        handle.write(b"old")
    before = _tree(out)
    with pytest.raises(FileExistsError, match="overwrite"):
        tfser_beam.build_pipeline(_config(), tiny_table, out)
    assert _tree(out) == before
    second = tfser_beam.build_pipeline(_config(), tiny_table, out, overwrite=True)
    after = _tree(out)
    assert "examples/stale.tfrecord" not in after
    assert not [f for f in after if "-of-00002" in f]     # no shard of the old layout
    assert "examples/synthetic_S01F-00000-of-00001.tfrecord" in after
    assert second.info["config"]["num_shards"] == 1
    assert _siblings(out) == ["features"]                  # no temp or old directory left


def test_a_later_run_removes_temp_folders_of_killed_runs_only(tiny_table, tmp_path, caplog):
    """A SIGKILLed featurize leaves <out>.tmp-<pid>/; the next run removes it (issue 10.7)."""
    out = str(tmp_path / "features")
    dead = f"{out}.tmp-{dead_pid()}"
    live = f"{out}.tmp-{os.getppid()}"  # a running process: maybe a concurrent run
    for folder in (dead, live):
        os.makedirs(os.path.join(folder, "examples"))
    with caplog.at_level(logging.INFO, logger="tfser"):
        tfser_beam.build_pipeline(_config(), tiny_table, out)
    assert _siblings(out) == sorted(["features", os.path.basename(live)])
    assert f"removed {dead}" in caplog.text and f"keeping {live}" in caplog.text


def _crash(sample_rate):
    def extract(waveform):
        raise RuntimeError("front-end bug")
    return extract


def test_a_failed_run_leaves_the_old_output_intact(tiny_table, tmp_path):
    out = str(tmp_path / "features")
    tfser_beam.build_pipeline(_config(), tiny_table, out)
    before = _tree(out)
    registry.register(registry.FeatureDefinition(example_codec.FeatureSpec("test_crash", 1),
                                                 _crash))
    try:
        with pytest.raises(Exception, match="front-end bug"):
            tfser_beam.build_pipeline(_config("feature_sets=[test_crash]"), tiny_table, out,
                                      overwrite=True)
    finally:
        registry.unregister("test_crash")
    assert _tree(out) == before
    assert _siblings(out) == ["features"]


def test_pipeline_options_pass_through():
    options = tfser_beam.make_pipeline_options(["--direct_num_workers=2", "--job_name=x"])
    all_options = options.get_all_options()
    assert all_options["direct_running_mode"] == "multi_threading"
    assert all_options["runner"] == "FnApiRunner"
    assert all_options["job_name"] == "x"
    explicit = tfser_beam.make_pipeline_options(
        {"direct_num_workers": 2, "direct_running_mode": "multi_processing"})
    assert explicit.get_all_options()["direct_running_mode"] == "multi_processing"
