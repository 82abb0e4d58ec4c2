"""Shared fixtures: the small synthetic corpus and featurized runs, made once per session."""

import pytest

from tfser import annotations
from tfser import beam as tfser_beam
from tfser import synthetic

from tests.beam.helpers import config_path

# The main run: both front-ends of the issue, LOSO folds, one speed variant (stats must
# ignore it); one variant instead of 001's two keeps the test set fast.
MAIN_OVERRIDES = ("feature_sets=[egemaps_functionals, logspec_001]", "speed_perturb=[1.1]")


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    """The small synthetic corpus (80 rated utterances + 3 recordings), seed 0."""
    out = tmp_path_factory.mktemp("synth") / "small"
    synthetic.generate(str(out), seed=0, size="small", progress=False)
    return str(out)


@pytest.fixture(scope="session")
def synth_table(synth_dir):
    return annotations.load_table(synth_dir)


@pytest.fixture(scope="session")
def main_run(synth_dir, tmp_path_factory):
    """synthetic_001 with egemaps_functionals + logspec_001 through the DirectRunner."""
    config = tfser_beam.load_config(config_path("synthetic_001.yaml"), MAIN_OVERRIDES)
    out = tmp_path_factory.mktemp("features") / "main"
    return tfser_beam.build_pipeline(config, synth_dir, str(out), log_every=1000)


@pytest.fixture(scope="session")
def continuous_run(synth_dir, tmp_path_factory):
    """synthetic_003: windowed eGeMAPS + action units against the consensus traces."""
    config = tfser_beam.load_config(config_path("synthetic_003.yaml"))
    out = tmp_path_factory.mktemp("features") / "continuous"
    return tfser_beam.build_pipeline(config, synth_dir, str(out), log_every=1000)
