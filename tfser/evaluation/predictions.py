"""Per-utterance predictions: run a trained model over one fold's part of a featurized dir.

::

    model = predictions.load_checkpoint("runs/x/checkpoints/best.keras")
    frame = predictions.predict_frame(model, "build/features/synthetic_000", fold=0,
                                      part="test")
    frame[["utt_id", "emotion/pred", "emotion/target"]]

The table has one row per utterance (original examples only: augmented copies of
training utterances are left out) in the reader's stored order; its columns are laid out
by :mod:`tfser.evaluation.columns`: meta columns, the input-range columns
(``out_of_range_features``: normalised values beyond the clip, ``max_abs_z``), then per
head its outputs, decisions, targets and label masks (and, with ``reference``, the
reference view's targets and mask when no head reports them). Inputs are read unclipped to
count, then clipped as in training before the model sees them. Class, attribute and rater names come from the label specs and
vocabularies in ``dataset_info.json``.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfser import data
# Importing tfser.models registers its layers, losses and metrics with Keras, which
# loading a saved tfser model needs.
from tfser import models  # noqa: F401  # pylint: disable=unused-import
from tfser.data import normalise
from tfser.data.info import FoldKey
from tfser.evaluation.columns import (MAX_ABS_Z_COLUMN, OUT_OF_RANGE_COLUMN, HeadLayout,
                                      REFERENCE_KINDS, layout_from_spec)

DEFAULT_BATCH_SIZE = 64


def load_checkpoint(path: str) -> keras.Model:
    """Loads a saved tfser model (``.keras``) for prediction, without its optimizer
    and losses.

    Raises:
      FileNotFoundError: No such file.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path} not found")
    return keras.models.load_model(path, compile=False)


def head_layouts(info: data.DatasetInfo, heads: Sequence[str]) -> Dict[str, HeadLayout]:
    """``{head: HeadLayout}`` of stored label views.

    Raises:
      ValueError: A head that is not a label view of the directory.
    """
    unknown = [head for head in heads if head not in info.label_specs]
    if unknown:
        raise ValueError(f"heads {unknown} are not label views of {info.data_dir}; stored: "
                         f"{list(info.label_specs)}")
    metadata = info.raw.get("label_metadata", {})
    return {head: layout_from_spec(info.label_specs[head], metadata.get(head))
            for head in heads}


def reference_layout(info: data.DatasetInfo, reference: str) -> HeadLayout:
    """The layout of the label view decisions are scored against (a hard view).

    Raises:
      ValueError: ``reference`` is not a label view of the directory, or not of a
        kind that holds one class per utterance.
    """
    layout = head_layouts(info, [reference])[reference]
    if layout.kind not in REFERENCE_KINDS:
        raise ValueError(f"reference '{reference}' of {info.data_dir} is a {layout.kind} "
                         f"view; a reference must be of kind {' or '.join(REFERENCE_KINDS)} "
                         "(one class per utterance), e.g. emotion")
    return layout


def model_inputs(model: keras.Model) -> List[str]:
    """Names of a functional model's dict inputs.

    Raises:
      ValueError: The model does not take a dict of named inputs.
    """
    inputs = model.input
    if not isinstance(inputs, Mapping):
        raise ValueError(f"model '{model.name}' takes {type(inputs).__name__} inputs; "
                         "tfser models take a dict of named features")
    return list(inputs)


def model_heads(model: keras.Model) -> List[str]:
    """Names of a model's dict outputs (its heads).

    Raises:
      ValueError: The model does not return a dict of named outputs.
    """
    outputs = model.output
    if not isinstance(outputs, Mapping):
        raise ValueError(f"model '{model.name}' returns {type(outputs).__name__}; tfser "
                         "models return a dict {head: output}")
    return list(outputs)


def _out_of_range(x: Mapping[str, tf.Tensor], features: Sequence[str],
                  clip_sigma: float) -> Tuple[np.ndarray, np.ndarray]:
    """Per example of a batch: normalised values beyond the clip, and the largest |z|."""
    count, magnitude = None, None
    for name in features:
        lengths = x.get(data.length_key(name))
        valid = None if lengths is None or len(x[name].shape) != 3 else tf.sequence_mask(
            lengths, tf.shape(x[name])[1])
        c, m = normalise.out_of_range(x[name], clip_sigma or float("inf"), valid)
        count = c if count is None else count + c
        magnitude = m if magnitude is None else tf.maximum(magnitude, m)
    return count.numpy(), magnitude.numpy()


def _decode(values) -> List[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v)
            for v in np.asarray(values).reshape(-1)]


def _unbatch(values) -> List[np.ndarray]:
    """The examples of a padded batch (sequence heads; padding is cut by the weights)."""
    return list(np.asarray(values))


def predict_frame(model: keras.Model, data_dir: Union[str, os.PathLike, data.DatasetInfo],
                  fold: FoldKey = 0, part: str = "test",
                  heads: Optional[Sequence[str]] = None,
                  batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: Optional[Callable[[int], None]] = None,
                  reference: Optional[str] = None) -> pd.DataFrame:
    """Predicts every utterance of one fold's part and lays the results out as a table.

    Args:
      model: A trained tfser model (dict of features in, ``{head: output}`` out).
      data_dir: The featurized directory (or its loaded :class:`~tfser.data.DatasetInfo`).
      fold: Fold index or name.
      part: ``test``, ``dev`` or ``train`` (originals only).
      heads: Heads to report (default: every output of the model).
      batch_size: Examples per prediction batch.
      progress: Called with the number of utterances done after each batch.
      reference: A hard label view to score decisions against; when the model has no
        head for it, its ``<reference>/target`` and ``<reference>/labelled`` columns
        are read from the data and appended after the heads' columns.

    Returns:
      One row per utterance: ``utt_id``, ``speaker_id``, ``fold`` (the fold's name),
      ``part``, then each head's columns (:mod:`tfser.evaluation.columns`).

    Raises:
      ValueError: A model input that is not a stored feature (or length input), a head
        that is not a model output or not a label view, a reference that is not a hard
        label view, an unknown fold or part, or duplicate utterance ids in the part.
      FileNotFoundError: Missing sidecar or shard files.
    """
    info = data_dir if isinstance(data_dir, data.DatasetInfo) else data.load_info(
        os.fspath(data_dir))
    fold_name = info.fold_name(fold)
    inputs = model_inputs(model)
    features = [name for name in inputs if name in info.feature_specs]
    lengths = {data.length_key(name) for name in features}
    unknown = [name for name in inputs if name not in info.feature_specs
               and name not in lengths]
    if unknown:
        raise ValueError(f"model inputs {unknown} are neither features of {info.data_dir} "
                         f"nor their length inputs; stored features: "
                         f"{list(info.feature_specs)}")
    outputs = model_heads(model)
    heads = list(outputs if heads is None else heads)
    missing = [head for head in heads if head not in outputs]
    if missing:
        raise ValueError(f"heads {missing} are not outputs of model '{model.name}'; its "
                         f"outputs: {outputs}")
    layouts = head_layouts(info, heads)
    # The reference's targets are read beside the heads' when no head reports them.
    extra = reference_layout(info, reference) if reference is not None else None
    if extra is not None and extra.head in heads:
        extra = None
    read = heads + ([extra.head] if extra is not None else [])
    # Read unclipped, so that inputs far outside the training range are counted per
    # utterance (as serving reports them), then clipped as in training.
    clip_sigma = info.clip_sigma
    dataset = data.build_dataset(info, fold, part, features=features, heads=read,
                                 batch_size=batch_size, shuffle=False,
                                 include_variants=False, return_meta=True,
                                 cache=False, clip_sigma=None)  # read once

    meta: Dict[str, List[str]] = {"utt_id": [], "speaker_id": []}
    beyond: List[np.ndarray] = []
    largest: List[np.ndarray] = []
    collected = {head: {"outputs": [], "targets": [], "weights": []} for head in read}
    done = 0
    for x, targets, weights, batch_meta in dataset:
        count, magnitude = _out_of_range(x, features, clip_sigma)
        beyond.append(count)
        largest.append(magnitude)
        x = {name: normalise.clip(value, clip_sigma) if name in info.feature_specs else value
             for name, value in x.items()}
        # A direct call returns tensors (predict_on_batch converts them through a
        # NumPy path that warns on every batch under NumPy 2).
        batch = {head: value.numpy() for head, value in
                 model({name: x[name] for name in inputs}, training=False).items()}
        for key in meta:
            meta[key].extend(_decode(batch_meta[key].numpy()))
        for head in heads:
            store = collected[head]
            if layouts[head].sequence:
                store["outputs"].extend(_unbatch(np.asarray(batch[head])))
                store["targets"].extend(_unbatch(targets[head].numpy()))
                store["weights"].extend(_unbatch(weights[head].numpy()))
            else:
                store["outputs"].append(np.asarray(batch[head]))
                store["targets"].append(targets[head].numpy())
                store["weights"].append(weights[head].numpy())
        if extra is not None:
            collected[extra.head]["targets"].append(targets[extra.head].numpy())
            collected[extra.head]["weights"].append(weights[extra.head].numpy())
        done += len(batch_meta["utt_id"])
        if progress is not None:
            progress(done)

    if done == 0:
        raise ValueError(f"fold '{fold_name}' part '{part}' of {info.data_dir} has no "
                         "examples")
    duplicated = pd.Series(meta["utt_id"]).duplicated()
    if duplicated.any():
        first = meta["utt_id"][int(np.flatnonzero(duplicated.to_numpy())[0])]
        raise ValueError(f"fold '{fold_name}' part '{part}' of {info.data_dir} holds "
                         f"utterance '{first}' more than once")
    columns: Dict[str, object] = {"utt_id": meta["utt_id"], "speaker_id": meta["speaker_id"],
                                  "fold": [fold_name] * done, "part": [part] * done,
                                  OUT_OF_RANGE_COLUMN: np.concatenate(beyond),
                                  MAX_ABS_Z_COLUMN: np.concatenate(largest)}
    for head in heads:
        store = collected[head]
        if layouts[head].sequence:
            columns.update(layouts[head].to_columns(store["outputs"], store["targets"],
                                                    store["weights"]))
        else:
            columns.update(layouts[head].to_columns(
                np.concatenate(store["outputs"]), np.concatenate(store["targets"]),
                np.concatenate(store["weights"])))
    if extra is not None:
        store = collected[extra.head]
        columns.update(extra.class_target_columns(np.concatenate(store["targets"]),
                                                  np.concatenate(store["weights"])))
    return pd.DataFrame(columns)
