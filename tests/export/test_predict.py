"""predict_files and the tfser-export / tfser-predict binaries on synthetic WAVs."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import tensorflow as tf

from tfser import annotations
from tfser import data
from tfser import export
from tfser.export import predict as predict_lib
from tfser.audio import audio_io
from tfser.evaluation.columns import HeadLayout
from tfser.features import registry
from tfser.training import load_params

from tests.export.helpers import keras_outputs

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def wav_dir(synth_dir, tmp_path_factory):
    """Three utterance WAVs (one in a sub-folder), a corrupt file and an empty one."""
    table = annotations.load_table(synth_dir)
    utts = table.utterances[~table.utterances["utt_id"].str.startswith("cont_")]
    out = tmp_path_factory.mktemp("wavs")
    (out / "sub").mkdir()
    for index, audio_path in enumerate(utts["audio_path"].iloc[:3]):
        target = out / ("sub" if index == 2 else "") / os.path.basename(audio_path)
        shutil.copyfile(table.resolve_audio(audio_path), target)
    (out / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage, not a wave file")
    (out / "empty.wav").write_bytes(b"")
    (out / "notes.txt").write_text("not audio, not a .wav: ignored")
    return str(out)


def test_predict_files_with_the_waveform_signature(exports, wav_dir, tmp_path):
    out = str(tmp_path / "predictions.csv")
    result = export.predict_files(exports["001_hard"], wav_dir, out, batch_size=2)
    assert (result.inputs, result.written, result.rejected) == (5, 3, 2)
    assert result.signature == "serve_waveform"
    table = pd.read_csv(out)
    classes = export.read_classes(exports["001_hard"])["emotion"]
    assert list(table.columns) == (["file", "duration_s", "emotion/pred"]
                                   + [f"emotion/p/{c}" for c in classes]
                                   + ["out_of_range_features", "max_abs_z"])
    assert len(table) == 3 and all(os.path.exists(f) for f in table["file"])
    probabilities = table[[f"emotion/p/{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert list(table["emotion/pred"]) == [classes[i] for i in probabilities.argmax(axis=1)]
    # Batched (zero-padded) calls give what one file at a time gives.
    loaded = tf.saved_model.load(exports["001_hard"])
    for row in table.itertuples():
        wave = audio_io.read_audio(row.file, 16000)
        alone = loaded.signatures["serve_waveform"](
            waveform=tf.constant(wave[None]), waveform_length=tf.constant([len(wave)]))
        np.testing.assert_allclose(probabilities[row.Index], alone["emotion"].numpy()[0],
                                   atol=1e-4)
        assert row.duration_s == pytest.approx(len(wave) / 16000)
    rejects = pd.read_csv(result.rejects_path)
    assert result.rejects_path == str(tmp_path / "predictions.rejects.csv")
    assert sorted(zip(rejects["file"].map(os.path.basename), rejects["reason"])) == [
        ("corrupt.wav", "unreadable_audio"), ("empty.wav", "empty_audio")]
    lines = result.summary_lines()
    assert lines[0] == "in = written + rejected: 5 = 3 + 2"
    assert any("corrupt.wav: unreadable_audio" in line for line in lines)


def test_predict_files_with_opensmile_features_matches_keras(runs, exports, wav_dir,
                                                             tmp_path):
    out = str(tmp_path / "predictions.parquet")
    files = sorted(os.path.join(wav_dir, f) for f in os.listdir(wav_dir)
                   if f.endswith(".wav") and f != "empty.wav")
    missing = os.path.join(wav_dir, "missing.wav")
    result = export.predict_files(exports["000_mtl"], files + [missing], out)
    assert (result.inputs, result.written, result.rejected) == (4, 2, 2)
    assert (missing, "missing_file", "file not found") in result.rejects
    assert result.signature == "serving_default"
    table = pd.read_parquet(out)
    classes = export.read_classes(exports["000_mtl"])
    # Multi-label scores carry the evaluation table's name (h/score/<class>), not h/p.
    assert "secondary/pred" in table and f"secondary/score/{classes['secondary'][0]}" in table
    assert f"secondary/p/{classes['secondary'][0]}" not in table
    # Reference: the registry's eGeMAPS, normalised with the fold's statistics, through
    # the Keras checkpoint.
    config = load_params(runs["000_mtl"])
    mean, std = data.load_info(config.data_dir).global_stats(config.fold,
                                                             "egemaps_functionals")
    extractor = registry.build_extractor("egemaps_functionals")
    raw = np.stack([extractor(audio_io.read_audio(f, 16000)) for f in table["file"]])
    normalised = (raw - np.asarray(mean)) / np.maximum(np.asarray(std), 1e-3)
    reference = keras_outputs(runs["000_mtl"],
                              {"egemaps_functionals": normalised.astype(np.float32)})
    score = {"emotion": "p", "secondary": "score"}
    for head, names in classes.items():
        served = table[[f"{head}/{score[head]}/{name}" for name in names]].to_numpy()
        np.testing.assert_allclose(served, reference[head], atol=1e-4, err_msg=head)


def test_predict_files_argument_errors(exports, tmp_path):
    with pytest.raises(ValueError, match="must end in one of"):
        export.predict_files(exports["001_hard"], [], str(tmp_path / "out.txt"))
    with pytest.raises(ValueError, match="no input files"):
        export.predict_files(exports["001_hard"], str(tmp_path), str(tmp_path / "out.csv"))
    with pytest.raises(FileNotFoundError, match="tfser-export"):
        export.predict_files(str(tmp_path), str(tmp_path), str(tmp_path / "out.csv"))


@pytest.mark.parametrize("model, name", [("000_mtl", "predictions.parquet"),
                                         ("001_hard", "predictions.csv")])
def test_streaming_in_threads_and_chunks_writes_the_one_shot_table(exports, wav_dir,
                                                                   tmp_path, caplog,
                                                                   model, name):
    # Files decoded by 2 threads, the table appended one row at a time: the same table
    # and rejects as one thread and one chunk, rows in input order; progress with ETA.
    files = predict_lib.collect_inputs(wav_dir) * 3  # 15 files, 6 rejected
    one = export.predict_files(exports[model], files, str(tmp_path / "one" / name),
                               batch_size=2, workers=1, chunk_rows=10 ** 6)
    with caplog.at_level("INFO", logger="tfser.export"):
        many = export.predict_files(exports[model], files, str(tmp_path / "many" / name),
                                    batch_size=2, workers=2, chunk_rows=1, log_every=4)
    assert (many.inputs, many.written, many.rejected) == (15, 9, 6)
    assert many.rejects == one.rejects
    read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
    streamed, reference = read(many.out_path), read(one.out_path)
    assert list(streamed["file"]) == [f for f in files if f in set(streamed["file"])]
    pd.testing.assert_frame_equal(streamed, reference, atol=1e-5)
    if name.endswith(".parquet"):
        assert pq.ParquetFile(many.out_path).num_row_groups == 9
    else:
        assert open(many.out_path).read().count("file,duration_s") == 1
    assert "4/15 files" in caplog.text and "ETA" in caplog.text
    assert "15/15 files" in caplog.text


def test_an_empty_streamed_table_keeps_its_columns(exports, wav_dir, tmp_path):
    bad = [os.path.join(wav_dir, "corrupt.wav"), os.path.join(wav_dir, "empty.wav")]
    for name in ("out.csv", "out.parquet"):
        result = export.predict_files(exports["001_hard"], bad, str(tmp_path / name),
                                      workers=2)
        assert result.all_rejected
        table = (pd.read_csv if name.endswith(".csv") else pd.read_parquet)(result.out_path)
        assert len(table) == 0 and list(table.columns)[:2] == ["file", "duration_s"]


def test_bad_workers_are_refused(exports, wav_dir, tmp_path):
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        export.predict_files(exports["001_hard"], wav_dir, str(tmp_path / "o.csv"), workers=0)


def _start_binary(module, *args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_binaries_export_and_predict(runs, exports, wav_dir, tmp_path):
    export_dir = str(tmp_path / "exported" / "1")
    out = str(tmp_path / "predictions.csv")
    # Independent runs (the predictions use the package's export): started together,
    # since each spends most of its time importing TensorFlow.
    exporting = _start_binary("pipelines.export", f"--model_dir={runs['001_hard']}",
                              f"--out={export_dir}", "--checkpoint=last")
    predicting = _start_binary("pipelines.predict", f"--model={exports['001_hard']}",
                               f"--inputs={wav_dir}/sub,{wav_dir}/corrupt.wav",
                               f"--out={out}")
    # Every input rejected: exit status 1 (it was 0, issue 10.9).
    all_bad = _start_binary("pipelines.predict", f"--model={exports['001_hard']}",
                            f"--inputs={wav_dir}/corrupt.wav,{wav_dir}/empty.wav",
                            f"--out={tmp_path / 'bad.csv'}")
    export_out, export_err = exporting.communicate(timeout=300)
    predict_out, predict_err = predicting.communicate(timeout=300)
    bad_out, bad_err = all_bad.communicate(timeout=300)
    assert all_bad.returncode == 1, bad_err[-3000:]
    assert "in = written + rejected: 2 = 0 + 2" in bad_out
    assert "error: all 2 input file(s) were rejected" in bad_err
    assert exporting.returncode == 0, export_err[-3000:]
    assert "signature serve_waveform: waveform float32[None, None]" in export_out
    assert "output emotion (hard, categorical): 8 units" in export_out
    assert export.read_features(export_dir)["checkpoint"] == "last"
    assert sorted(tf.saved_model.load(export_dir).signatures) == [
        "serve_tf_example", "serve_waveform", "serving_default"]
    assert predicting.returncode == 0, predict_err[-3000:]
    assert "in = written + rejected: 2 = 1 + 1" in predict_out
    assert "corrupt.wav: unreadable_audio" in predict_out
    assert len(pd.read_csv(out)) == 1


@pytest.mark.parametrize("head_type, kind, output", [
    ("categorical", "hard", np.array([0.2, 0.8])),
    ("multilabel", "secondary", np.array([0.7, 0.4])),
    ("existence", "existence", np.array([0.1, 0.9])),
    ("regression", "dimensional", np.array([0.3, -0.1])),
    ("per_rater", "per_rater", np.array([[0.6, 0.4], [0.1, 0.9]])),
])
def test_served_columns_carry_the_evaluation_names(head_type, kind, output):
    entry = {"type": head_type, "raters": ["r1", "r2"]}
    served = predict_lib.prediction_columns("h", output, entry, ["a", "b"])
    layout = HeadLayout("h", kind, ("a", "b"), raters=("r1", "r2"))
    outputs = layout.output_columns()
    assert [c for c in served if c in outputs] == outputs
    np.testing.assert_allclose([served[c] for c in outputs], output.reshape(-1))
    # The rest are decisions, named as the evaluation names them.
    decisions = [c for c in served if c not in outputs]
    assert decisions == ([layout.pred_column(r) for r in layout.raters]
                         if kind == "per_rater" else [] if kind == "dimensional"
                         else [layout.pred_column()])


def test_dangling_links_in_a_folder_are_rejected(exports, tmp_path):
    """Issue 10.9: a walked folder skipped dangling links (neither written nor rejected)."""
    folder = tmp_path / "moved"
    folder.mkdir()
    os.symlink(str(tmp_path / "gone.wav"), str(folder / "link.wav"))
    (folder / "empty.wav").write_bytes(b"")
    out = str(tmp_path / "p.csv")
    result = export.predict_files(exports["001_hard"], str(folder), out)
    assert (result.inputs, result.written) == (2, 0) and result.all_rejected
    reasons = {os.path.basename(path): (reason, detail)
               for path, reason, detail in result.rejects}
    assert reasons["link.wav"][0] == "dangling_symlink"
    assert "gone.wav" in reasons["link.wav"][1] and "does not exist" in reasons["link.wav"][1]
