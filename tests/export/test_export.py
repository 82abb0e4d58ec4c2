"""Export of smoke-trained runs: assets, signatures in a TF-only process, parity, errors."""

import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from tfser import export
from tfser.export import contract
from tfser.export.serving import ServedFeature, ServingModule
from tfser.features import registry
from tfser.features import spectrogram

from tests.export.helpers import fold_test_examples, keras_outputs, pad, waveforms

VENV_BIN = os.path.dirname(sys.executable)
NUM_EXAMPLES = 3

# Runs in a fresh interpreter: TensorFlow, numpy and json only. Loads each export with
# plain tf.saved_model.load and calls every signature on the inputs the test wrote.
FRESH_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    jobs = json.load(open(sys.argv[1]))
    for job in jobs:
        loaded = tf.saved_model.load(job["export_dir"])
        with open(job["export_dir"] + "/assets/features.json") as handle:
            described = json.load(handle)
        inputs = np.load(job["inputs"])
        results = {}
        signature = loaded.signatures["serving_default"]
        kwargs = {name: tf.constant(inputs["features/" + name])
                  for name in described["signatures"]["serving_default"]["inputs"]}
        for head, value in signature(**kwargs).items():
            results["serving_default/" + head] = value.numpy()
        examples = [r.numpy() for r in tf.data.TFRecordDataset(job["examples"])]
        outputs = loaded.signatures["serve_tf_example"](examples=tf.constant(examples))
        for head, value in outputs.items():
            results["serve_tf_example/" + head] = value.numpy()
        if "serve_waveform" in loaded.signatures:
            outputs = loaded.signatures["serve_waveform"](
                waveform=tf.constant(inputs["waveform"]),
                waveform_length=tf.constant(inputs["waveform_length"]))
            for head, value in outputs.items():
                results["serve_waveform/" + head] = value.numpy()
        results["signatures"] = np.array(sorted(loaded.signatures))
        np.savez(job["outputs"], **results)
    leaked = sorted(m for m in sys.modules if m == "tfser" or m.startswith("tfser."))
    assert not leaked, leaked
    print("FRESH_OK")
""")


@pytest.fixture(scope="module")
def fresh_results(runs, exports, synth_dir, tmp_path_factory):
    """Signature outputs computed in a TF-only subprocess, next to the references."""
    root = tmp_path_factory.mktemp("fresh")
    jobs, references = [], {}
    for experiment, export_dir in exports.items():
        examples = fold_test_examples(runs[experiment], NUM_EXAMPLES)
        arrays = {f"features/{name}": value for name, value in examples["raw"].items()}
        arrays.update({f"features/{name}_length": value
                       for name, value in examples["raw_lengths"].items()})
        if experiment == "001_hard":
            waves, lengths = pad(waveforms(synth_dir, examples["utt_ids"]))
            arrays.update(waveform=waves, waveform_length=lengths)
        np.savez(root / f"{experiment}_inputs.npz", **arrays)
        with tf.io.TFRecordWriter(str(root / f"{experiment}.tfrecord")) as writer:
            for record in examples["serialized"]:
                writer.write(record)
        jobs.append({"export_dir": export_dir, "inputs": str(root / f"{experiment}_inputs.npz"),
                     "examples": str(root / f"{experiment}.tfrecord"),
                     "outputs": str(root / f"{experiment}_outputs.npz")})
        references[experiment] = keras_outputs(runs[experiment], examples["normalised"])
    with open(root / "jobs.json", "w") as handle:
        json.dump(jobs, handle)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    # Both processes spend most of their time importing TensorFlow: run them together.
    fresh = subprocess.Popen([sys.executable, "-c", FRESH_SCRIPT, str(root / "jobs.json")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, cwd=str(root))
    cli = subprocess.Popen([os.path.join(VENV_BIN, "saved_model_cli"), "show", "--dir",
                            exports["001_hard"], "--all"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, cwd=str(root))
    fresh_out, fresh_err = fresh.communicate(timeout=300)
    cli_out, cli_err = cli.communicate(timeout=300)
    assert fresh.returncode == 0 and "FRESH_OK" in fresh_out, fresh_err[-3000:]
    results = {experiment: dict(np.load(job["outputs"]))
               for experiment, job in zip(exports, jobs)}
    return {"results": results, "references": references,
            "cli": (cli.returncode, cli_out, cli_err)}


@pytest.mark.parametrize("experiment", ["000_mtl", "001_hard"])
def test_fresh_tf_process_matches_the_keras_model(fresh_results, experiment):
    references = fresh_results["references"]
    outputs = fresh_results["results"][experiment]
    expected_signatures = ["serve_tf_example", "serving_default"]
    if experiment == "001_hard":
        expected_signatures.append("serve_waveform")
    assert sorted(outputs["signatures"]) == sorted(expected_signatures)
    for head, reference in references[experiment].items():
        served = outputs[f"serving_default/{head}"]
        assert served.shape == reference.shape == (NUM_EXAMPLES, reference.shape[1])
        np.testing.assert_allclose(served, reference, atol=1e-4, err_msg=head)
        # The serialized-example signature parses the very bytes tfser-featurize wrote.
        np.testing.assert_allclose(outputs[f"serve_tf_example/{head}"], served, atol=1e-5,
                                   err_msg=head)
        if experiment == "001_hard":
            # Waveform in, training front-end in the graph == Beam-computed features in.
            np.testing.assert_allclose(outputs[f"serve_waveform/{head}"], served, atol=1e-4,
                                       err_msg=head)


def test_assets_describe_the_export(runs, exports):
    for experiment, export_dir in exports.items():
        assets = os.path.join(export_dir, "assets")
        assert sorted(os.listdir(assets)) == ["classes.json", "features.json", "params.yaml"]
        with open(os.path.join(assets, "params.yaml")) as handle, \
                open(os.path.join(runs[experiment], "params.yaml")) as original:
            assert yaml.safe_load(handle) == yaml.safe_load(original)
        described = export.read_features(export_dir)
        classes = export.read_classes(export_dir)
        info = fold_test_examples(runs[experiment], 1)["info"]
        assert described["sample_rate"] == 16000
        assert described["fold"] == {"index": 0, "name": info.fold_names[0]}
        for head, names in classes.items():
            assert names == list(info.label_specs[head].classes)
            assert described["outputs"][head]["kind"] == info.label_specs[head].kind
        feature = described["features"][0]
        mean, std = info.global_stats(0, feature["name"])
        normalisation = feature["normalisation"]
        assert (normalisation["training"], normalisation["serving"]) == ("global", "global")
        np.testing.assert_allclose(normalisation["mean"], mean)
        np.testing.assert_allclose(normalisation["std"], std)
    frontend = export.read_features(exports["001_hard"])["features"][0]["frontend"]
    assert (frontend["kind"], frontend["frame_length"], frontend["frame_step"],
            frontend["fft_length"]) == (spectrogram.LOG_POWER_001, 640, 160, 1600)
    assert export.read_features(exports["000_mtl"])["features"][0]["frontend"] is None
    assert export.read_features(exports["001_hard"])["waveform_signature"] is True
    assert export.read_features(exports["000_mtl"])["waveform_signature"] is False


def test_saved_model_cli_lists_the_three_signatures(fresh_results):
    returncode, stdout, stderr = fresh_results["cli"]  # saved_model_cli show --all
    assert returncode == 0, stderr[-2000:]
    for name in ("serving_default", "serve_waveform", "serve_tf_example"):
        assert f"signature_def['{name}']" in stdout
    for name in ("inputs['waveform']", "inputs['waveform_length']", "inputs['logspec_001']",
                 "inputs['logspec_001_length']", "inputs['examples']", "outputs['emotion']"):
        assert name in stdout
    # Declared input shapes (issue 10.10): they were all "unknown_rank".
    shapes = dict(re.findall(r"inputs\['(\w+)'\] tensor_info:\s+dtype: \w+\s+shape: (.+)",
                             stdout))
    assert shapes == {"waveform": "(-1, -1)", "waveform_length": "(-1)",
                      "logspec_001": "(-1, -1, 400)", "logspec_001_length": "(-1)",
                      "examples": "(-1)"}


@pytest.fixture(scope="module")
def loaded_001(exports):
    return tf.saved_model.load(exports["001_hard"])


def _call(signature, **inputs):
    return signature(**{key: tf.constant(value) for key, value in inputs.items()})


@pytest.mark.parametrize("inputs, message", [
    (dict(waveform=np.zeros([1, 16000 * 601], np.float32), waveform_length=[16000 * 601]),
     "waveform is longer than 600 s"),
    (dict(waveform=np.zeros([1, 0], np.float32), waveform_length=[0]),
     "waveform has zero samples (empty audio)"),
    (dict(waveform=np.zeros([2, 800], np.float32), waveform_length=[800, 0]),
     "waveform_length has a zero or negative length"),
    (dict(waveform=np.zeros([2, 800], np.float32), waveform_length=[800, 900]),
     "waveform_length exceeds the samples of waveform"),
    (dict(waveform=np.zeros([2, 800], np.float32), waveform_length=[800]),
     "waveform_length must hold one length per waveform"),
    (dict(waveform=np.full([1, 800], 1000.0, np.float32), waveform_length=[800]),
     "must be float samples in [-1, 1] (int16 values must be divided by 32768)"),
    (dict(waveform=np.full([1, 800], np.nan, np.float32), waveform_length=[800]),
     "waveform holds NaN or infinite samples"),
])
def test_waveform_signature_rejects_bad_input_with_a_clear_error(loaded_001, inputs, message):
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        _call(loaded_001.signatures["serve_waveform"], **inputs)
    assert message in error.value.message.replace("\\'", "'")


@pytest.mark.parametrize("inputs, message", [
    (dict(logspec_001=np.zeros([1, 0, 400], np.float32), logspec_001_length=[0]),
     "logspec_001 has zero frames (empty input)"),
    (dict(logspec_001=np.zeros([1, 60002, 400], np.float32), logspec_001_length=[60002]),
     "logspec_001 is longer than 600 s"),
    (dict(logspec_001=np.zeros([0, 5, 400], np.float32), logspec_001_length=np.zeros(
        [0], np.int32)), "empty batch (0 examples)"),
])
def test_features_signature_rejects_bad_input_with_a_clear_error(loaded_001, inputs,
                                                                 message):
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        _call(loaded_001.signatures["serving_default"], **inputs)
    assert message in error.value.message


def test_example_signature_and_dtype_errors(loaded_001):
    with pytest.raises(tf.errors.InvalidArgumentError, match="empty batch"):
        loaded_001.signatures["serve_tf_example"](examples=tf.constant([], tf.string))
    # A wrong dtype never reaches the graph: the signature refuses it.
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError)):
        loaded_001.signatures["serve_waveform"](waveform=tf.zeros([1, 800], tf.float64),
                                                waveform_length=tf.constant([800]))


def _input_shapes(signature):
    return {name: spec.shape.as_list()
            for name, spec in signature.structured_input_signature[1].items()}


def test_signatures_declare_their_input_shapes(exports):
    """Issue 10.10: the signatures showed shape unknown_rank; now the feature specs'."""
    loaded = tf.saved_model.load(exports["001_hard"])
    assert _input_shapes(loaded.signatures["serving_default"]) == {
        "logspec_001": [None, None, 400], "logspec_001_length": [None]}
    assert _input_shapes(loaded.signatures["serve_waveform"]) == {
        "waveform": [None, None], "waveform_length": [None]}
    assert _input_shapes(loaded.signatures["serve_tf_example"]) == {"examples": [None]}
    loaded = tf.saved_model.load(exports["000_mtl"])
    assert _input_shapes(loaded.signatures["serving_default"]) == {
        "egemaps_functionals": [None, 88]}
    described = export.read_features(exports["000_mtl"])["signatures"]["serving_default"]
    assert described["inputs"]["egemaps_functionals"]["shape"] == [None, 88]


@pytest.mark.parametrize("signature, inputs", [
    ("serve_waveform", dict(waveform=np.zeros([16000], np.float32), waveform_length=[16000])),
    ("serving_default", dict(logspec_001=np.zeros([5, 400], np.float32),
                             logspec_001_length=[5])),
    ("serving_default", dict(logspec_001=np.zeros([1, 5, 399], np.float32),
                             logspec_001_length=[5])),
    ("serving_default", dict(logspec_001=np.zeros([1, 5, 400], np.float32),
                             logspec_001_length=[[5]])),
    ("serve_tf_example", dict(examples=np.array([[b"x"]]))),
])
def test_a_wrong_rank_or_last_axis_is_refused_by_the_signature(loaded_001, signature, inputs):
    with pytest.raises((ValueError, TypeError, tf.errors.InvalidArgumentError)):
        _call(loaded_001.signatures[signature], **inputs)


def test_waveform_batches_are_independent_of_padding(loaded_001):
    rng = np.random.default_rng(0)
    long_wave = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    short_wave = (0.1 * rng.standard_normal(300)).astype(np.float32)  # under one frame
    batch = np.full([2, 16000], 0.7, np.float32)  # the client's padding is not zero
    batch[0], batch[1, :300] = long_wave, short_wave
    serve = loaded_001.signatures["serve_waveform"]
    together = _call(serve, waveform=batch, waveform_length=[16000, 300])["emotion"].numpy()
    alone = [_call(serve, waveform=w[None], waveform_length=[len(w)])["emotion"].numpy()[0]
             for w in (long_wave, short_wave)]
    assert np.isfinite(together).all()
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-5)


def test_fixed_length_frontend_is_computed_per_row():
    # spec_004 crops each row's own centre 4 s: a padded batch must not shift the crop.
    inputs = keras.Input((None, 512), name="spec_004")
    pooled = keras.layers.GlobalAveragePooling1D()(inputs)
    model = keras.Model({"spec_004": inputs}, {"speaker": keras.layers.Dense(
        3, activation="softmax", name="speaker")(pooled)})
    feature = ServedFeature("spec_004", 512, True, 100.0, frontend=spectrogram.SPECTROGRAM_004)
    module = ServingModule(model, [feature], 16000)
    assert module.has_waveform_signature
    rng = np.random.default_rng(2)
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (80000, 20000)]
    batch, lengths = pad(waves)
    together = module.serve_waveform({"waveform": tf.constant(batch),
                                      "waveform_length": tf.constant(lengths)})["speaker"]
    for row, wave in enumerate(waves):
        frames = spectrogram.compute(spectrogram.SPECTROGRAM_004, wave)
        alone = module.serve_features({"spec_004": tf.constant(frames[None])})["speaker"]
        np.testing.assert_allclose(together.numpy()[row], alone.numpy()[0], atol=1e-5)


def test_export_refuses_an_existing_directory_unless_overwrite(runs, tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with pytest.raises(FileExistsError, match="overwrite"):
        export.export_saved_model(runs["000_mtl"], str(target))
    assert (target / "stale.txt").exists()
    export.export_saved_model(runs["000_mtl"], str(target), checkpoint="last",
                              overwrite=True)
    assert not (target / "stale.txt").exists()
    assert export.read_features(str(target))["checkpoint"] == "last"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no staging left behind


def test_export_errors_name_the_missing_piece(runs, tmp_path):
    with pytest.raises(ValueError, match="checkpoint must be one of"):
        export.export_saved_model(runs["000_mtl"], str(tmp_path / "a"), checkpoint="first")
    with pytest.raises(FileNotFoundError, match="params.yaml not found"):
        export.export_saved_model(str(tmp_path), str(tmp_path / "b"))
    with pytest.raises(FileNotFoundError, match=r"moved. \(given data_dir\)"):
        export.export_saved_model(runs["000_mtl"], str(tmp_path / "c"),
                                  data_dir=str(tmp_path / "moved"))
    with pytest.raises(FileNotFoundError, match="a SavedModel written by tfser-export"):
        export.read_features(str(tmp_path))
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "c")


def test_waveform_frontends_are_the_registry_features():
    for name, kind in contract.WAVEFORM_FRONTENDS.items():
        spec = registry.feature_spec(name)
        assert spec.sequence and spec.dim == spectrogram.output_shape(kind, 16000)[1]
        wave = (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32)
        np.testing.assert_array_equal(registry.build_extractor(name)(wave),
                                      spectrogram.compute(kind, wave))


def test_serving_normalisation_of_per_speaker_features_falls_back_to_global():
    stats = ([1.0, 2.0], [0.5, 0.25])
    entry = contract.serving_normalisation("emobase_lld_002", "per_speaker", "f0", stats)
    assert (entry["training"], entry["serving"]) == ("per_speaker", "global")
    assert "global training statistics" in entry["note"] and entry["mean"] == [1.0, 2.0]
    none = contract.serving_normalisation("x", "none", "f0", None)
    assert none["serving"] == "none" and none["mean"] is None
    with pytest.raises(ValueError, match="no global statistics"):
        contract.serving_normalisation("x", "global", "f0", None)
