"""Serving latency of the 001 model: exported ``serve_waveform`` versus Keras calls.

Builds a fresh (untrained: latency does not depend on the weights) ``001_hard`` model
at its full size (CNN-BLSTM-attention on logspec_001; ``--smoke`` for the tiny one) as a
run directory over a featurized ``synthetic_001`` directory, exports it with
:func:`tfser.export.export_saved_model`, and times one 3 s utterance at batch 1:

* ``saved_model serve_waveform``: the exported signature, loaded with plain
  ``tf.saved_model.load``; waveform in, front-end + normalisation + model in one graph;
* ``keras predict_on_batch, precomputed``: Keras' compiled predict step on an already
  computed and normalised spectrogram (the model alone);
* ``keras predict_on_batch + front-end``: the featurization front-end
  (:func:`tfser.features.spectrogram.compute`), numpy normalisation, then the same;
* ``keras eager call``: ``model(x, training=False)``, op by op (the BLSTM then loops in
  Python), on the precomputed spectrogram and with the front-end.

Each path is warmed up, then timed call by call; the script prints the median and the
90th percentile in ms per utterance and each path's median relative to the SavedModel.
These 2-core machines vary by about 30 % run to run: compare the ratios of one run.

Run::

    .venv/bin/python benchmarks/export.py                                 # full-size model
    .venv/bin/python benchmarks/export.py --smoke --repeats 50
    .venv/bin/python benchmarks/export.py --model_dir runs/001_hard       # a trained run
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfser import export
from tfser import training
from tfser.features import spectrogram

SAMPLE_RATE = 16000


def fresh_run(data_dir: str, root: str, smoke: bool, experiment: str = "001_hard") -> str:
    """A run directory holding an untrained model (params + best checkpoint)."""
    config = training.resolve_config(experiment, data_dir=data_dir, smoke=smoke)
    task = training.EmotionTask(config)
    model = task.build_model()
    model_dir = os.path.join(root, "run")
    training.save_params(config, model_dir)
    os.makedirs(os.path.join(model_dir, "checkpoints"))
    model.save(os.path.join(model_dir, "checkpoints", "best.keras"))
    return model_dir


def time_calls(function, warmup: int, repeats: int) -> np.ndarray:
    """Milliseconds of each of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(1000.0 * (time.perf_counter() - start))
    return np.asarray(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default="build/features/synthetic_001",
                        help="featurized synthetic_001 directory (tfser-featurize --out)")
    parser.add_argument("--model_dir", default=None,
                        help="an existing 001 run to export instead of a fresh model")
    parser.add_argument("--smoke", action="store_true", help="the tiny smoke-size model")
    parser.add_argument("--seconds", type=float, default=3.0, help="utterance duration")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="tfser_export_bench_")
    try:
        start = time.perf_counter()
        model_dir = args.model_dir or fresh_run(args.data_dir, root, args.smoke)
        export_dir = export.export_saved_model(model_dir, os.path.join(root, "export"),
                                               data_dir=args.data_dir)
        print(f"exported {model_dir} in {time.perf_counter() - start:.1f} s")

        described = export.read_features(export_dir)
        feature = described["features"][0]
        name = feature["name"]
        if feature["frontend"] is None:
            raise SystemExit(f"{model_dir} reads {name}, which has no waveform front-end")
        kind = feature["frontend"]["kind"]
        mean = np.asarray(feature["normalisation"]["mean"], np.float32)
        scale = 1.0 / np.maximum(np.asarray(feature["normalisation"]["std"], np.float32),
                                 feature["normalisation"]["std_floor"])

        rng = np.random.default_rng(0)
        samples = int(args.seconds * SAMPLE_RATE)
        wave = (0.1 * rng.standard_normal(samples)).astype(np.float32)
        served = tf.saved_model.load(export_dir).signatures[export.WAVEFORM_SIGNATURE]
        wave_inputs = {"waveform": tf.constant(wave[None]),
                       "waveform_length": tf.constant([samples], tf.int32)}

        import keras  # pylint: disable=import-outside-toplevel
        model = keras.saving.load_model(os.path.join(model_dir, "checkpoints", "best.keras"),
                                        compile=False)

        def keras_inputs(frames: np.ndarray):
            return {name: ((frames - mean) * scale)[None].astype(np.float32),
                    f"{name}_length": np.asarray([len(frames)], np.int32)}

        precomputed = keras_inputs(spectrogram.compute(kind, wave, SAMPLE_RATE))
        reference = served(**wave_inputs)
        check = model.predict_on_batch(precomputed)
        for head, value in reference.items():
            gap = float(np.abs(value.numpy() - np.asarray(check[head])).max())
            print(f"parity  {head}: max |saved_model - keras| = {gap:.2e}")

        def with_frontend():
            return keras_inputs(spectrogram.compute(kind, wave, SAMPLE_RATE))

        paths = {
            "saved_model serve_waveform": lambda: served(**wave_inputs),
            "keras predict_on_batch, precomputed": lambda: model.predict_on_batch(
                precomputed),
            "keras predict_on_batch + front-end": lambda: model.predict_on_batch(
                with_frontend()),
            "keras eager call, precomputed": lambda: model(precomputed, training=False),
            "keras eager call + front-end": lambda: model(with_frontend(), training=False),
        }
        size = "smoke" if args.smoke and not args.model_dir else "full"
        print(f"latency per {args.seconds:g} s utterance, batch 1, {size} model "
              f"({args.warmup} warm-up, {args.repeats} timed calls):")
        medians = {}
        for label, function in paths.items():
            times = time_calls(function, args.warmup, args.repeats)
            medians[label] = float(np.median(times))
            print(f"  {label:<40} median {medians[label]:8.2f} ms   p90 "
                  f"{np.percentile(times, 90):8.2f} ms")
        base = medians["saved_model serve_waveform"]
        for label, median in medians.items():
            print(f"ratio   {label} / saved_model: {median / base:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
