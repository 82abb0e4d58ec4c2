"""tfser-predict on Apache Beam (tfser.export.beam_predict): RunInference with the tfser
model handler gives predict_files' table and rejects, on the local runner, on a real Dask
cluster (127.0.0.1, two worker processes) and from the command line."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tfser import export
from tfser.export import beam_predict
from tfser.export import predict as predict_lib
from tfser.testing.dask_cluster import LocalDaskCluster

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN_TIMEOUT_S = 600  # a hang guard, not a timing check


@pytest.fixture(scope="module")
def inputs(synth_dir, tmp_path_factory):
    """17 files: 15 utterance WAVs, then a corrupt file and a too-short one among them."""
    from tfser import annotations  # pylint: disable=import-outside-toplevel
    table = annotations.load_table(synth_dir)
    utts = table.utterances[~table.utterances["utt_id"].str.startswith("cont_")]
    out = tmp_path_factory.mktemp("beam_wavs")
    files = []
    for audio_path in utts["audio_path"].iloc[:15]:
        target = str(out / os.path.basename(audio_path))
        shutil.copyfile(table.resolve_audio(audio_path), target)
        files.append(target)
    corrupt = out / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00garbage, not a wave file")
    short = out / "short.wav"
    import soundfile  # pylint: disable=import-outside-toplevel
    soundfile.write(str(short), np.zeros(160, np.float32), 16000)  # 10 ms
    return files[:5] + [str(corrupt)] + files[5:11] + [str(short)] + files[11:]


def _assert_same(result, reference, read):
    assert (result.inputs, result.written, result.rejected) == (
        reference.inputs, reference.written, reference.rejected)
    assert result.inputs == result.written + result.rejected
    assert result.rejects == reference.rejects
    assert result.signature == reference.signature
    assert result.audio_s == pytest.approx(reference.audio_s)
    assert result.out_of_range == reference.out_of_range
    table, expected = read(result.out_path), read(reference.out_path)
    assert list(table.columns) == list(expected.columns)
    assert list(table["file"]) == list(expected["file"])
    pd.testing.assert_frame_equal(table, expected, atol=1e-5)
    assert pd.read_csv(result.rejects_path).equals(pd.read_csv(reference.rejects_path))
    siblings = os.listdir(os.path.dirname(result.out_path))
    assert not [name for name in siblings if ".tmp-" in name]


@pytest.mark.parametrize("model, name", [("000_mtl", "p.parquet"), ("001_hard", "p.csv")])
def test_beam_path_on_the_local_runner_writes_the_predict_files_table(
        exports, inputs, tmp_path, model, name):
    reference = export.predict_files(exports[model], inputs, str(tmp_path / "ref" / name),
                                     batch_size=4)
    result = beam_predict.predict_files_beam(exports[model], inputs,
                                             str(tmp_path / "beam" / name), batch_size=4,
                                             chunk_rows=2)
    read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
    assert (result.inputs, result.written, result.rejected) == (17, 15, 2)
    reasons = {os.path.basename(path): reason for path, reason, _ in result.rejects}
    assert reasons == {"corrupt.wav": "unreadable_audio", "short.wav": "too_short"}
    _assert_same(result, reference, read)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalDaskCluster(2, str(tmp_path_factory.mktemp("cluster"))) as running:
        yield running


def test_beam_path_on_a_dask_cluster_writes_the_predict_files_table(
        exports, inputs, cluster, tmp_path):
    files = inputs * 2  # 34 files: 3 Dask partitions of 2 batches of 6
    reference = export.predict_files(exports["001_hard"], files, str(tmp_path / "ref.csv"),
                                     batch_size=6)
    result = beam_predict.predict_files_beam(
        exports["001_hard"], files, str(tmp_path / "dask.csv"), batch_size=6,
        pipeline_options=["--runner=DaskRunner", f"--dask_client_address={cluster.address}"])
    assert (result.inputs, result.written, result.rejected) == (34, 30, 4)
    _assert_same(result, reference, pd.read_csv)
    for index in range(2):
        assert "Compute Failed" not in cluster.log(f"worker{index}")
