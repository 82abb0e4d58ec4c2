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
import tensorflow as tf

from tfser import export
from tfser.export import beam_predict
from tfser.export import contract
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


class _Refusing:
    """A model that refuses (tf.errors.OpError) every batch holding a waveform of
    ``length`` samples, and predicts the others with ``model``."""

    def __init__(self, model, length):
        self.model, self.length = model, length

    def __call__(self, payloads):
        if any(len(p[contract.WAVEFORM_INPUT]) == self.length for p in payloads):
            raise tf.errors.InvalidArgumentError(None, None, "refused: odd length")
        return self.model(payloads)


def test_the_handler_predicts_like_the_predictor_and_passes_rejects_through(
        exports, inputs):
    handler = beam_predict.SignatureModelHandler(exports["001_hard"], batch_size=4)
    assert handler.batch_elements_kwargs() == {"min_batch_size": 4, "max_batch_size": 4}
    model = handler.load_model()
    assert handler.load_model() is model  # loaded once per process
    batch = [model.decode(index, path) for index, path in enumerate(inputs[3:7])]
    assert [type(outcome).__name__ for _, _, outcome in batch] == [
        "DecodedFile", "DecodedFile", "tuple", "DecodedFile"]  # corrupt.wav third
    items = [outcome for _, _, outcome in batch if not isinstance(outcome, tuple)]
    direct = predict_lib.Predictor(exports["001_hard"], handler.contract)(
        [item.payload for item in items])
    results = handler.run_inference(batch, model)
    assert [(index, path) for index, path, _ in results] == [(i, p) for i, p, _ in batch]
    assert results[2][2] == batch[2][2]  # the reject, untouched
    classes = export.read_classes(exports["001_hard"])["emotion"]
    rows = [outcome for _, _, outcome in results if isinstance(outcome, dict)]
    served = np.array([[row[f"emotion/p/{c}"] for c in classes] for row in rows])
    np.testing.assert_allclose(served, direct["emotion"], atol=1e-6)
    # A batch the model refuses is retried file by file: only the refused file is a
    # model_error reject.
    refused = handler.run_inference(batch, _Refusing(model, len(items[1].payload[
        contract.WAVEFORM_INPUT])))
    assert refused[1][2][1:] == ("model_error", "refused: odd length")
    assert refused[2][2] == batch[2][2]
    for alone, together in zip(refused[:1] + refused[3:], results[:1] + results[3:]):
        assert alone[2].keys() == together[2].keys()
        np.testing.assert_allclose([alone[2][f"emotion/p/{c}"] for c in classes],
                                   [together[2][f"emotion/p/{c}"] for c in classes],
                                   atol=1e-5)


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


def _binary(*args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "pipelines.predict", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          check=False)


def test_the_predict_command_on_a_dask_cluster(exports, inputs, cluster, tmp_path):
    reference = export.predict_files(exports["000_mtl"], inputs, str(tmp_path / "ref.csv"))
    out = str(tmp_path / "dask.csv")
    done = _binary(f"--model={exports['000_mtl']}", f"--inputs={','.join(inputs)}",
                   f"--out={out}", "--runner=DaskRunner",
                   f"--dask_client_address={cluster.address}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "in = written + rejected: 17 = 15 + 2" in done.stdout
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(reference.out_path),
                                  atol=1e-5)
    # A Beam option with a bad value: one line, exit status 2, nothing written.
    bad = _binary(f"--model={exports['000_mtl']}", f"--inputs={inputs[0]}",
                  f"--out={tmp_path / 'bad.csv'}", "--runner=DaskRunner",
                  "--dask_partition_size=many")
    assert bad.returncode == 2
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: bad Beam pipeline options --dask_partition_size=many, on the "
                      "command line of tfser-predict, check their values (Beam's "
                      "PipelineOptions)"]
    assert not os.path.exists(tmp_path / "bad.csv")


def test_dask_partitions_hold_about_16_files_unless_the_user_gives_a_partitioning():
    from apache_beam.runners.dask.dask_runner import DaskOptions  # pylint: disable=import-outside-toplevel
    dask = ["--runner=DaskRunner", "--dask_client_address=127.0.0.1:1"]
    # Elements are batches: 16 files in batches of 4 are 4 elements per partition.
    options = beam_predict.beam_options(dask, batch_size=4).view_as(DaskOptions)
    assert (options.partition_size, options.npartitions) == (4, None)
    assert beam_predict.beam_options(dask, 1).view_as(DaskOptions).partition_size == 16
    assert beam_predict.beam_options(dask, 32).view_as(DaskOptions).partition_size == 1
    # The user's own partitioning is kept (either option).
    options = beam_predict.beam_options(dask + ["--dask_partition_size=3"], 4)
    assert options.view_as(DaskOptions).partition_size == 3
    options = beam_predict.beam_options(dask + ["--dask_npartitions=7"], 4)
    assert (options.view_as(DaskOptions).npartitions,
            options.view_as(DaskOptions).partition_size) == (7, None)
