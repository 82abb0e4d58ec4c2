"""Optimizers whose weight decay is an L2 term of the gradient (``weight_decay_mode: coupled``).

Keras' own ``weight_decay`` is *decoupled* (AdamW style): after the update it shrinks
each variable by ``learning_rate * weight_decay * w``, outside the momentum and adaptive
statistics. Caffe and MatConvNet, with which papers such as 004 (VGG-M, "weight decay
5e-4") were trained, add ``weight_decay * w`` to the gradient instead, i.e. the gradient
of an L2 penalty ``weight_decay / 2 * ||w||^2``, which then flows through the momentum.
With plain SGD the two agree; with momentum 0.9 the coupled decay acts about ten times
as strongly at steady state. These subclasses give the coupled form. As in those
frameworks' VGG recipes, only kernels (variables of rank >= 2) decay, not biases or
normalisation parameters.
"""

from __future__ import annotations

import keras


class CoupledWeightDecay:
    """Mixin: ``grad + l2 * w`` for every kernel before the optimizer's own update.

    Args:
      l2: The decay coefficient (the paper's "weight decay").
    """

    def __init__(self, *args, l2: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.l2 = float(l2)

    def apply(self, grads, trainable_variables=None):
        variables = (trainable_variables if trainable_variables is not None
                     else self._trainable_variables)
        grads = [grad if grad is None or len(variable.shape) < 2
                 else grad + keras.ops.cast(self.l2, grad.dtype) * variable
                 for grad, variable in zip(grads, variables)]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        config = super().get_config()
        config["l2"] = self.l2
        return config


@keras.saving.register_keras_serializable(package="tfser")
class CoupledSGD(CoupledWeightDecay, keras.optimizers.SGD):
    """SGD (with momentum) and coupled weight decay."""


@keras.saving.register_keras_serializable(package="tfser")
class CoupledAdam(CoupledWeightDecay, keras.optimizers.Adam):
    """Adam with an L2 gradient term (not AdamW)."""


@keras.saving.register_keras_serializable(package="tfser")
class CoupledAdamax(CoupledWeightDecay, keras.optimizers.Adamax):
    """Adamax with an L2 gradient term."""


@keras.saving.register_keras_serializable(package="tfser")
class CoupledRMSprop(CoupledWeightDecay, keras.optimizers.RMSprop):
    """RMSprop with an L2 gradient term."""


COUPLED = {"sgd": CoupledSGD, "adam": CoupledAdam, "adamax": CoupledAdamax,
           "rmsprop": CoupledRMSprop}
