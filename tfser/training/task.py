"""The speech-emotion task: datasets, model, losses and metrics of one experiment.

Everything problem-specific lives here; :mod:`tfser.training.trainer` only drives
``fit``. Feature sizes and head sizes are read from the label and feature specs in
``dataset_info.json``, so an experiment names heads by their stored label view::

    task = EmotionTask(config)                 # an ExperimentConfig with data_dir set
    model = task.build_model()
    model.compile(optimizer=..., **task.compile_kwargs())
    model.fit(task.build_dataset("train"), validation_data=task.build_dataset("dev"))
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Dict, List, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfser import data
from tfser import models
from tfser.config.errors import UserError
from tfser.models.config import FeatureInput, HeadConfig, ModelConfig, TrunkConfig
from tfser.training import run_dir as run_dir_lib
from tfser.training.config import ExperimentConfig


class EmotionTask:
    """Builds the inputs, model and compile arguments of an :class:`ExperimentConfig`.

    Attributes:
      config: The experiment.
      info: The featurized directory's :class:`~tfser.data.DatasetInfo`.
      model_config: The full :class:`~tfser.models.ModelConfig` (features and head
        sizes from the specs).
    """

    def __init__(self, config: ExperimentConfig):
        if not config.data_dir:
            raise ValueError(f"experiment '{config.name}' has no data_dir (pass --data_dir)")
        self.config = config
        self.info = data.load_info(config.data_dir)
        self.info.check_fold(config.fold)
        self.model_config = self._model_config()

    @property
    def feature_names(self) -> List[str]:
        return [feature.name for feature in self.model_config.features]

    @property
    def head_names(self) -> List[str]:
        return [head.name for head in self.model_config.heads]

    @property
    def trunk_sources(self) -> List[str]:
        """Where a restored trunk comes from (``init_from`` / ``fuse``); empty for a new one."""
        trunk = self.config.model["trunk"]
        if trunk.get("init_from") is not None:
            return [trunk["init_from"]]
        return list(trunk.get("fuse") or ())

    def restore_trunks(self) -> List[keras.Model]:
        """The trained trunks of :attr:`trunk_sources` (this fold's, for a cross-validation),
        frozen unless the config says ``freeze: false`` (call inside the strategy scope)."""
        fold = self.info.fold_name(self.config.fold)
        trainable = not self.config.model["trunk"].get("freeze", True)
        return [restored_trunk(source, fold, trainable) for source in self.trunk_sources]

    def _model_config(self) -> ModelConfig:
        names = list(self.config.features) or list(self.info.feature_specs)
        if self.trunk_sources:
            # A restored trunk reads what it was trained on: the features its inputs name.
            inputs = {key for trunk in self.restore_trunks() for key in trunk.input}
            names = [name for name in self.info.feature_specs if name in inputs]
        unknown = [name for name in names if name not in self.info.feature_specs]
        if unknown:
            raise ValueError(f"features {unknown} are not in {self.info.data_dir}; stored: "
                             f"{list(self.info.feature_specs)}")
        features = tuple(FeatureInput.from_spec(self.info.feature_specs[n]) for n in names)
        heads = []
        for head in self.config.model["heads"]:
            fields = {key: _plain(value) for key, value in head.items() if key != "name"}
            spec = self.info.label_specs.get(head["name"])
            if spec is None:
                raise ValueError(f"head '{head['name']}' is not a label view of "
                                 f"{self.info.data_dir}; stored: "
                                 f"{list(self.info.label_specs)}")
            heads.append(HeadConfig.from_label_spec(spec, **fields))
        trunk = None if self.trunk_sources else TrunkConfig.from_dict(
            _plain(self.config.model["trunk"]))
        return ModelConfig(features=features, trunk=trunk, heads=tuple(heads),
                           name=self.config.model.get("name", "tfser_model"),
                           loss_weighting=self.config.model.get("loss_weighting", "fixed"))

    def build_model(self) -> keras.Model:
        """The uncompiled model (call inside the strategy scope): a new trunk, or the
        restored ones under new heads (two-stage training)."""
        if self.trunk_sources:
            return models.fuse_trunks(self.restore_trunks(), self.model_config.heads,
                                      name=self.model_config.name,
                                      trainable=not self.config.model["trunk"].get("freeze",
                                                                                   True))
        return models.build_model(self.model_config)

    def compile_kwargs(self, model: Optional[keras.Model] = None) -> Dict[str, Any]:
        """``loss``, ``loss_weights`` and ``weighted_metrics`` keyed by head (``model``:
        the built model, needed when the loss weights are learned). Class-weighted heads
        with a class-wise binary cross-entropy get :meth:`existence_class_weights` in
        their loss."""
        weights = self.existence_class_weights()
        heads = tuple(models.with_existence_weights(head, *weights[head.name])
                      if head.name in weights else head for head in self.model_config.heads)
        return models.compile_kwargs(dataclasses.replace(self.model_config, heads=heads),
                                     model)

    def _weighted_heads(self, existence: bool) -> List[str]:
        """Heads with class weighting on whose loss does (not) take existence weights."""
        return [head.name for head in self.model_config.heads
                if self.config.class_weighting.get(head.name)
                and models.takes_existence_weights(head) == existence]

    def class_weights(self) -> Dict[str, List[float]]:
        """Inverse class-frequency weights of the weighted heads, folded into their sample
        weights (categorical, soft, per-rater heads)."""
        return {head: data.class_weights(self.info, self.config.fold, head).tolist()
                for head in self._weighted_heads(existence=False)}

    @functools.cached_property
    def _existence_class_weights(self) -> Dict[str, Tuple[List[float], List[float]]]:
        # Read once: compile_kwargs may be called again (custom loop, resume).
        return {head: tuple(w.tolist() for w in models.existence_weights(
                    *data.training_targets(self.info, self.config.fold, head)))
                for head in self._weighted_heads(existence=True)}

    def existence_class_weights(self) -> Dict[str, Tuple[List[float], List[float]]]:
        """Paper 001's MLEE class weights of the weighted heads whose loss is class-wise
        binary cross-entropy (existence, multi-label): per class, the inverse frequencies
        of existent and non-existent labels on the fold's training originals, as
        ``(positive_weights, negative_weights)``."""
        return dict(self._existence_class_weights)

    def build_dataset(self, part: str, cache: Optional[bool] = None) -> tf.data.Dataset:
        """``(features, targets, sample_weights)`` batches of one part of the fold.

        Training batches are shuffled with the config's seed (unless ``shuffle`` is
        off), carry the class weights
        and stop after ``max_steps_per_epoch`` batches when that is set. ``cache`` is
        the reader's (None: small fixed-size data in memory after the first pass; pass
        False for a dataset read once or only in part).
        """
        training = part == "train"
        dataset = data.build_dataset(
            self.info, self.config.fold, part, features=self.feature_names,
            heads=self.head_names, batch_size=self.config.batch_size,
            shuffle=training and self.config.shuffle, seed=self.config.seed,
            deterministic=True, cache=cache)
        return self._training_batches(dataset) if training else dataset

    def _training_batches(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """Training batches with the class weights folded in, capped at
        ``max_steps_per_epoch``."""
        weights = self.class_weights()
        if weights:
            # After the reader's prefetch: parallel and prefetched again, or this
            # per-batch step would run in the training loop's critical path.
            dataset = dataset.map(models.fold_class_weights(weights),
                                  num_parallel_calls=tf.data.AUTOTUNE,
                                  deterministic=True).prefetch(tf.data.AUTOTUNE)
        if self.config.max_steps_per_epoch:
            dataset = dataset.take(self.config.max_steps_per_epoch)
        return dataset

    @property
    def precomputes_trunks(self) -> bool:
        """Whether the restored, frozen trunks run once per example
        (``model.trunk.precompute``): only the new heads train, on
        :meth:`embedded_dataset`."""
        return bool(self.trunk_sources and self.config.model["trunk"].get("precompute"))

    def embedded_dataset(self, part: str, embedder: keras.Model) -> tf.data.Dataset:
        """``(embedding, targets, sample_weights)`` batches of one part of the fold.

        Every example (augmented copies too, for training) goes once through
        ``embedder`` in inference mode (the first half of
        :func:`~tfser.models.split_at_embedding`); the embeddings are kept in memory,
        ``[examples, D]``. Training batches are then reshuffled each epoch with the
        config's seed (unless ``shuffle`` is off) and carry the class weights, as
        :meth:`build_dataset`'s.
        """
        source = data.build_dataset(
            self.info, self.config.fold, part, features=self.feature_names,
            heads=self.head_names, batch_size=self.config.batch_size, shuffle=False,
            deterministic=True, cache=False)
        signature = [{key: tf.TensorSpec(tensor.shape, tensor.dtype)
                      for key, tensor in embedder.input.items()}]
        # One graph for batches of every size and length (the open axes of the inputs).
        embed = tf.function(lambda inputs: embedder(inputs, training=False),
                            input_signature=signature)
        embeddings, targets, weights = [], [], []
        for features, target, weight in source:
            embeddings.append(embed({key: features[key] for key in embedder.input}).numpy())
            targets.append({key: value.numpy() for key, value in target.items()})
            weights.append({key: value.numpy() for key, value in weight.items()})
        if not embeddings:
            raise ValueError(f"part '{part}' of fold {self.info.fold_name(self.config.fold)} "
                             f"of {self.info.data_dir} has no examples")
        stacked = (np.concatenate(embeddings),
                   {key: np.concatenate([t[key] for t in targets]) for key in targets[0]},
                   {key: np.concatenate([w[key] for w in weights]) for key in weights[0]})
        dataset = tf.data.Dataset.from_tensor_slices(stacked)
        if part != "train":
            return dataset.batch(self.config.batch_size)
        if self.config.shuffle:
            dataset = dataset.shuffle(len(stacked[0]), seed=self.config.seed,
                                      reshuffle_each_iteration=True)
        return self._training_batches(dataset.batch(self.config.batch_size))


def restored_trunk(source: str, fold: str, trainable: bool = False) -> keras.Model:
    """The trained trunk of ``source``: a trunk ``.keras`` file, a run directory (its
    best checkpoint), or a cross-validation directory (the run of fold ``fold``).

    Raises:
      UserError: No such file or run, or a cross-validation without that fold.
    """
    if source.endswith(".keras"):
        if not os.path.isfile(source):
            raise UserError(f"no trunk file {source}, check model.trunk")
        return models.load_trunk(source, trainable=trainable)
    run_dir = source
    folds_file = os.path.join(source, run_dir_lib.FOLDS_FILE)
    if os.path.exists(folds_file):
        entries = run_dir_lib.read_folds(source)["folds"]
        entry = next((e for e in entries if e["name"] == fold), None)
        if entry is None:
            raise UserError(f"{source} has no fold {fold!r} (folds: "
                            f"{[e['name'] for e in entries]}); train the first stage on the "
                            "same featurized split")
        run_dir = os.path.join(source, entry["dir"])
    try:
        path = run_dir_lib.checkpoint_path(run_dir, "best")
    except FileNotFoundError as error:
        raise UserError(f"{error}; model.trunk must name a trained run") from None
    trunk = models.get_trunk(keras.saving.load_model(path, compile=False))
    trunk.trainable = trainable
    return trunk


def _plain(value: Any) -> Any:
    """A plain dict/list copy of the frozen config data."""
    if hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
