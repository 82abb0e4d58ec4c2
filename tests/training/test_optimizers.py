"""Coupled weight decay: an L2 term of the gradient that flows through the momentum."""

import numpy as np
import pytest
import keras

from tfser.training import optimizers
from tfser.training.config import OptimizerConfig
from tfser.training.runtime import build_optimizer


def _two_steps(optimizer, kernel, bias, grad):
    variables = [keras.Variable(kernel), keras.Variable(bias)]
    for _ in range(2):
        optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(grad),
                                       keras.ops.zeros_like(bias)], variables))
    return [np.asarray(v) for v in variables]


def test_coupled_sgd_equals_the_hand_computed_momentum_update():
    kernel = np.array([[1.0, -2.0]], dtype=np.float32)
    bias = np.array([3.0], dtype=np.float32)
    grad = np.array([[0.5, 0.5]], dtype=np.float32)
    lr, momentum, l2 = 0.1, 0.9, 0.01
    got_kernel, got_bias = _two_steps(
        optimizers.CoupledSGD(learning_rate=lr, momentum=momentum, l2=l2), kernel, bias, grad)
    # Keras' SGD momentum: m = momentum * m - lr * g; w += m, with g = grad + l2 * w.
    w, m = kernel.copy(), np.zeros_like(kernel)
    for _ in range(2):
        m = momentum * m - lr * (grad + l2 * w)
        w = w + m
    np.testing.assert_allclose(got_kernel, w, rtol=1e-6)
    np.testing.assert_array_equal(got_bias, bias)   # biases do not decay


def test_coupled_and_decoupled_differ_under_momentum():
    kernel = np.ones((2, 2), dtype=np.float32)
    bias = np.zeros(2, dtype=np.float32)
    grad = np.zeros((2, 2), dtype=np.float32)
    coupled = build_optimizer(OptimizerConfig(name="sgd", learning_rate=0.1, momentum=0.9,
                                              weight_decay=0.1, weight_decay_mode="coupled"))
    decoupled = build_optimizer(OptimizerConfig(name="sgd", learning_rate=0.1, momentum=0.9,
                                                weight_decay=0.1))
    assert isinstance(coupled, optimizers.CoupledSGD)
    assert not isinstance(decoupled, optimizers.CoupledWeightDecay)
    after_coupled = _two_steps(coupled, kernel, bias, grad)[0]
    after_decoupled = _two_steps(decoupled, kernel, bias, grad)[0]
    # Coupled: the decay is accumulated by the momentum, so it shrinks faster.
    assert after_coupled[0, 0] < after_decoupled[0, 0] < 1.0


@pytest.mark.parametrize("name", sorted(optimizers.COUPLED))
def test_every_coupled_optimizer_round_trips(name):
    optimizer = build_optimizer(OptimizerConfig(name=name, weight_decay=5e-4,
                                                weight_decay_mode="coupled"))
    config = optimizer.get_config()
    assert config["l2"] == pytest.approx(5e-4)
    clone = type(optimizer).from_config(config)
    assert clone.l2 == pytest.approx(5e-4)
    assert keras.saving.get_registered_name(type(optimizer)).startswith("tfser>")
