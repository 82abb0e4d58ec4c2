"""TFRecords of a featurized data directory -> batched, normalised ``tf.data`` pipelines.

:func:`build_dataset` yields ``(features, targets, sample_weights)``, the tuple Keras
``model.fit`` takes, all three dicts:

``features``
    ``{name: float32 [B, D] or [B, T, D]}``, z-normalised in-graph. A sequence feature
    is zero-padded to the longest example of its batch (0 is the normalised mean), and
    its true frame counts come as ``features["<name>_length"]`` (int32 ``[B]``, see
    :func:`length_key`); a model that masks padding (``keras.layers.Masking``, an RNN's
    ``mask``) builds its mask from that input, e.g. with
    ``keras.ops.arange(T)[None, :] < lengths[:, None]``. Models that ignore lengths can pass
    ``lengths=False`` (Keras warns about inputs a model does not consume).
``targets``
    ``{head: target}`` with the head's stored shape ``[B, *shape]`` (int64 class
    indices for hard and speaker heads, float32 otherwise); frame-level (sequence)
    targets are ``[B, T, *shape]``, zero-padded. An unlabelled example's target is all
    zeros (never the stored placeholder, e.g. class -1), so every loss stays finite.
``sample_weights``
    ``{head: float32}`` for every selected head (Keras needs a weight for each output
    once it gets any). Zero where an example has no label for the head, so a masked
    label contributes nothing; its target is then zeros. The shape depends on the head:

    * plain heads: ``[B]``;
    * element-masked heads (``LabelFieldSpec.element_mask``) get one weight per
      independent target: ``[B, R]`` for a per-rater head of shape ``(R, K)`` (each
      rater's distribution over K classes is one target, masked as a whole; the mask
      is reduced over the class axis), ``[B, A]`` for a dimensional head of shape
      ``(A,)``. Rule: the weight drops the last axis of a target of rank >= 2 and keeps
      a rank-1 target's axis;
    * sequence heads: ``[B, T]``, zero on padded frames and on unlabelled examples.

    Keras multiplies each loss output by its weight element-wise, so a loss must
    return values of the weight's shape: built-in losses that reduce the last axis
    already do for per-rater and sequence heads (e.g. ``CategoricalCrossentropy`` on
    ``[B, R, K]`` returns ``[B, R]``); a dimensional head needs a loss returning
    ``[B, A]``. Use ``reduction="mean_with_sample_weight"`` to average over labelled
    elements only. Batch statistics such as CCC must use the weights themselves: a
    ``keras.losses.Loss`` subclass that overrides ``__call__(y_true, y_pred,
    sample_weight)`` receives them from ``model.fit``.

With ``return_meta=True`` a fourth dict carries the example's meta strings
(``utt_id``, ``speaker_id``, ...), for writing per-utterance predictions; drop it
before handing the dataset to Keras.

TFRecord keys are spelled only by :mod:`tfser.features.example_codec`; this module
uses its parser.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from tfser.data import memory
from tfser.data import normalise as norm
from tfser.data.info import DatasetInfo, FoldKey, load_info
from tfser.features import example_codec as codec
from tfser.features.example_codec import LENGTH_SUFFIX, length_key  # noqa: F401  (re-exported)

DEFAULT_SHUFFLE_BUFFER = 1024
# cache=None caches a part in memory when all it reads is fixed-size and its parsed
# examples take at most this much (functionals: ~1 M examples of 88 values).
AUTO_CACHE_MAX_BYTES = 512 * memory.MIB
# Enough speaker files read at once to mix speakers well without thousands of open files.
MAX_PARALLEL_FILES = 16

InfoOrDir = Union[str, os.PathLike, DatasetInfo]


def _as_info(data_dir: InfoOrDir) -> DatasetInfo:
    return data_dir if isinstance(data_dir, DatasetInfo) else load_info(os.fspath(data_dir))


def _select(requested: Optional[Sequence[str]], available: Mapping, what: str) -> List[str]:
    if requested is None:
        return list(available)
    if isinstance(requested, str):
        requested = [requested]
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; valid: {list(available)}")
    return list(dict.fromkeys(requested))


def _existing_files(info: DatasetInfo, fold: FoldKey, part: str,
                    include_variants: bool) -> List[str]:
    files = info.files(fold, part, include_variants)
    if not files:
        raise ValueError(f"fold {fold!r} part '{part}' of {info.data_dir} lists no files")
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(files)} files of fold {fold!r} "
                                f"part '{part}' are missing, e.g. {missing[:3]}")
    return files


def _keep_listed(dataset: tf.data.Dataset, info: DatasetInfo, fold: FoldKey,
                 part: str) -> tf.data.Dataset:
    """Serialized records of the part's own utterances, when its fold's parts share
    speakers and so shard files (e.g. a split by sentence); unchanged otherwise."""
    listed = info.utterances(fold, part)
    if listed is None:
        return dataset
    table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant(listed, tf.string), tf.ones(len(listed), tf.int32)), default_value=0)
    return dataset.filter(lambda serialized: table.lookup(codec.parse_utt_id(serialized)) > 0)


def _normalisers(info: DatasetInfo, fold: FoldKey, part: str, names: Sequence[str],
                 normalisation: Union[str, Mapping[str, str]],
                 std_floor: float, clip_sigma: Optional[float] = None
                 ) -> Dict[str, norm.NormaliseFn]:
    """One in-graph normalisation function per selected feature."""
    if isinstance(normalisation, str):
        modes = {name: normalisation for name in names}
    else:
        _select(list(normalisation), info.feature_specs, "features in normalisation")
        modes = {name: normalisation.get(name, "auto") for name in names}
    result = {}
    for name in names:
        mode = modes[name]
        if mode == "auto":
            mode = info.default_normalisation(name)
        norm.check_mode(mode, name)
        dim = info.feature_specs[name].dim
        if mode == "none":
            result[name] = norm.identity_normaliser()
        elif mode == "global":
            result[name] = norm.global_normaliser(info.global_stats(fold, name), dim,
                                                  std_floor, name, clip_sigma)
        else:
            stats = info.speaker_stats(name)
            missing = sorted(set(info.speakers(fold, part)) - set(stats))
            if missing:
                raise ValueError(f"feature '{name}': no per-speaker statistics for "
                                 f"speakers {missing} of fold {fold} part '{part}'")
            try:
                fallback = info.global_stats(fold, name)
            except ValueError:
                fallback = None  # every speaker read has its own statistics anyway
            result[name] = norm.per_speaker_normaliser(stats, dim, fallback, std_floor, name,
                                                       clip_sigma)
    return result


def _add_rater_slices(info: DatasetInfo, heads: Sequence[str], targets, weights,
                      masks) -> None:
    """Adds the rater-slice heads among ``heads`` to one parsed example (in place): the
    rater's row of the per-rater target, weighted where that rater labelled the example
    (:mod:`tfser.data.rater_slices`)."""
    for head in heads:
        source = info.label_specs.source(head)
        if source is not None:
            view, index, _ = source
            targets[head] = targets[view][index]
            weights[head] = weights[view] * tf.reduce_max(masks[view][index])


def _sample_weight(spec: codec.LabelFieldSpec, weight, mask, target):
    """A head's weight in the shape its loss returns (see the module docstring)."""
    if spec.sequence:
        # Padding appends zeros, which turns this into the frame mask.
        return weight * tf.ones(tf.shape(target)[:1], tf.float32)
    if spec.element_mask:
        if len(spec.shape) >= 2:
            mask = tf.reduce_max(mask, axis=-1)
        return weight * mask
    return weight


def _masked_target(target, weight):
    """Zeros for an unlabelled example: stored placeholders such as the class index -1
    of a hard view would make a sparse cross-entropy fail or return NaN, and NaN times
    a zero weight is still NaN."""
    return tf.where(weight > 0, target, tf.zeros_like(target))


def build_dataset(data_dir: InfoOrDir, fold: FoldKey = 0, part: str = "train",
                  features: Optional[Sequence[str]] = None,
                  heads: Optional[Sequence[str]] = None, batch_size: int = 32,
                  shuffle: Optional[bool] = None, seed: int = 0,
                  normalisation: Union[str, Mapping[str, str]] = "auto",
                  include_variants: Optional[bool] = None,
                  pad_to_bucket: Optional[Sequence[int]] = None,
                  drop_remainder: bool = False, repeat: bool = False,
                  cache: Union[bool, str, None] = None,
                  deterministic: Optional[bool] = None,
                  num_parallel_calls: int = tf.data.AUTOTUNE, return_meta: bool = False,
                  lengths: bool = True, shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
                  std_floor: float = norm.DEFAULT_STD_FLOOR,
                  clip_sigma: Union[str, float, None] = "auto",
                  memory_budget: Optional[int] = None) -> tf.data.Dataset:
    """Builds the input pipeline of one fold's part (see the module docstring).

    Args:
      data_dir: Featurized data directory, or a :class:`DatasetInfo` already loaded.
      fold: Fold of the split protocol, by index or name.
      part: ``"train"``, ``"dev"`` or ``"test"``.
      features: Feature sets to read (default: all stored).
      heads: Label heads to read (default: all stored); ``[]`` for none.
      batch_size: Examples per batch.
      shuffle: Shuffle files and examples (default: True for train only).
      seed: Shuffle seed.
      normalisation: ``"auto"`` (the sidecar's choice per feature set), ``"global"``
        (the fold's training-speaker statistics), ``"per_speaker"``, ``"none"``, or a
        mapping feature -> one of these (unlisted features: ``"auto"``).
      include_variants: Add the augmented copies (default: True for train, the only
        part that has them).
      pad_to_bucket: Bucket boundaries (frames) for sequence inputs: examples are
        grouped by length into the buckets and each batch is padded to its longest
        example, which wastes less compute on padding. The length is the longest
        selected sequence feature (or sequence target when no feature is one).
      drop_remainder: Drop a last incomplete batch (per bucket when bucketing).
      repeat: Repeat forever (then pass ``steps_per_epoch`` to ``fit``).
      cache: Cache parsed, normalised examples: True in memory, a path for a file,
        False never; None (default) caches in memory when every selected feature and
        head is fixed-size (functionals) and the part's parsed examples fit in
        :data:`AUTO_CACHE_MAX_BYTES` (see :func:`auto_cache`). An in-memory cache over
        ``memory_budget`` is refused with a warning and the part streamed from the
        TFRecords instead. Parsing one example at
        a time costs more than a training step of a small functionals model takes;
        from the second pass on, cached examples are only reshuffled and batched.
        Examples cached in memory are reshuffled over the whole part each epoch.
      deterministic: Keep a fixed element order despite parallelism (default: True
        unless shuffling; pass True with a seed for a reproducible shuffled order).
      num_parallel_calls: Parallelism of reading and parsing.
      return_meta: Append the meta dict as a fourth element.
      lengths: Add ``"<name>_length"`` inputs for sequence features.
      shuffle_buffer: Examples held by the shuffle buffer (at most: an uncached part's
        buffer is capped to half the memory budget in bytes).
      std_floor: Smallest std used in normalisation.
      clip_sigma: Clip normalised features to +-this many standard deviations;
        ``"auto"`` (default) takes the featurize config's ``clip_sigma`` from the
        sidecar, None or 0 turns clipping off (see :mod:`tfser.data.normalise`).
      memory_budget: Bytes the reader's buffers (in-memory cache or shuffle buffer,
        and tf.data's autotuned read-ahead and prefetch) may hold; default
        :data:`tfser.data.memory.DEFAULT_MEMORY_BUDGET` (see :mod:`tfser.data.memory`).

    Returns:
      A ``tf.data.Dataset`` of ``(features, targets, sample_weights[, meta])``.

    Raises:
      ValueError: Unknown fold, part, feature, head or normalisation mode; missing
        statistics; bad batch size or buckets.
      FileNotFoundError: No sidecar, or missing shard files.
    """
    info = _as_info(data_dir)
    info.check_fold(fold)
    training = part == "train"
    include_variants = training if include_variants is None else bool(include_variants)
    files = _existing_files(info, fold, part, include_variants)
    feature_names = _select(features, info.feature_specs, "features")
    head_names = _select(heads, info.label_specs, "heads")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    shuffle = training if shuffle is None else bool(shuffle)
    # Unshuffled data is read for evaluation or inspection, where order matters.
    deterministic = (not shuffle) if deterministic is None else bool(deterministic)

    feature_specs = [info.feature_specs[n] for n in feature_names]
    label_specs = [info.label_specs[h] for h in head_names]
    clashes = [length_key(s.name) for s in feature_specs
               if s.sequence and lengths and length_key(s.name) in info.feature_specs]
    if clashes:
        raise ValueError(f"stored features {clashes} clash with length inputs; pass "
                         "lengths=False")
    if clip_sigma == "auto":
        clip_sigma = info.clip_sigma
    normalisers = _normalisers(info, fold, part, feature_names, normalisation, std_floor,
                               clip_sigma)
    budget = memory.check_budget(memory.DEFAULT_MEMORY_BUDGET if memory_budget is None
                                 else memory_budget)
    automatic = cache is None
    if automatic:
        cache = auto_cache(info, fold, part, include_variants, feature_specs, label_specs,
                           budget=min(budget, AUTO_CACHE_MAX_BYTES))
    count = info.count(fold, part, include_variants)
    plan = memory.plan_memory(
        count or 0, memory.mean_record_bytes(files, info.raw.get("groups", {}), info.data_dir,
                                             count),
        cache, shuffle_buffer, budget, whole_part_shuffle=shuffle)
    if automatic:
        plan = dataclasses.replace(plan, note="")  # nobody asked for the cache
    memory.log_plan(plan, f"{info.data_dir} fold {fold!r} part '{part}'")
    cache = plan.cache
    parse = codec.make_parser(feature_specs, info.label_specs.stored_specs(head_names))

    def to_model_inputs(serialized):
        meta, raw, targets, weights, masks = parse(serialized)
        _add_rater_slices(info, head_names, targets, weights, masks)
        x = {}
        for spec in feature_specs:
            x[spec.name] = normalisers[spec.name](raw[spec.name], meta["speaker_id"])
            if spec.sequence and lengths:
                x[length_key(spec.name)] = tf.shape(raw[spec.name], out_type=tf.int32)[0]
        y = {spec.head: _masked_target(targets[spec.head], weights[spec.head])
             for spec in label_specs}
        sw = {spec.head: _sample_weight(spec, weights[spec.head], masks.get(spec.head),
                                        targets[spec.head]) for spec in label_specs}
        return (x, y, sw, meta) if return_meta else (x, y, sw)

    if shuffle:
        dataset = tf.data.Dataset.from_tensor_slices(files).shuffle(
            len(files), seed=seed, reshuffle_each_iteration=True)
        # Interleaving one record at a time from many speaker files mixes speakers
        # before the (bounded) shuffle buffer does the rest.
        dataset = dataset.interleave(
            tf.data.TFRecordDataset, cycle_length=min(len(files), MAX_PARALLEL_FILES),
            block_length=1, num_parallel_calls=num_parallel_calls,
            deterministic=deterministic)
    else:
        # Sequential reading keeps evaluation order: files sorted, then stored order.
        dataset = tf.data.TFRecordDataset(files)
    dataset = _keep_listed(dataset, info, fold, part)
    if shuffle and not cache:
        dataset = dataset.shuffle(plan.shuffle_buffer, seed=seed,
                                  reshuffle_each_iteration=True)
    dataset = dataset.map(to_model_inputs, num_parallel_calls=num_parallel_calls,
                          deterministic=deterministic)
    if cache:
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
        if shuffle:
            # In memory, the whole part is reshuffled (plan.shuffle_buffer covers it),
            # not a window of the order the first pass happened to cache; on disk the
            # buffer is budgeted like an uncached one.
            dataset = dataset.shuffle(plan.shuffle_buffer, seed=seed,
                                      reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = _batch(dataset, feature_specs, label_specs, batch_size, pad_to_bucket,
                     drop_remainder)
    if count is not None and not repeat and pad_to_bucket is None:
        # TFRecord files do not tell tf.data their length; stating it lets Keras size
        # its progress bar and epochs, and a wrong count in the sidecar fails loudly.
        steps = count // batch_size if drop_remainder else math.ceil(count / batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps))
    options = tf.data.Options()
    # Autotuned parallelism and prefetch buffers grow up to this (tf.data's default is
    # half the machine's RAM).
    options.autotune.ram_budget = plan.ram_budget
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def auto_cache(info: DatasetInfo, fold: FoldKey, part: str, include_variants: bool,
               feature_specs: Sequence[codec.FeatureSpec],
               label_specs: Sequence[codec.LabelFieldSpec],
               budget: Optional[int] = None) -> bool:
    """Whether ``cache=None`` caches a part in memory (see :func:`build_dataset`).

    True when no selected feature or head is a sequence and the sidecar's example
    count times the parsed size (float32 features, plus a generous 1 KiB per example
    for targets, weights and meta strings) is at most ``budget`` (default
    :data:`AUTO_CACHE_MAX_BYTES`).
    """
    if any(spec.sequence for spec in feature_specs) or any(
            spec.sequence for spec in label_specs):
        return False
    count = info.count(fold, part, include_variants)
    if count is None:
        return False
    per_example = memory.PER_EXAMPLE_OVERHEAD + sum(4 * int(np.prod(spec.shape))
                                                    for spec in feature_specs)
    return count * per_example <= (AUTO_CACHE_MAX_BYTES if budget is None else budget)


def _batch(dataset, feature_specs, label_specs, batch_size, pad_to_bucket, drop_remainder):
    sequences = [s.name for s in feature_specs if s.sequence]
    sequence_heads = [s.head for s in label_specs if s.sequence]
    if not sequences and not sequence_heads:
        if pad_to_bucket is not None:
            raise ValueError("pad_to_bucket needs a sequence feature or head; the selected "
                             "ones are all fixed-size")
        return dataset.batch(batch_size, drop_remainder=drop_remainder)
    if pad_to_bucket is None:
        return dataset.padded_batch(batch_size, drop_remainder=drop_remainder)
    boundaries = [int(b) for b in pad_to_bucket]
    if not boundaries or any(b < 1 for b in boundaries) or boundaries != sorted(
            set(boundaries)):
        raise ValueError(f"pad_to_bucket must be strictly increasing positive frame "
                         f"counts, got {list(pad_to_bucket)}")

    def length(x, y, *rest):
        del rest
        if sequences:
            return tf.reduce_max(tf.stack([tf.shape(x[n])[0] for n in sequences]))
        return tf.reduce_max(tf.stack([tf.shape(y[h])[0] for h in sequence_heads]))

    return dataset.bucket_by_sequence_length(
        length, boundaries, [batch_size] * (len(boundaries) + 1),
        drop_remainder=drop_remainder)


def count_examples(data_dir: InfoOrDir, fold: FoldKey = 0, part: str = "train",
                   include_variants: Optional[bool] = None) -> int:
    """Examples in a fold's part: from the sidecar when it says, else by reading."""
    info = _as_info(data_dir)
    include_variants = (part == "train") if include_variants is None else include_variants
    stored = info.count(fold, part, include_variants)
    if stored is not None:
        return stored
    dataset = _keep_listed(tf.data.TFRecordDataset(
        _existing_files(info, fold, part, include_variants)), info, fold, part)
    return int(dataset.reduce(np.int64(0), lambda n, _: n + 1))


def steps_per_epoch(data_dir: InfoOrDir, fold: FoldKey = 0, part: str = "train",
                    batch_size: int = 32, include_variants: Optional[bool] = None,
                    drop_remainder: bool = False) -> int:
    """Batches in one pass over a part with plain (unbucketed) batching.

    With ``pad_to_bucket`` every bucket may end with a partial batch, so a pass has up
    to one batch per bucket more; use ``repeat=True`` with this figure there.
    """
    count = count_examples(data_dir, fold, part, include_variants)
    return count // batch_size if drop_remainder else math.ceil(count / batch_size)


def class_weights(data_dir: InfoOrDir, fold: FoldKey, head: str) -> np.ndarray:
    """Inverse class-frequency weights of a head from the fold's training originals.

    ``w_k = N / (K * n_k)`` over the K classes present in training (1 for every class
    when balanced; each class's weighted count is then N / K). Counts are labelled
    examples for hard heads and summed target mass for soft, multi-label and per-rater
    heads (masked ones excluded).
    A class absent from training gets weight 0. For Keras' ``class_weight`` (single
    output models) pass ``dict(enumerate(weights))``.

    Returns:
      float32 [K].

    Raises:
      ValueError: Unknown head, or a head without classes or a frame-level one.
    """
    info = _as_info(data_dir)
    info.check_fold(fold)
    spec = info.label_specs[_select([head], info.label_specs, "heads")[0]]
    if spec.sequence or not spec.classes:
        raise ValueError(f"head '{head}' ({spec.kind}) has no class distribution to weight")
    counts = np.asarray(_count_classes(info, fold, spec), dtype=np.float64)
    num_classes = int((counts > 0).sum())
    total = counts.sum()
    weights = np.divide(total, num_classes * counts, out=np.zeros_like(counts),
                        where=counts > 0)
    return weights.astype(np.float32)


def training_targets(data_dir: InfoOrDir, fold: FoldKey, head: str):
    """Targets and label weights of a head over the fold's training originals.

    For statistics that need every example rather than class sums, e.g. paper 001's
    existent / non-existent frequencies per class
    (:func:`tfser.models.class_weighting.existence_weights`).

    Returns:
      ``(targets, weights)``: the stored targets stacked ``[N, ...]`` (element masks
      multiplied in) and float32 ``[N]`` label weights (0 = unlabelled).

    Raises:
      ValueError: Unknown head or a frame-level one.
    """
    info = _as_info(data_dir)
    info.check_fold(fold)
    spec = info.label_specs[_select([head], info.label_specs, "heads")[0]]
    if spec.sequence:
        raise ValueError(f"head '{head}' ({spec.kind}) is frame-level; its targets do not "
                         "stack per utterance")
    parse = _label_parser(info, spec.head)

    def per_example(serialized):
        targets, weights, masks = parse(serialized)
        target = targets[spec.head]
        if spec.head in masks:
            target = target * tf.cast(masks[spec.head], target.dtype)
        return target, tf.cast(weights[spec.head], tf.float32)

    batches = list(_training_originals(info, fold).map(per_example).batch(4096)
                   .as_numpy_iterator())
    if not batches:
        return np.zeros((0,) + tuple(spec.shape)), np.zeros(0, dtype=np.float32)
    return (np.concatenate([t for t, _ in batches]),
            np.concatenate([w for _, w in batches]).reshape(-1))


def _label_parser(info: DatasetInfo, head: str):
    """``parse(serialized) -> (targets, weights, masks)`` of one head (a rater slice
    included), without features."""
    parse = codec.make_parser([], info.label_specs.stored_specs([head]))

    def labels(serialized):
        _, _, targets, weights, masks = parse(serialized)
        _add_rater_slices(info, [head], targets, weights, masks)
        return targets, weights, masks

    return labels


def label_summary(data_dir: InfoOrDir, head: str, fold: FoldKey = 0) -> Dict[str, Any]:
    """How much data a head has and how its labels spread over the classes.

    Counted over the original (not augmented) utterances of every part of ``fold``
    (with a leave-one-out protocol: the whole corpus), e.g. paper 002's Table 1.

    Returns:
      ``{"labelled": utterances with a label, "classes": names, "distribution":
      {class: share of the label mass}}`` (hard heads: one per labelled utterance;
      soft and rater-slice heads: their distributions summed).

    Raises:
      ValueError: Unknown head, or one without classes or frame-level.
    """
    info = _as_info(data_dir)
    info.check_fold(fold)
    spec = info.label_specs[_select([head], info.label_specs, "heads")[0]]
    if spec.sequence or not spec.classes or spec.kind == "per_rater":
        raise ValueError(f"head '{head}' ({spec.kind}) has no single class distribution")
    files = sorted({f for part in ("train", "dev", "test")
                    for f in _existing_files(info, fold, part, False)})
    num_classes = len(spec.classes)
    parse = _label_parser(info, head)

    def per_example(serialized):
        targets, weights, _ = parse(serialized)
        value = targets[head]
        mass = tf.one_hot(value, num_classes) if spec.dtype == tf.int64 else value
        labelled = tf.cast(weights[head] > 0, tf.float32)
        return labelled, labelled * tf.cast(mass, tf.float32)

    count, mass = tf.data.TFRecordDataset(files).map(per_example).reduce(
        (0.0, tf.zeros(num_classes)), lambda acc, v: (acc[0] + v[0], acc[1] + v[1]))
    mass = mass.numpy()
    total = float(mass.sum())
    return {"labelled": int(count), "classes": list(spec.classes),
            "distribution": {name: (float(m) / total if total else 0.0)
                             for name, m in zip(spec.classes, mass)}}


def _training_originals(info: DatasetInfo, fold: FoldKey) -> tf.data.Dataset:
    """Serialized training examples without augmented copies (they repeat their labels)."""
    return _keep_listed(tf.data.TFRecordDataset(_existing_files(info, fold, "train", False)),
                        info, fold, "train")


def _count_classes(info: DatasetInfo, fold: FoldKey,
                   spec: codec.LabelFieldSpec) -> np.ndarray:
    parse = _label_parser(info, spec.head)
    num_classes = len(spec.classes) if spec.dtype == tf.int64 else spec.shape[-1]

    def per_example(serialized):
        targets, weights, masks = parse(serialized)
        weight = weights[spec.head]
        if spec.dtype == tf.int64:
            return weight * tf.one_hot(targets[spec.head], num_classes)
        values = targets[spec.head] * weight
        if spec.head in masks:
            values = values * masks[spec.head]
        return tf.reshape(values, (-1, num_classes))

    dataset = _training_originals(info, fold).map(per_example)
    return dataset.reduce(tf.zeros(num_classes), lambda acc, v: acc + tf.reduce_sum(
        tf.reshape(v, (-1, num_classes)), axis=0)).numpy()
