"""Featurized synthetic data for the training tests (reuses the Beam test fixtures)."""

import pytest

from tfser import beam as tfser_beam

from tests.beam.conftest import main_run, synth_dir  # noqa: F401  (fixtures)
from tests.beam.helpers import config_path


@pytest.fixture(scope="session")
def data_000(synth_dir, tmp_path_factory):  # noqa: F811
    """synthetic_000 (eGeMAPS; emotion + secondary; official split) of the small corpus."""
    config = tfser_beam.load_config(config_path("synthetic_000.yaml"))
    out = tmp_path_factory.mktemp("features") / "synthetic_000"
    tfser_beam.build_pipeline(config, synth_dir, str(out), log_every=1000)
    return str(out)


@pytest.fixture(scope="session")
def data_001(main_run):  # noqa: F811
    """synthetic_001 with logspec_001 (plus eGeMAPS, one speed variant), LOSO folds."""
    return main_run.out_dir
