"""class_weighting in an experiment: existence heads get 001's per-class weights in the loss."""

import numpy as np
import pytest

from tfser import training
from tfser.training.task import EmotionTask

from tests.data import builders


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return builders.write_fake_data_dir(str(tmp_path_factory.mktemp("features")))


def _task(root, weighted):
    # Fold 1 trains on spkB + spkC: 8 originals with builders.EXISTS twice, so class a
    # exists 6 times (absent 2), b and c exist 2 times (absent 6).
    overrides = ["class_weighting={}", "features=[func]", "model.trunk={type: dnn, params: {units: [4]}}",
                 "model.heads=[{name: exists}, {name: primary}]"]
    if weighted:
        overrides.append("class_weighting={exists: true, primary: true}")
    config = training.resolve_config("000_hard_pe", overrides=overrides, data_dir=root,
                                     fold=1)
    return EmotionTask(config)


def test_existence_heads_get_existent_and_non_existent_weights(fake):
    task = _task(fake.root, weighted=True)
    positive, negative = task.existence_class_weights()["exists"]
    # w+ = N / (2 n+), w- = N / (2 n-) with N = 8.
    np.testing.assert_allclose(positive, [8 / 12, 2.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(negative, [2.0, 8 / 12, 8 / 12], rtol=1e-6)
    # The categorical head keeps its inverse class frequencies in the sample weights.
    assert list(task.class_weights()) == ["primary"]
    y, p = np.array([[0, 1, 0]], np.float32), np.full((1, 3), 0.5, np.float32)
    loss = task.compile_kwargs()["loss"]["exists"]
    # Present b (w+ = 2), absent a (w- = 2) and c (w- = 2/3), each -log 0.5.
    np.testing.assert_allclose(float(loss(y, p)), (2 + 2 + 2 / 3) * np.log(2), rtol=1e-5)
    unweighted = _task(fake.root, weighted=False).compile_kwargs()["loss"]["exists"]
    np.testing.assert_allclose(float(unweighted(y, p)), 3 * np.log(2), rtol=1e-5)
