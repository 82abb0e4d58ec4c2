"""Models: trunks (features -> embedding) and named heads, with their losses and metrics.

Entry points::

    from tfser import models

    model = models.build_model(config)                 # dict or ModelConfig
    model.compile(optimizer="adam", **models.compile_kwargs(config))

    trunk = models.get_trunk(model)                    # nested sub-model "trunk"
    models.save_trunk(trunk, "trunk.keras")
    fused = models.fuse_trunks([models.load_trunk("trunk.keras"), other], heads)

Sub-packages: :mod:`~tfser.models.layers` (custom layers), :mod:`~tfser.models.trunks`
and :mod:`~tfser.models.heads` (registries); modules :mod:`~tfser.models.losses`,
:mod:`~tfser.models.metrics`, :mod:`~tfser.models.class_weighting`.
"""

from tfser.models.class_weighting import (apply_class_weights, existence_weights,
                                          fold_class_weights, takes_existence_weights,
                                          with_existence_weights)
from tfser.models.config import FeatureInput, HeadConfig, ModelConfig, TrunkConfig
from tfser.models.factory import (attention_model, attention_models, build_model,
                                  compile_kwargs, freeze,
                                  fuse_trunks, get_trunk, load_trunk, save_trunk,
                                  split_at_embedding, uncertainty_weights)

__all__ = ["FeatureInput", "HeadConfig", "ModelConfig", "TrunkConfig",
           "apply_class_weights", "attention_model", "attention_models", "build_model",
           "compile_kwargs",
           "existence_weights", "fold_class_weights", "freeze", "fuse_trunks", "get_trunk",
           "load_trunk", "save_trunk", "split_at_embedding", "takes_existence_weights",
           "uncertainty_weights",
           "with_existence_weights"]
