"""The sole owner of tfser's TFRecord schema: keys, encoding and parsing.

One ``tf.train.Example`` per utterance (or per augmented variant of one). Arrays are
stored as raw little-endian float32 bytes plus their shape, which parses ~50x faster
than Python float lists; labels are small and stored as typed lists.

Keys::

    utt_id, speaker_id, session_id, group, variant          bytes
    feature/<name>          bytes   raw float32 of an array of rank 1 ([D]) or 2 ([T, D])
    feature/<name>/shape    int64   the array's shape
    label/<head>            int64 (hard, speaker) or float (every other view), flattened
    label/<head>/weight     float   1 when the example has this label, else 0 (masked)
    label/<head>/mask       float   element mask, flattened (per-rater and dimensional heads)
    label/<head>            bytes   raw float32 [T, D] for frame-level (sequence) heads (003),
                                    whose frame count is that of the paired feature stream

The head name is the label key, the loss key, the metric prefix and the serving
output key downstream. Nothing outside this module spells a key.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

META_KEYS = ("utt_id", "speaker_id", "session_id", "group", "variant")
INT_KINDS = ("hard", "speaker")


def feature_key(name: str) -> str:
    return f"feature/{name}"


def feature_shape_key(name: str) -> str:
    return f"feature/{name}/shape"


LENGTH_SUFFIX = "_length"


def length_key(feature: str) -> str:
    """Name of the model input carrying a sequence feature's true frame count.

    Not a TFRecord key (lengths come from the stored shape); it names the extra input
    that the reader yields and sequence trunks consume, so both sides agree here.
    """
    return feature + LENGTH_SUFFIX


def label_key(head: str) -> str:
    return f"label/{head}"


def label_weight_key(head: str) -> str:
    return f"label/{head}/weight"


def label_mask_key(head: str) -> str:
    return f"label/{head}/mask"


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """One stored feature array.

    Attributes:
      name: Feature-set name (``egemaps_functionals``, ``logspec_001``, ...).
      dim: Size of the last axis.
      sequence: True for ``[T, dim]`` frame matrices, False for ``[dim]`` vectors.
      frame_rate_hz: Frames per second of a sequence (None for vectors).
    """

    name: str
    dim: int
    sequence: bool = False
    frame_rate_hz: Optional[float] = None

    @property
    def shape(self) -> Tuple[Optional[int], ...]:
        return (None, self.dim) if self.sequence else (self.dim,)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeatureSpec":
        return cls(**dict(data))


@dataclasses.dataclass(frozen=True)
class LabelFieldSpec:
    """One stored label view (a head's target).

    Attributes:
      head: Head name (the key everywhere downstream).
      kind: View kind (``hard``, ``soft``, ``secondary``, ``existence``,
        ``per_rater``, ``dimensional``, ``speaker``).
      shape: Shape of one example's target (``()`` for class indices).
      classes: Class names (or attribute names / rater ids / speakers).
      element_mask: True when the view carries a per-element mask.
      sequence: True for frame-level targets ``[T, *shape]`` (time-continuous traces).
    """

    head: str
    kind: str
    shape: Tuple[int, ...] = ()
    classes: Tuple[str, ...] = ()
    element_mask: bool = False
    sequence: bool = False

    @property
    def dtype(self) -> tf.DType:
        return tf.int64 if self.kind in INT_KINDS and not self.sequence else tf.float32

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["shape"] = list(self.shape)
        data["classes"] = list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LabelFieldSpec":
        data = dict(data)
        data["shape"] = tuple(data.get("shape", ()))
        data["classes"] = tuple(data.get("classes", ()))
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class LabelValue:
    """One example's value of one label view."""

    value: np.ndarray
    weight: float
    element_mask: Optional[np.ndarray] = None


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _ints(values) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def _floats(values) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(
        values, dtype=np.float32).ravel().tolist()))


def encode_example(meta: Mapping[str, str], features: Mapping[str, np.ndarray],
                   labels: Mapping[str, LabelValue],
                   label_specs: Mapping[str, LabelFieldSpec]) -> bytes:
    """Serialises one example.

    Args:
      meta: Values of :data:`META_KEYS` (missing ones are written empty).
      features: Feature-set name -> float array (rank 1 or 2).
      labels: Head -> :class:`LabelValue`; heads of ``label_specs`` that are missing
        here are written with weight 0 (masked), never dropped.
      label_specs: Head -> spec, fixing each head's shape and dtype.

    Raises:
      ValueError: On non-finite features or a label of the wrong size.
    """
    fields: Dict[str, tf.train.Feature] = {
        key: _bytes(str(meta.get(key) or "").encode("utf-8")) for key in META_KEYS}
    for name, array in features.items():
        array = np.ascontiguousarray(array, dtype="<f4")
        if array.ndim not in (1, 2):
            raise ValueError(f"{meta.get('utt_id')}: feature '{name}' has rank {array.ndim}; "
                             "expected [D] or [T, D]")
        if not np.isfinite(array).all():
            raise ValueError(f"{meta.get('utt_id')}: feature '{name}' contains NaN or inf")
        fields[feature_key(name)] = _bytes(array.tobytes())
        fields[feature_shape_key(name)] = _ints(array.shape)
    for head, spec in label_specs.items():
        label = labels.get(head)
        if spec.sequence:
            frames = (np.zeros((0,) + spec.shape) if label is None
                      else np.asarray(label.value, dtype="<f4"))
            if frames.shape[1:] != spec.shape:
                raise ValueError(f"{meta.get('utt_id')}: label '{head}' has frame shape "
                                 f"{frames.shape[1:]}; its spec says {spec.shape}")
            if not np.isfinite(frames).all():
                raise ValueError(f"{meta.get('utt_id')}: label '{head}' contains NaN or inf")
            fields[label_key(head)] = _bytes(np.ascontiguousarray(frames, "<f4").tobytes())
            fields[label_weight_key(head)] = _floats([0.0 if label is None else label.weight])
            continue
        if label is None:
            value = np.zeros(spec.size)
            weight = 0.0
            mask = np.zeros(spec.size) if spec.element_mask else None
        else:
            value, weight = np.asarray(label.value).ravel(), float(label.weight)
            mask = label.element_mask
            if value.size != spec.size:
                raise ValueError(f"{meta.get('utt_id')}: label '{head}' has {value.size} "
                                 f"values; its spec says shape {spec.shape}")
            if spec.element_mask and mask is None:
                mask = np.ones(spec.size)
        fields[label_key(head)] = (_ints(value) if spec.dtype == tf.int64 else _floats(value))
        fields[label_weight_key(head)] = _floats([weight])
        if spec.element_mask:
            fields[label_mask_key(head)] = _floats(np.asarray(mask).ravel())
    # Deterministic map order: equal examples give byte-identical shards across runs.
    return tf.train.Example(features=tf.train.Features(feature=fields)).SerializeToString(
        deterministic=True)


def example_utt_id(serialized: bytes) -> str:
    """The utterance id of a serialised example (sort key of shard files)."""
    example = tf.train.Example.FromString(serialized)
    return example.features.feature["utt_id"].bytes_list.value[0].decode("utf-8")


def parse_utt_id(serialized: tf.Tensor) -> tf.Tensor:
    """The utterance id of a serialised example, in graph (for filtering a part)."""
    return tf.io.parse_single_example(
        serialized, {"utt_id": tf.io.FixedLenFeature([], tf.string, default_value="")}
    )["utt_id"]


def parse_spec(feature_specs: Sequence[FeatureSpec],
               label_specs: Sequence[LabelFieldSpec]) -> Dict[str, Any]:
    """The ``tf.io.parse_single_example`` feature description."""
    description: Dict[str, Any] = {key: tf.io.FixedLenFeature([], tf.string, default_value="")
                                   for key in META_KEYS}
    for spec in feature_specs:
        description[feature_key(spec.name)] = tf.io.FixedLenFeature([], tf.string)
        description[feature_shape_key(spec.name)] = tf.io.FixedLenFeature(
            [2 if spec.sequence else 1], tf.int64)
    for spec in label_specs:
        if spec.sequence:
            description[label_key(spec.head)] = tf.io.FixedLenFeature([], tf.string)
            description[label_weight_key(spec.head)] = tf.io.FixedLenFeature([1], tf.float32)
            continue
        description[label_key(spec.head)] = tf.io.FixedLenFeature([spec.size], spec.dtype)
        description[label_weight_key(spec.head)] = tf.io.FixedLenFeature([1], tf.float32)
        if spec.element_mask:
            description[label_mask_key(spec.head)] = tf.io.FixedLenFeature([spec.size],
                                                                           tf.float32)
    return description


def make_parser(feature_specs: Sequence[FeatureSpec], label_specs: Sequence[LabelFieldSpec]):
    """Returns ``parse(serialized) -> (meta, features, targets, weights, masks)`` for tf.data.

    ``targets[head]`` has the spec's shape; ``weights[head]`` is a scalar float;
    ``masks[head]`` (element-masked heads only) has the target's shape.
    """
    description = parse_spec(feature_specs, label_specs)

    def parse(serialized):
        parsed = tf.io.parse_single_example(serialized, description)
        meta = {key: parsed[key] for key in META_KEYS}
        features = {}
        for spec in feature_specs:
            flat = tf.io.decode_raw(parsed[feature_key(spec.name)], tf.float32,
                                    little_endian=True)
            shape = parsed[feature_shape_key(spec.name)]
            array = tf.reshape(flat, tf.cast(shape, tf.int32))
            features[spec.name] = tf.ensure_shape(array, spec.shape)
        targets, weights, masks = {}, {}, {}
        for spec in label_specs:
            value = parsed[label_key(spec.head)]
            if spec.sequence:
                flat = tf.io.decode_raw(value, tf.float32, little_endian=True)
                targets[spec.head] = tf.reshape(flat, (-1,) + tuple(spec.shape))
            else:
                targets[spec.head] = tf.reshape(value, spec.shape) if spec.shape else value[0]
            weights[spec.head] = parsed[label_weight_key(spec.head)][0]
            if spec.element_mask:
                masks[spec.head] = tf.reshape(parsed[label_mask_key(spec.head)], spec.shape)
        return meta, features, targets, weights, masks

    return parse


def decode_example(serialized: bytes, feature_specs: Sequence[FeatureSpec],
                   label_specs: Sequence[LabelFieldSpec]) -> Dict[str, Any]:
    """Eager, numpy decoding of one example (inspection and tests)."""
    meta, features, targets, weights, masks = make_parser(feature_specs, label_specs)(
        tf.constant(serialized))
    return {
        "meta": {k: v.numpy().decode("utf-8") for k, v in meta.items()},
        "features": {k: v.numpy() for k, v in features.items()},
        "targets": {k: v.numpy() for k, v in targets.items()},
        "weights": {k: float(v.numpy()) for k, v in weights.items()},
        "masks": {k: v.numpy() for k, v in masks.items()},
    }
