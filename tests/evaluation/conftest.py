"""A featurized LOSO corpus and a two-fold smoke cross-validation trained on it, once.

The trained cross-validation is cached in this module, so test modules elsewhere that
import :func:`cv_run` (tests/pipelines/test_evaluate.py) reuse it instead of
featurizing and training again.
"""

import pytest

from tests.beam.conftest import main_run, synth_dir  # noqa: F401  (fixtures)
from tests.training.conftest import data_001  # noqa: F401  (fixture)

# A DNN on the eGeMAPS functionals the fixture stores beside the spectrograms, with a
# hard, a soft and an existence head: every kind of head data_001 has, in seconds.
CV_EXPERIMENT = "000_hard_pe"
CV_OVERRIDES = ("model.heads=[{name: emotion}, {name: emotion_soft}, "
                "{name: emotion_exists}]",)
CV_FOLDS = (0, 1)
_CACHE = {}


def train_cv(data_dir, model_dir, **kwargs):
    """The standard two-fold smoke cross-validation of these tests."""
    from tfser import training
    return training.train_folds(CV_EXPERIMENT, model_dir, overrides=CV_OVERRIDES,
                                data_dir=data_dir, folds=list(CV_FOLDS), smoke=True,
                                **kwargs)


@pytest.fixture(scope="session")
def cv_run(request, tmp_path_factory):
    """``(model_dir, data_dir)`` of the two-fold cross-validation (trained once)."""
    if "cv_run" not in _CACHE:
        data_dir = request.getfixturevalue("data_001")
        model_dir = str(tmp_path_factory.mktemp("cv") / "cv")
        train_cv(data_dir, model_dir)
        _CACHE["cv_run"] = (model_dir, data_dir)
    return _CACHE["cv_run"]


@pytest.fixture(scope="session")
def cv_evaluation(cv_run, tmp_path_factory):
    """``(out_dir, metrics)`` of evaluating the cross-validation on its test parts."""
    if "cv_evaluation" not in _CACHE:
        from tfser import evaluation
        out_dir = str(tmp_path_factory.mktemp("cv_eval") / "eval")
        _CACHE["cv_evaluation"] = (out_dir, evaluation.evaluate_run(cv_run[0], out_dir))
    return _CACHE["cv_evaluation"]
