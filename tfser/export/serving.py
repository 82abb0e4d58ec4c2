"""The serving graph: a ``tf.Module`` holding the trained model and its named signatures.

Three entry points share one path, ``raw features -> z-normalisation -> padded frames
zeroed -> model``, so they cannot drift apart:

``serving_default`` (:data:`~tfser.export.contract.FEATURES_SIGNATURE`)
    One float32 input per feature set the model reads, named after it: ``[B, D]``
    vectors or ``[B, T, D]`` frame matrices of RAW (unnormalised) values, plus
    ``<feature>_length`` int32 ``[B]`` frame counts when the model masks padding.
``serve_waveform`` (only when every feature is a spectrogram front-end)
    ``waveform`` float32 ``[B, N]`` in [-1, 1] at the export's sample rate, zero-padded
    at the end, and ``waveform_length`` int32 ``[B]`` true sample counts. The
    front-end is the very function featurization ran
    (:mod:`tfser.features.spectrogram`); samples past a row's length are zeroed first,
    so the frames of a row equal those of its unpadded waveform.
``serve_tf_example``
    ``examples``: a string ``[B]`` of serialized ``tf.train.Example`` as written by
    tfser-featurize, parsed with :mod:`tfser.features.example_codec`'s parser (only the
    model's features are read; labels are ignored).

Every signature returns ``{head: output}``: class probabilities for categorical and
speaker heads, per-class scores for multi-label and existence heads, values for
regression heads, ``[B, R, K]`` for per-rater heads; plus two diagnostics per example
(:data:`~tfser.export.contract.DIAGNOSTIC_OUTPUTS`): ``out_of_range_features``, the
number of normalised values beyond +-``clip_sigma`` training standard deviations
(clipped, as in training, by :func:`tfser.data.normalise.clip`), and ``max_abs_z``,
the largest |z| before clipping.

Inputs are declared with their shapes (``[None, 88]`` for eGeMAPS functionals,
``[None, None, 400]`` for log-power spectrograms, ``[None]`` for lengths, from the
feature specs of ``dataset_info.json``), so ``saved_model_cli show --all`` and TF
Serving's metadata tell a client what to send; a wrong dtype, rank or last axis is
refused by the signature itself. The in-graph checks raise ``InvalidArgumentError``
with a message naming the signature and input for what a shape cannot say: an empty
batch, zero-length or over-long inputs (more than
:data:`~tfser.export.contract.MAX_DURATION_S`), lengths outside ``1..T`` or not one
per example, non-finite values, waveform samples far outside [-1, 1]. (Their rank
checks stay as a guard for graphs called with unchecked shapes.)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from tfser.data import normalise as norm
from tfser.export import contract
from tfser.features import example_codec as codec
from tfser.features import spectrogram


@dataclasses.dataclass(frozen=True)
class ServedFeature:
    """One feature set the served model reads.

    Attributes:
      name: Feature-set name (model input key).
      dim: Size of the last axis.
      sequence: True for ``[T, dim]`` frames.
      frame_rate_hz: Frames per second of a sequence (None when unknown).
      stats: ``(mean, std)`` applied in-graph, or None for no normalisation.
      frontend: Spectrogram kind computing it from a waveform, or None.
      uses_length: The model has a ``<name>_length`` input for it.
      clip_sigma: Normalised values are clipped to +-this (0: no clipping; out-of-range
        values are then counted beyond the default clip).
    """

    name: str
    dim: int
    sequence: bool
    frame_rate_hz: Optional[float] = None
    stats: Optional[Tuple[Sequence[float], Sequence[float]]] = None
    frontend: Optional[str] = None
    uses_length: bool = False
    clip_sigma: float = 0.0

    @property
    def length_name(self) -> str:
        return codec.length_key(self.name)

    @property
    def input_shape(self) -> list:
        """Declared shape of the raw input: ``[batch, frames, dim]`` or ``[batch, dim]``."""
        return [None, None, self.dim] if self.sequence else [None, self.dim]

    @property
    def max_frames(self) -> Optional[int]:
        if not self.sequence or not self.frame_rate_hz:
            return None
        return int(math.ceil(contract.MAX_DURATION_S * self.frame_rate_hz)) + 1

    def codec_spec(self) -> codec.FeatureSpec:
        return codec.FeatureSpec(self.name, self.dim, self.sequence, self.frame_rate_hz)


class _Checks:
    """Input checks of one stage, gating the tensors that later ops read.

    The tensors come out of a ``tf.cond`` on all conditions, whose failing branch runs
    the assertions in the order they were added, so ops reading the gated tensors wait
    for the checks and the first failed check is the one reported. Grappler may still
    run ops that only need a statically known shape (it folds ``tf.shape`` into a
    constant) before the checks: inputs are brought to their expected rank with
    :func:`_as_rank` first, so that such ops cannot fail on a wrong rank instead.
    """

    def __init__(self, where: str):
        self.where = where
        self._items = []

    def require(self, condition, message: str, *data) -> None:
        """Adds a check: ``condition`` (any shape) must hold everywhere."""
        self._items.append((tf.reduce_all(condition), f"{self.where}: {message}", data))

    def gate(self, structure):
        """``structure`` once every check passed; InvalidArgumentError otherwise."""
        if not self._items:
            return structure
        passed = tf.reduce_all(tf.stack([condition for condition, _, _ in self._items]))

        def on_pass():
            return tf.nest.map_structure(tf.identity, structure)

        def on_fail():
            previous = []
            for condition, message, data in self._items:
                with tf.control_dependencies(previous):
                    previous = [tf.debugging.Assert(condition, [message, *data],
                                                    summarize=10)]
            with tf.control_dependencies(previous):
                return tf.nest.map_structure(tf.identity, structure)

        return tf.cond(passed, on_pass, on_fail)


def _require_lengths(checks: "_Checks", name: str, lengths, batch, limit, padded: str,
                     item: str, unit: str, empty: Optional[str] = None) -> None:
    """One length per ``item`` of the batch, each in ``1..limit`` (the padded size)."""
    checks.require(tf.equal(tf.size(lengths), batch),
                   f"input {name} must hold one length per {item}; got lengths and batch",
                   tf.size(lengths), batch)
    checks.require(lengths > 0, f"input {name} has a zero or negative length (empty "
                                f"{empty or item}):", lengths)
    checks.require(lengths <= limit, f"input {name} exceeds the {unit} of {padded}:",
                   lengths, limit)


def _as_rank(x: tf.Tensor, rank: int) -> tf.Tensor:
    """``x`` reshaped to ``rank`` dimensions without ever failing (a no-op at that rank).

    Missing trailing dimensions become 1 and extra ones are folded into the last, so the
    element count is kept. Input checks report a wrong rank; this only makes sure that
    nothing that Grappler runs ahead of them (see :class:`_Checks`) indexes a missing
    axis.
    """
    padded = tf.concat([tf.shape(x), tf.ones([rank], tf.int32)], axis=0)
    shape = tf.concat([padded[:rank - 1], [tf.reduce_prod(padded[rank - 1:])]], axis=0)
    return tf.reshape(x, shape)


class ServingModule(tf.Module):
    """The model plus its normalisation and front-ends, as tf.functions.

    Args:
      model: The trained Keras model (dict of named features in, dict of heads out).
      features: The features it reads, in model order.
      sample_rate: Waveform rate of the front-ends.

    Attributes:
      serve_features, serve_waveform, serve_tf_example: The tf.functions behind the
        signatures (``serve_waveform`` is None when some feature has no front-end).
    """

    def __init__(self, model: keras.Model, features: Sequence[ServedFeature],
                 sample_rate: int):
        super().__init__(name="tfser_serving")
        if not features:
            raise ValueError("a served model needs at least one feature")
        self.model = model
        self._features = tuple(features)
        self._sample_rate = int(sample_rate)
        self._max_samples = int(contract.MAX_DURATION_S * self._sample_rate)
        self.serve_features = tf.function(self._serve_features,
                                          input_signature=[self.features_input_specs()])
        self.serve_tf_example = tf.function(
            self._serve_tf_example,
            input_signature=[tf.TensorSpec([None], tf.string, name=contract.EXAMPLES_INPUT)])
        self.serve_waveform = None
        if self.has_waveform_signature:
            self.serve_waveform = tf.function(self._serve_waveform, input_signature=[{
                contract.WAVEFORM_INPUT: tf.TensorSpec([None, None], tf.float32,
                                                       name=contract.WAVEFORM_INPUT),
                contract.WAVEFORM_LENGTH_INPUT: tf.TensorSpec(
                    [None], tf.int32, name=contract.WAVEFORM_LENGTH_INPUT)}])

    @property
    def features(self) -> Tuple[ServedFeature, ...]:
        return self._features

    @property
    def has_waveform_signature(self) -> bool:
        return all(feature.frontend is not None for feature in self._features)

    def features_input_specs(self) -> Dict[str, tf.TensorSpec]:
        """Input specs of the features signature: ``[None, (None,) dim]`` and ``[None]``."""
        specs = {}
        for feature in self._features:
            specs[feature.name] = tf.TensorSpec(feature.input_shape, tf.float32,
                                                name=feature.name)
            if feature.sequence and feature.uses_length:
                specs[feature.length_name] = tf.TensorSpec([None], tf.int32,
                                                           name=feature.length_name)
        return specs

    def signatures(self) -> Dict[str, Callable]:
        """Signature name -> concrete function, for ``tf.saved_model.save``."""
        out = {contract.FEATURES_SIGNATURE: self.serve_features.get_concrete_function(),
               contract.EXAMPLE_SIGNATURE: self.serve_tf_example.get_concrete_function()}
        if self.serve_waveform is not None:
            out[contract.WAVEFORM_SIGNATURE] = self.serve_waveform.get_concrete_function()
        return out

    # ------------------------------------------------------------------ shared core
    def _predict(self, raw: Mapping[str, tf.Tensor],
                 lengths: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """Normalises checked raw features, zeroes padded frames, runs the model."""
        inputs = {}
        batch = tf.shape(raw[self._features[0].name])[0]
        far = tf.zeros([batch], tf.int32)
        max_abs_z = tf.zeros([batch], tf.float32)
        for feature in self._features:
            x = raw[feature.name]
            mask = None
            if feature.sequence:
                mask = tf.sequence_mask(lengths[feature.name], tf.shape(x)[1])
            if feature.stats is not None:
                normalise = norm.global_normaliser(feature.stats, feature.dim,
                                                   norm.DEFAULT_STD_FLOOR, feature.name)
                x = normalise(x, None)
                count, largest = norm.out_of_range(
                    x, feature.clip_sigma or norm.DEFAULT_CLIP_SIGMA, mask)
                far, max_abs_z = far + count, tf.maximum(max_abs_z, largest)
                x = norm.clip(x, feature.clip_sigma)
            if feature.sequence:
                # The reader pads normalised batches with zeros (the normalised mean);
                # padding sent by a client is raw, so it is replaced here.
                x = tf.where(mask[:, :, None], x, tf.zeros_like(x))
                if feature.uses_length:
                    inputs[feature.length_name] = lengths[feature.name]
            inputs[feature.name] = x
        outputs = self.model(inputs, training=False)
        result = {head: tf.cast(value, tf.float32) for head, value in outputs.items()}
        result[contract.OUT_OF_RANGE_OUTPUT] = far
        result[contract.MAX_ABS_Z_OUTPUT] = max_abs_z
        return result

    def _check_raw(self, where: str, raw: Mapping[str, tf.Tensor],
                   lengths: Mapping[str, tf.Tensor]):
        """In-graph checks of raw feature tensors; returns the checked tensors.

        Args:
          where: Signature name for messages.
          raw: Feature name -> float32 tensor of unknown rank.
          lengths: Feature name -> int32 lengths of unknown rank, for the sequence
            features that have them (the others use all their frames).

        Returns:
          ``(raw, lengths)`` with static shapes set and every sequence length filled in.
        """
        ranks = _Checks(where)
        for feature in self._features:
            rank = 3 if feature.sequence else 2
            shape = (f"[batch, frames, {feature.dim}]" if feature.sequence
                     else f"[batch, {feature.dim}]")
            ranks.require(tf.equal(tf.rank(raw[feature.name]), rank),
                          f"input {feature.name} must be float32 {shape} (rank {rank}); "
                          "got rank", tf.rank(raw[feature.name]))
            if feature.name in lengths:
                ranks.require(tf.equal(tf.rank(lengths[feature.name]), 1),
                              f"input {feature.length_name} must be int32 [batch] "
                              "(rank 1); got rank", tf.rank(lengths[feature.name]))
        raw = {f.name: _as_rank(raw[f.name], 3 if f.sequence else 2) for f in self._features}
        lengths = {name: _as_rank(value, 1) for name, value in lengths.items()}
        raw, lengths = ranks.gate((raw, lengths))

        checks = _Checks(where)
        first = self._features[0].name
        batch = tf.shape(raw[first])[0]
        checks.require(batch > 0, "empty batch (0 examples)")
        for feature in self._features:
            x = raw[feature.name]
            shape = tf.shape(x)
            checks.require(tf.equal(shape[-1], feature.dim),
                           f"input {feature.name} must have {feature.dim} values on its "
                           "last axis; got", shape[-1])
            checks.require(tf.equal(shape[0], batch),
                           f"input {feature.name} has a batch size different from that of "
                           f"{first}:", shape[0], batch)
            if not feature.sequence:
                checks.require(tf.math.is_finite(x),
                               f"input {feature.name} holds NaN or infinite values")
                continue
            frames = shape[1]
            checks.require(frames > 0, f"input {feature.name} has zero frames (empty "
                                       "input)")
            if feature.max_frames is not None:
                checks.require(frames <= feature.max_frames,
                               f"input {feature.name} is longer than "
                               f"{contract.MAX_DURATION_S:g} s ({feature.max_frames} frames "
                               f"at {feature.frame_rate_hz:g} Hz); split long recordings. "
                               "Frames:", frames)
            if feature.name in lengths:
                _require_lengths(checks, feature.length_name, lengths[feature.name],
                                 batch, frames, feature.name, "example", "frames")
            checks.require(tf.math.is_finite(x),
                           f"input {feature.name} holds NaN or infinite values")
        raw, lengths = checks.gate((raw, lengths))
        for feature in self._features:
            raw[feature.name] = tf.ensure_shape(raw[feature.name], feature.input_shape)
            if not feature.sequence:
                continue
            if feature.name in lengths:
                lengths[feature.name] = tf.ensure_shape(lengths[feature.name], [None])
            else:
                lengths[feature.name] = tf.fill([tf.shape(raw[feature.name])[0]],
                                                tf.shape(raw[feature.name])[1])
        return raw, lengths

    # ------------------------------------------------------------------ signatures
    def _serve_features(self, inputs):
        raw = {f.name: inputs[f.name] for f in self._features}
        lengths = {f.name: inputs[f.length_name] for f in self._features
                   if f.sequence and f.uses_length}
        raw, lengths = self._check_raw(contract.FEATURES_SIGNATURE, raw, lengths)
        return self._predict(raw, lengths)

    def _serve_tf_example(self, examples):
        where = contract.EXAMPLE_SIGNATURE
        rank = _Checks(where)
        rank.require(tf.equal(tf.rank(examples), 1),
                     f"input {contract.EXAMPLES_INPUT} must be a string [batch] of serialized "
                     "tf.train.Example (rank 1); got rank", tf.rank(examples))
        examples = rank.gate(_as_rank(examples, 1))
        size = _Checks(where)
        size.require(tf.size(examples) > 0, "empty batch (0 examples)")
        examples = tf.ensure_shape(size.gate(examples), [None])
        parse = codec.make_parser([f.codec_spec() for f in self._features], [])
        signature = {}
        for feature in self._features:
            if feature.sequence:
                signature[feature.name] = tf.RaggedTensorSpec([None, feature.dim],
                                                              tf.float32, ragged_rank=0)
            else:
                signature[feature.name] = tf.TensorSpec([feature.dim], tf.float32)

        def parse_features(serialized):
            return parse(serialized)[1]

        parsed = tf.map_fn(parse_features, examples, fn_output_signature=signature)
        raw, lengths = {}, {}
        for feature in self._features:
            value = parsed[feature.name]
            if feature.sequence:
                lengths[feature.name] = tf.cast(value.row_lengths(), tf.int32)
                value = value.to_tensor()
            raw[feature.name] = value
        raw, lengths = self._check_raw(where, raw, lengths)
        return self._predict(raw, lengths)

    def _serve_waveform(self, inputs):
        where = contract.WAVEFORM_SIGNATURE
        wave_name, length_name = contract.WAVEFORM_INPUT, contract.WAVEFORM_LENGTH_INPUT
        ranks = _Checks(where)
        ranks.require(tf.equal(tf.rank(inputs[wave_name]), 2),
                      f"input {wave_name} must be float32 [batch, samples] at "
                      f"{self._sample_rate} Hz (rank 2); got rank", tf.rank(inputs[wave_name]))
        ranks.require(tf.equal(tf.rank(inputs[length_name]), 1),
                      f"input {length_name} must be int32 [batch] (rank 1); got rank",
                      tf.rank(inputs[length_name]))
        waveform, samples = ranks.gate((_as_rank(inputs[wave_name], 2),
                                        _as_rank(inputs[length_name], 1)))
        batch, width = tf.shape(waveform)[0], tf.shape(waveform)[1]
        checks = _Checks(where)
        checks.require(batch > 0, "empty batch (0 examples)")
        checks.require(width > 0, f"input {wave_name} has zero samples (empty audio)")
        checks.require(width <= self._max_samples,
                       f"input {wave_name} is longer than {contract.MAX_DURATION_S:g} s "
                       f"({self._max_samples} samples at {self._sample_rate} Hz); split long "
                       "recordings. Samples:", width)
        _require_lengths(checks, length_name, samples, batch, width, wave_name, "waveform",
                         "samples", empty="audio")
        checks.require(tf.math.is_finite(waveform),
                       f"input {wave_name} holds NaN or infinite samples")
        checks.require(tf.reduce_max(tf.abs(waveform)) <= contract.MAX_ABS_SAMPLE,
                       f"input {wave_name} must be float samples in [-1, 1] (int16 values must "
                       "be divided by 32768); got a peak of", tf.reduce_max(tf.abs(waveform)))
        waveform, samples = checks.gate((waveform, samples))
        waveform = tf.ensure_shape(waveform, [None, None])
        samples = tf.ensure_shape(samples, [None])
        width = tf.shape(waveform)[1]
        # Zero every row past its length, so padding sent by the client cannot leak
        # into the last frames of a row.
        waveform = tf.where(tf.sequence_mask(samples, width), waveform,
                            tf.zeros_like(waveform))
        raw, lengths = {}, {}
        for feature in self._features:
            raw[feature.name], lengths[feature.name] = self._frontend(feature, waveform,
                                                                      samples)
        return self._predict(raw, lengths)

    def _frontend(self, feature: ServedFeature, waveform: tf.Tensor,
                  samples: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """``(frames [B, T, F], frame counts [B])`` of one front-end."""
        kind = feature.frontend
        function = spectrogram.SPECTROGRAMS[kind]
        if kind in contract.FIXED_LENGTH_FRONTENDS:
            # The crop depends on each row's own length: one row at a time.
            frames = tf.map_fn(
                lambda row: function(row[0][:row[1]], sample_rate=self._sample_rate),
                (waveform, samples),
                fn_output_signature=tf.TensorSpec([None, feature.dim], tf.float32))
            counts = tf.fill([tf.shape(frames)[0]], tf.shape(frames)[1])
            return frames, counts
        settings = spectrogram.stft_settings(kind, self._sample_rate)
        frames = function(waveform, sample_rate=self._sample_rate)
        # The framing of spectrogram.py: 1 + (N - frame_length) // hop, at least 1.
        counts = 1 + tf.maximum(samples - settings.frame_length, 0) // settings.frame_step
        return frames, counts
