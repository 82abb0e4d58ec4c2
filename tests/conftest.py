"""Session fixtures shared by every test package, each made once per test run.

The small synthetic corpus, its featurized runs (through the Beam DirectRunner) and a
two-fold smoke cross-validation are the expensive inputs of the beam, data, training,
evaluation, export and pipeline tests; defining them here (not in each package's
conftest) lets pytest build each of them once.
"""

import pytest

from tfser import annotations
from tfser import beam as tfser_beam
from tfser import synthetic

from tests.beam.helpers import config_path
from tests.evaluation.cv import train_cv

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


def _featurized(synth_dir, tmp_path_factory, config_name: str) -> str:
    """The small corpus featurized with ``configs/featurize/<config_name>.yaml``."""
    config = tfser_beam.load_config(config_path(f"{config_name}.yaml"))
    out = tmp_path_factory.mktemp("features") / config_name
    tfser_beam.build_pipeline(config, synth_dir, str(out), log_every=1000)
    return str(out)


@pytest.fixture(scope="session")
def data_000(synth_dir, tmp_path_factory):
    """synthetic_000 (eGeMAPS; emotion + secondary; official split) of the small corpus."""
    return _featurized(synth_dir, tmp_path_factory, "synthetic_000")


@pytest.fixture(scope="session")
def data_000_recipe(synth_dir, tmp_path_factory):
    """Recipe 000's data: synthetic_000 plus the primary vote distribution (emotion_soft)."""
    return _featurized(synth_dir, tmp_path_factory, "synthetic_000_recipe")


@pytest.fixture(scope="session")
def data_004(synth_dir, tmp_path_factory):
    """Recipe 004's data: 4 s spectrograms, emotion + speaker heads, official split."""
    return _featurized(synth_dir, tmp_path_factory, "synthetic_004_recipe")


@pytest.fixture(scope="session")
def data_002(synth_dir, tmp_path_factory):
    """Recipe 002's data: emobase LLD frames; hard, soft and per-rater views over four
    classes; leave one session out."""
    return _featurized(synth_dir, tmp_path_factory, "synthetic_002_recipe")


@pytest.fixture(scope="session")
def data_001(main_run):
    """synthetic_001 with logspec_001 (plus eGeMAPS, one speed variant), LOSO folds."""
    return main_run.out_dir


@pytest.fixture(scope="session")
def cv_run(data_001, tmp_path_factory):
    """``(model_dir, data_dir)`` of the two-fold smoke cross-validation (trained once)."""
    model_dir = str(tmp_path_factory.mktemp("cv") / "cv")
    train_cv(data_001, model_dir)
    return model_dir, data_001


@pytest.fixture(scope="session")
def cv_evaluation(cv_run, tmp_path_factory):
    """``(out_dir, metrics)`` of evaluating the cross-validation on its test parts."""
    from tfser import evaluation
    out_dir = str(tmp_path_factory.mktemp("cv_eval") / "eval")
    return out_dir, evaluation.evaluate_run(cv_run[0], out_dir)
