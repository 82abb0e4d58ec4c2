"""Helpers of the export tests: test-part examples, raw and normalised, and their audio."""

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfser import annotations
from tfser import data
from tfser.audio import audio_io
from tfser.features import example_codec
from tfser.training import load_params


def pad(arrays):
    """Zero-padded stack of arrays with different first-axis lengths, plus the lengths."""
    longest = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), longest) + arrays[0].shape[1:], np.float32)
    for row, array in enumerate(arrays):
        out[row, :len(array)] = array
    return out, np.asarray([len(a) for a in arrays], np.int32)


def fold_test_examples(model_dir, count):
    """The first ``count`` test examples of a run's fold, every way the export takes them.

    Returns:
      dict with ``serialized`` (list of bytes), ``utt_ids``, ``raw`` (feature name ->
      padded raw array), ``raw_lengths`` (feature name -> lengths), ``normalised``
      (the reader's first batch of model inputs) and ``info``.
    """
    config = load_params(model_dir)
    info = data.load_info(config.data_dir)
    files = info.files(config.fold, "test", include_variants=False)
    serialized = [record.numpy() for record in tf.data.TFRecordDataset(files).take(count)]
    specs = [info.feature_specs[name] for name in config.features]
    decoded = [example_codec.decode_example(s, specs, []) for s in serialized]
    raw, raw_lengths = {}, {}
    for spec in specs:
        arrays = [d["features"][spec.name] for d in decoded]
        if spec.sequence:
            raw[spec.name], raw_lengths[spec.name] = pad(arrays)
        else:
            raw[spec.name] = np.stack(arrays).astype(np.float32)
    dataset = data.build_dataset(info, config.fold, "test", features=list(config.features),
                                 heads=[], batch_size=count, return_meta=True)
    features, _, _, meta = next(iter(dataset))
    utt_ids = [u.decode() for u in meta["utt_id"].numpy()]
    assert utt_ids == [d["meta"]["utt_id"] for d in decoded]  # same examples, same order
    return {"serialized": serialized, "utt_ids": utt_ids, "raw": raw,
            "raw_lengths": raw_lengths, "normalised": {k: v.numpy() for k, v in
                                                       features.items()}, "info": info}


def keras_outputs(model_dir, normalised, checkpoint="best"):
    """The checkpoint's Keras outputs on normalised model inputs."""
    model = keras.saving.load_model(f"{model_dir}/checkpoints/{checkpoint}.keras",
                                    compile=False)
    outputs = model({k: tf.constant(v) for k, v in normalised.items()}, training=False)
    return {head: value.numpy() for head, value in outputs.items()}


def waveforms(table_dir, utt_ids, sample_rate=16000):
    """The audio of utterances, read as featurization reads it."""
    table = annotations.load_table(table_dir)
    rows = table.utterances.set_index("utt_id")
    out = []
    for utt_id in utt_ids:
        row = rows.loc[utt_id]
        start = None if pd.isna(row["start_s"]) else float(row["start_s"])
        end = None if pd.isna(row["end_s"]) else float(row["end_s"])
        out.append(audio_io.read_audio(table.resolve_audio(row["audio_path"]), sample_rate,
                                       start, end, clip_fraction=None))
    return out
