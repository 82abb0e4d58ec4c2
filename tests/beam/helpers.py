"""Helpers of the featurization tests: config paths, decoding, small tables, WAV files."""

import contextlib
import os

import numpy as np
import pandas as pd
import soundfile
import tensorflow as tf

from tfser import annotations
from tfser import beam as tfser_beam
from tfser.features import example_codec
from tfser.features import registry

CONFIG_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "configs",
                                           "featurize"))


def config_path(name: str) -> str:
    return os.path.join(CONFIG_DIR, name)


def decode_files(paths, info):
    """Every example of ``paths`` decoded with the specs of ``info``."""
    features = tfser_beam.feature_specs(info)
    labels = tfser_beam.label_specs(info)
    decoded = []
    for path in paths:
        for record in tf.data.TFRecordDataset(path):
            decoded.append(example_codec.decode_example(record.numpy(), features, labels))
    return decoded


def subset_table(table, directory, utterances_per_speaker=2, speakers=3, extra_rows=()):
    """A small table: the first utterances of the first speakers, plus ``extra_rows``.

    Args:
      table: The synthetic table.
      directory: Where to save the new table.
      utterances_per_speaker: Rated utterances kept per speaker.
      speakers: Number of speakers kept.
      extra_rows: ``(utt_id, copy_from_utt, audio_path, keep_ratings)``: a new utterance
        with the speaker and ratings of ``copy_from_utt`` (none when ``keep_ratings`` is
        False) and its own audio file.

    Returns:
      The saved table directory.
    """
    utts = table.utterances[~table.utterances["utt_id"].str.startswith("cont_")]
    chosen_speakers = sorted(utts["speaker_id"].unique())[:speakers]
    keep = utts[utts["speaker_id"].isin(chosen_speakers)].groupby("speaker_id").head(
        utterances_per_speaker)
    rows = [keep.assign(audio_path=[table.resolve_audio(p) for p in keep["audio_path"]])]
    ratings = [table.ratings[table.ratings["utt_id"].isin(keep["utt_id"])]]
    for utt_id, source, audio_path, keep_ratings in extra_rows:
        row = table.utterances[table.utterances["utt_id"] == source].copy()
        rows.append(row.assign(utt_id=utt_id, audio_path=audio_path, duration_s=np.nan))
        if keep_ratings:
            ratings.append(table.ratings[table.ratings["utt_id"] == source].assign(utt_id=utt_id))
    small = annotations.AnnotationTable(
        meta=table.meta, utterances=pd.concat(rows, ignore_index=True),
        ratings=pd.concat(ratings, ignore_index=True),
        traces=table.traces.iloc[0:0], root=None)
    annotations.save_table(small, str(directory))
    return str(directory)


def write_wav(path, samples, sample_rate=16000):
    soundfile.write(str(path), np.asarray(samples, np.float32), sample_rate, subtype="PCM_16")
    return str(path)


def scalar_feature(name, function, description):
    """A test-only feature computing one value per utterance, ``function(waveform)``."""

    def factory(sample_rate):
        del sample_rate

        def extract(waveform):
            return np.array([function(waveform)], np.float32)

        return extract

    return registry.FeatureDefinition(example_codec.FeatureSpec(name, 1), factory, description)


@contextlib.contextmanager
def registered(definition):
    """Registers a feature definition for the duration of the block."""
    registry.register(definition)
    try:
        yield definition
    finally:
        registry.unregister(definition.name)
