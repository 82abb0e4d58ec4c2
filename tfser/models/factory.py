"""Model assembly: a trunk plus named heads, trunk reuse, freezing and fusion.

A model built here is a functional ``keras.Model`` whose input is a dict of named
features and whose output is a dict ``{head name: output}``. Its trunk is a nested
sub-model (named ``config.trunk.name``, ``"trunk"`` by default), so that it can be
taken out, saved as its own ``.keras`` file, restored, frozen and combined with other
trunks under new heads::

    model = build_model(config)
    model.compile(optimizer="adam", **compile_kwargs(config))
    model.fit(train, ...)
    save_trunk(get_trunk(model), "runs/mlee/trunk.keras")

    # 001's MLEE pre-training fusion / 002's final layer:
    fused = fuse_trunks([load_trunk("runs/mlee/trunk.keras"),
                         load_trunk("runs/dominant/trunk.keras")],
                        heads=[{"name": "primary", "kind": "hard", "units": 4}])
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import keras

from tfser.models import losses as losses_lib
from tfser.models import metrics as metrics_lib
from tfser.models.config import (HeadConfig, ModelConfig, as_head_config, as_model_config,
                                 check_head_names)
from tfser.models.heads import build_heads
from tfser.models.layers import AttentionPooling, UncertaintyWeights
from tfser.models.trunks import build_trunk

# The layer whose output is a fused model's embedding: the restored trunks' outputs
# concatenated (an identity over a single trunk), the new heads' input.
EMBEDDING_LAYER = "fused_embedding"

# A model config (object or dict) or a list of head configs (objects or dicts).
HeadsLike = Union[ModelConfig, Mapping[str, Any],
                  Sequence[Union[HeadConfig, Mapping[str, Any]]]]


def build_model(config: Union[ModelConfig, Mapping[str, Any]]) -> keras.Model:
    """Builds the trunk and heads of ``config``.

    Args:
      config: A :class:`~tfser.models.config.ModelConfig` or the equivalent dict.

    Returns:
      An uncompiled ``keras.Model``: features dict in, ``{head: output}`` out.
    """
    config = as_model_config(config)
    trunk = build_trunk(config.trunk, config.features)
    return _heads_over_trunks([trunk], config.heads, config.name, config.loss_weighting)


def compile_kwargs(heads: HeadsLike, model: Optional[keras.Model] = None
                   ) -> Dict[str, Dict[str, Any]]:
    """``loss``, ``loss_weights`` and ``weighted_metrics`` dicts keyed by head name.

    Args:
      heads: The model config given to :func:`build_model` (object or dict), or the
        list of head configs.
      model: The built model; needed when the config learns its loss weights
        (``loss_weighting: uncertainty``, or a head's ``attribute_weights: learned``):
        each head's loss (that head's loss) is then wrapped in
        :class:`~tfser.models.losses.UncertaintyWeightedLoss` over the model's
        :class:`~tfser.models.layers.UncertaintyWeights` (per head: with a fixed weight
        of 1; per attribute: the head keeps its ``loss_weight``).

    The total loss Keras minimises is ``sum_h loss_weight_h * loss_h``; each head's
    loss averages over its labelled elements (sample weight > 0), and the metrics are
    weighted so that masked examples are not counted. Usage:
    ``model.compile(optimizer=..., **compile_kwargs(config))``.
    """
    per_head = _loss_weighting(heads) == "uncertainty"
    heads = _head_configs(heads)
    losses = {head.name: losses_lib.build_loss(head) for head in heads}
    weights = {head.name: float(head.loss_weight) for head in heads}
    learned = [head for head in heads if per_head or head.learns_attribute_weights]
    if learned:
        if model is None:
            raise ValueError("a model with learned loss weights (loss_weighting: "
                             "uncertainty, or attribute_weights: learned) needs the built "
                             "model for its compile arguments")
        layer = uncertainty_weights(model)
        for head in learned:
            losses[head.name] = losses_lib.UncertaintyWeightedLoss(
                losses[head.name], layer, head.name,
                head.attribute_terms if head.learns_attribute_weights else None)
            if per_head:  # the learned weight replaces the head's fixed one
                weights[head.name] = 1.0
    return {
        "loss": losses,
        "loss_weights": weights,
        "weighted_metrics": {head.name: metrics_lib.build_metrics(head) for head in heads},
    }


def _loss_weighting(heads: HeadsLike) -> str:
    if isinstance(heads, Mapping):
        heads = as_model_config(heads)
    return heads.loss_weighting if isinstance(heads, ModelConfig) else "fixed"


def uncertainty_weights(model: keras.Model) -> Optional[UncertaintyWeights]:
    """The model's learned-loss-weight layer, or None when its weights are fixed."""
    for _, layer in _walk(model):
        if isinstance(layer, UncertaintyWeights):
            return layer
    return None


def get_trunk(model: keras.Model, name: str = "trunk") -> keras.Model:
    """The nested trunk sub-model of a model built by :func:`build_model`.

    Raises:
      ValueError: No sub-model of that name.
    """
    try:
        trunk = model.get_layer(name)
    except ValueError as error:
        raise ValueError(f"model '{model.name}' has no trunk named '{name}'") from error
    if not isinstance(trunk, keras.Model):
        raise ValueError(f"layer '{name}' of model '{model.name}' is not a trunk model")
    return trunk


def freeze(model: keras.Model) -> keras.Model:
    """Makes ``model`` non-trainable in place (BatchNorm then runs in inference mode)."""
    model.trainable = False
    return model


def save_trunk(trunk: keras.Model, path: Union[str, os.PathLike]) -> str:
    """Saves a trunk alone as a ``.keras`` file (parent directories are created).

    Raises:
      ValueError: A path that does not end in ``.keras``.
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"a trunk is saved as a .keras file, got {path}")
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    trunk.save(path)
    return path


def load_trunk(path: Union[str, os.PathLike], trainable: bool = False) -> keras.Model:
    """Restores a trunk saved by :func:`save_trunk`, frozen unless ``trainable``."""
    trunk = keras.saving.load_model(os.fspath(path), compile=False)
    trunk.trainable = trainable
    return trunk


def fuse_trunks(trunks: Sequence[keras.Model], heads: HeadsLike, name: str = "fused",
                trainable: bool = False) -> keras.Model:
    """Concatenates the embeddings of several trunks under new heads.

    Paper 001's MLEE pre-training (one frozen trunk, new classifier) and pre-training
    fusion (MLEE trunk || dominant-emotion trunk), and paper 002's final layer (all
    component trunks frozen, one new softmax), are this call with one or more trunks.
    Trunks reading a feature of the same name share that input.

    Args:
      trunks: Trunk models (e.g. from :func:`load_trunk` or :func:`get_trunk`).
      heads: The new heads (configs or dicts, or a ``ModelConfig`` for its heads).
      name: Name of the fused model.
      trainable: Whether the trunks are fine-tuned (set on the trunk objects).

    Returns:
      A ``keras.Model`` with the union of the trunks' inputs and the new heads.

    Raises:
      ValueError: No trunk, or two trunks disagreeing on an input's shape or dtype.
    """
    if not trunks:
        raise ValueError("fuse_trunks needs at least one trunk")
    for trunk in trunks:
        trunk.trainable = trainable
    return _heads_over_trunks(_unique_names(trunks), _head_configs(heads), name,
                              name_embedding=True)


def split_at_embedding(model: keras.Model) -> Tuple[keras.Model, keras.Model]:
    """The two halves of a :func:`fuse_trunks` model, sharing its layers and weights.

    Training the heads half trains the fused model's heads: with frozen trunks, their
    embeddings can be computed once per example instead of once per epoch
    (``model.trunk.precompute``, :mod:`tfser.training.trainer`).

    Returns:
      ``(embedder, heads)``: features dict -> ``[B, D]`` embedding (the trunks in the
      mode they are called in; call with ``training=False`` for frozen features), and
      embedding -> ``{head: output}``.

    Raises:
      ValueError: A model without the :data:`EMBEDDING_LAYER` (not made by
        :func:`fuse_trunks`).
    """
    try:
        embedding = model.get_layer(EMBEDDING_LAYER).output
    except ValueError:
        raise ValueError(f"model '{model.name}' has no '{EMBEDDING_LAYER}' layer: only a "
                         "model of restored trunks (fuse_trunks) splits at its "
                         "embedding") from None
    return (keras.Model(model.input, embedding, name=f"{model.name}_embedder"),
            keras.Model(embedding, model.output, name=f"{model.name}_heads"))


def attention_model(model: keras.Model) -> keras.Model:
    """A model returning the attention weights ``[B, T']`` of a trunk's pooling.

    Args:
      model: A trunk with an :class:`~tfser.models.layers.AttentionPooling` layer
        (``cnn_blstm_attention``, ``blstm_dnn_attention``), or a model containing such
        a trunk (the first one found; :func:`attention_models` gives every one).

    Returns:
      A model taking the trunk's inputs (same dict keys) and returning the weights,
      one per frame after the trunk's time strides (``ceil(T / 16)`` for 001's
      defaults); weights of padded frames are 0.

    Raises:
      ValueError: No attention pooling in the model.
    """
    return attention_models(model)[0]


def attention_models(model: keras.Model) -> List[keras.Model]:
    """One attention read-out (as :func:`attention_model`) per attention pooling layer, in
    the order the trunks appear: a fused model (paper 001's MLEE fusion) has one per
    restored trunk, a sub-model on that trunk's layer named ``attention``.

    Raises:
      ValueError: No attention pooling in the model.
    """
    found = [keras.Model(owner.input, layer.output[1], name=f"{owner.name}_attention")
             for owner, layer in _walk(model) if isinstance(layer, AttentionPooling)]
    if not found:
        raise ValueError(f"model '{model.name}' has no AttentionPooling layer")
    return found


def _walk(model: keras.Model):
    """``(owning model, layer)`` pairs, depth first through nested models."""
    for layer in model.layers:
        yield model, layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def _head_configs(heads: HeadsLike) -> List[HeadConfig]:
    if isinstance(heads, Mapping):
        heads = as_model_config(heads)
    if isinstance(heads, ModelConfig):
        return list(heads.heads)
    configs = [as_head_config(head) for head in heads]
    check_head_names(configs)
    return configs


def _unique_names(trunks: Sequence[keras.Model]) -> List[keras.Model]:
    """Trunks with distinct names; a repeated name is wrapped in a renamed model.

    Restored trunks are all called ``"trunk"``; nested models need distinct names.
    The wrapper shares the trunk's layers and weights.
    """
    seen, out = set(), []
    for index, trunk in enumerate(trunks):
        if trunk.name in seen:
            wrapped = keras.Model(trunk.input, trunk.output, name=f"{trunk.name}_{index}")
            wrapped.trainable = trunk.trainable
            trunk = wrapped
        seen.add(trunk.name)
        out.append(trunk)
    return out


def _shared_inputs(trunks: Sequence[keras.Model]) -> Dict[str, keras.KerasTensor]:
    """One ``keras.Input`` per distinct input name across the trunks."""
    inputs: Dict[str, keras.KerasTensor] = {}
    for trunk in trunks:
        if not isinstance(trunk.input, dict):
            raise ValueError(f"trunk '{trunk.name}' must take a dict of named features")
        for key, tensor in trunk.input.items():
            shape, dtype = tuple(tensor.shape[1:]), tensor.dtype
            if key in inputs:
                if tuple(inputs[key].shape[1:]) != shape or inputs[key].dtype != dtype:
                    raise ValueError(f"trunks disagree on input '{key}': "
                                     f"{inputs[key].shape} vs {tensor.shape}")
                continue
            inputs[key] = keras.Input(shape=shape, dtype=dtype, name=key)
    return inputs


def _heads_over_trunks(trunks: Sequence[keras.Model], heads: Sequence[HeadConfig],
                       name: str, loss_weighting: str = "fixed",
                       name_embedding: bool = False) -> keras.Model:
    """``name_embedding``: the embedding is the output of an :data:`EMBEDDING_LAYER`
    layer even over one trunk (restored trunks: :func:`split_at_embedding`)."""
    inputs = _shared_inputs(trunks)
    embeddings = [trunk({key: inputs[key] for key in trunk.input}) for trunk in trunks]
    if len(embeddings) > 1:
        embedding = keras.layers.Concatenate(axis=-1, name=EMBEDDING_LAYER)(embeddings)
    elif name_embedding:
        embedding = keras.layers.Identity(name=EMBEDDING_LAYER)(embeddings[0])
    else:
        embedding = embeddings[0]
    terms = [head.name for head in heads] if loss_weighting == "uncertainty" else []
    terms += [term for head in heads if head.learns_attribute_weights
              for term in head.attribute_terms]
    if terms:
        # Passes the embedding through; it only holds the learned weights in the model.
        embedding = UncertaintyWeights(terms, name="uncertainty_weights")(embedding)
    return keras.Model(inputs, build_heads(list(heads), embedding), name=name)
