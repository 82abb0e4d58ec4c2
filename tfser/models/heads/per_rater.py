"""One class distribution per rater (paper 002's individual-rater models)."""

from __future__ import annotations

import keras

from tfser.models.config import HeadConfig
from tfser.models.heads.registry import hidden_layers, register_head, require_utterance_level
from tfser.models.layers import PerRaterDense, RaterEmbeddingLogits

RATER_MODES = ("dense", "embedding")


@register_head("per_rater")
def per_rater(embedding, config: HeadConfig):
    """``[B, D] -> [B, R, K]``: every rater's predicted class distribution.

    ``params``:
      * ``num_raters`` (required): R, the rater axis of the per-rater targets;
      * ``rater_mode``: ``"dense"`` (default) gives each rater a classifier of its own,
        as 002's per-rater models; ``"embedding"`` shares one classifier conditioned on
        a learned rater vector, for corpora with many raters;
      * ``embedding_dim`` / ``rater_hidden_units``: sizes of the embedding mode.

    Raters who did not rate an example are masked by the reader's ``[B, R]`` weights.
    """
    require_utterance_level(embedding, config)
    params = dict(config.params)
    if "num_raters" not in params:
        raise ValueError(f"per-rater head '{config.name}' needs params.num_raters")
    mode = params.get("rater_mode", "dense")
    if mode not in RATER_MODES:
        raise ValueError(f"head '{config.name}': rater_mode must be one of {RATER_MODES}")
    x = hidden_layers(embedding, config)
    if mode == "dense":
        logits = PerRaterDense(params["num_raters"], config.units,
                               name=f"{config.name}_logits")(x)
    else:
        logits = RaterEmbeddingLogits(params["num_raters"], config.units,
                                      embedding_dim=params.get("embedding_dim", 16),
                                      hidden_units=params.get("rater_hidden_units", 64),
                                      name=f"{config.name}_logits")(x)
    return keras.layers.Activation("softmax", name=config.name)(logits)
