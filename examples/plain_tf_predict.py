"""Predict with a tfser SavedModel using only openSMILE, soundfile and TensorFlow.

Serving needs no tfser: an export's ``assets/features.json`` says which features the
model reads and how to compute them, so a client with the public ``opensmile`` and
``tensorflow`` packages can go from a WAV file to predictions::

    python examples/plain_tf_predict.py --model=build/demo/export/000_mtl/1 a.wav [b.wav ...]

Prints one JSON line per file: ``{"file", "signature", "outputs": {head: values},
"classes": {head: names}}``. Models that read only a spectrogram get the raw waveform
(``serve_waveform``: the front-end runs in the graph); models that read openSMILE
features get them computed here and sent to ``serving_default`` (the graph normalises
them with the training statistics).

openSMILE is imported before TensorFlow on purpose: its FFT symbols clash with
TensorFlow's when TensorFlow's library is loaded first (see ARCHITECTURE.md).
"""

import argparse
import json
import os
import sys

import numpy as np
import soundfile

try:  # Needed only for openSMILE-feature models; must come before TensorFlow.
    import opensmile
except ImportError:  # pragma: no cover - waveform models work without it
    opensmile = None

import tensorflow as tf  # noqa: E402  (after opensmile, see the docstring)


def read_assets(model_dir):
    assets = os.path.join(model_dir, "assets")
    with open(os.path.join(assets, "features.json"), encoding="utf-8") as handle:
        features = json.load(handle)
    with open(os.path.join(assets, "classes.json"), encoding="utf-8") as handle:
        classes = json.load(handle)
    return features, classes


def read_mono(path, sample_rate):
    """The file as float32 mono samples at the export's rate (no resampling here)."""
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise ValueError(f"{path}: {rate} Hz, the model expects {sample_rate} Hz "
                         "(resample first, or use tfser-predict which does)")
    if samples.shape[0] == 0:
        raise ValueError(f"{path}: no samples")
    return samples.mean(axis=1)


def opensmile_features(feature, samples, sample_rate):
    """One feature set computed with openSMILE as the export's features.json describes."""
    spec = feature.get("opensmile")
    if spec is None:
        raise ValueError(f"feature '{feature['name']}' is neither a waveform front-end nor "
                         "an openSMILE set; use tfser-predict")
    if opensmile is None:
        raise ImportError("this model reads openSMILE features: pip install opensmile")
    smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, spec["feature_set"]),
                            feature_level=getattr(opensmile.FeatureLevel,
                                                  spec["feature_level"]))
    frame = smile.process_signal(samples, sample_rate)
    if spec.get("columns"):
        frame = frame[spec["columns"]]
    values = frame.to_numpy(dtype=np.float32)
    return values[0] if not feature["sequence"] else values


def predict(model, contract, samples):
    """(signature name, {head: numpy output of the one example})."""
    rate = contract["sample_rate"]
    if contract.get("waveform_signature"):
        name = "serve_waveform"
        inputs = {"waveform": tf.constant(samples[None, :]),
                  "waveform_length": tf.constant([len(samples)], dtype=tf.int32)}
    else:
        name = "serving_default"
        inputs = {}
        for feature in contract["features"]:
            values = opensmile_features(feature, samples, rate)
            inputs[feature["name"]] = tf.constant(values[None])
            if feature.get("length_input"):
                inputs[feature["length_input"]] = tf.constant([len(values)], dtype=tf.int32)
    outputs = model.signatures[name](**inputs)
    return name, {head: value.numpy()[0] for head, value in outputs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="tfser-export output directory")
    parser.add_argument("files", nargs="+", help="WAV files")
    args = parser.parse_args(argv)
    contract, classes = read_assets(args.model)
    model = tf.saved_model.load(args.model)
    for path in args.files:
        samples = read_mono(path, contract["sample_rate"])
        signature, outputs = predict(model, contract, samples)
        print(json.dumps({"file": path, "signature": signature,
                          "outputs": {h: np.asarray(v).tolist() for h, v in outputs.items()},
                          "classes": classes}))
    assert "tfser" not in sys.modules, "this example must run without tfser"


if __name__ == "__main__":
    main()
