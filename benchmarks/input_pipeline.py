"""How fast build_dataset feeds a model, against how fast a 001-like model trains.

Writes a synthetic data directory (random features, 10 speakers, one file each),
then times full passes of :func:`tfser.data.build_dataset` over it for 88-dim
functionals and for 400-bin spectrograms (~300 frames), uncached and cached, and
finally times training steps of a small conv + BLSTM-128 model on random [300, 400]
batches of 16. The reader/model ratio is the figure that matters: timings on these
machines vary by about 30 % between runs, so only ratios from one run are compared.

Run::

    .venv/bin/python benchmarks/input_pipeline.py            # ~2,000 examples, ~1 GB temp
    .venv/bin/python benchmarks/input_pipeline.py --examples 400 --model-steps 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfser.beam import dataset_info as beam_info
from tfser.data import build_dataset
from tfser.features import example_codec as codec

SPEAKERS = [f"spk{i:02d}" for i in range(10)]
FUNCTIONALS = codec.FeatureSpec("functionals", 88)
SPECTROGRAM = codec.FeatureSpec("spectrogram", 400, sequence=True, frame_rate_hz=100.0)
PRIMARY = codec.LabelFieldSpec("primary", "hard", (), ("a", "b", "c", "d"))


def write_data_dir(root: str, examples: int, feature_specs, seed: int = 0) -> None:
    """Random features, one shard file per speaker, and the few sidecar entries the
    reader uses (tfser.beam.dataset_info layout); every speaker is in TRAIN."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, beam_info.EXAMPLES_DIR), exist_ok=True)
    per_speaker = -(-examples // len(SPEAKERS))
    files = []
    for speaker in SPEAKERS:
        files.append(f"{beam_info.EXAMPLES_DIR}/{speaker}-00000-of-00001.tfrecord")
        with tf.io.TFRecordWriter(os.path.join(root, files[-1])) as writer:
            for index in range(per_speaker):
                frames = int(rng.integers(250, 351))
                features = {spec.name: rng.standard_normal(
                    (frames, spec.dim) if spec.sequence else spec.dim, dtype=np.float32)
                    for spec in feature_specs}
                labels = {PRIMARY.head: codec.LabelValue(np.array(index % 4), 1.0)}
                meta = {"utt_id": f"{speaker}_{index}", "speaker_id": speaker,
                        "variant": "original"}
                writer.write(codec.encode_example(meta, features, labels,
                                                  {PRIMARY.head: PRIMARY}))
    unit = {spec.name: {"mean": [0.0] * spec.dim, "std": [1.0] * spec.dim}
            for spec in feature_specs}
    train = {"speakers": SPEAKERS, "files": files, "written": per_speaker * len(SPEAKERS),
             "augmented": {"files": [], "written": 0}}
    info = {"format": beam_info.FORMAT, "version": beam_info.VERSION,
            "features": [spec.to_dict() for spec in feature_specs],
            "labels": [PRIMARY.to_dict()],
            "split": {"folds": [{"name": "all", "train": train}]},
            "normalisation": {
                "method": {FUNCTIONALS.name: "global", SPECTROGRAM.name: "per_speaker"},
                "global": {"all": unit}, "per_speaker": {s: unit for s in SPEAKERS}}}
    beam_info.write_info(os.path.join(root, beam_info.DATASET_INFO_FILE), info)


# (label, feature sets stored, feature set read). Functionals are timed twice: alone,
# and stored beside spectrograms, where reading them still scans the large records.
CASES = (("functionals (stored alone)", (FUNCTIONALS,), FUNCTIONALS.name),
         ("functionals (beside spectrograms)", (FUNCTIONALS, SPECTROGRAM), FUNCTIONALS.name),
         ("spectrogram", (FUNCTIONALS, SPECTROGRAM), SPECTROGRAM.name))


def examples_per_second(dataset: tf.data.Dataset, passes: int = 1) -> float:
    """Examples per second over ``passes`` full passes of a batched dataset."""
    start, seen = time.perf_counter(), 0
    for _ in range(passes):
        for x, _, _ in dataset:
            seen += int(tf.shape(next(iter(x.values())))[0])
    return seen / (time.perf_counter() - start)


def reader_rate(root: str, feature: str, batch_size: int, cache: bool) -> float:
    dataset = build_dataset(root, features=[feature], batch_size=batch_size, cache=cache)
    # The first pass warms the page cache, or fills the tf.data cache when caching.
    examples_per_second(dataset)
    return examples_per_second(dataset)


def model_001_like(frames: int = 300, bins: int = 400):
    """A small conv stack + BLSTM 128 over a [T, 400] log spectrogram (paper-001-like)."""
    import keras

    inputs = keras.Input((frames, bins))
    x = keras.layers.Reshape((frames, bins, 1))(inputs)
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D((2, 4))(x)
    x = keras.layers.Reshape((x.shape[1], x.shape[2] * x.shape[3]))(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(128))(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def model_rate(steps: int, batch_size: int = 16) -> float:
    """Training examples per second of :func:`model_001_like` on random data."""
    rng = np.random.default_rng(0)
    model = model_001_like()
    x = rng.standard_normal((batch_size, 300, 400), dtype=np.float32)
    y = rng.integers(0, 4, batch_size)
    for _ in range(2):  # tracing and first-step allocation are not throughput
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--model-steps", type=int, default=10)
    parser.add_argument("--data-dir", default=None,
                        help="where to write the synthetic data (default: a temp dir)")
    args = parser.parse_args()

    base = args.data_dir or tempfile.mkdtemp(prefix="tfser_bench_")
    try:
        rates = {}
        for label, stored, feature in CASES:
            root = os.path.join(base, "+".join(spec.name for spec in stored))
            if not os.path.exists(root):
                start = time.perf_counter()
                write_data_dir(root, args.examples, stored)
                print(f"wrote {args.examples} examples ({', '.join(s.name for s in stored)}) "
                      f"in {time.perf_counter() - start:.1f} s")
            for cache in (False, True):
                rates[(label, cache)] = reader_rate(root, feature, args.batch_size, cache)
                print(f"reader  {label:<34} {'cached' if cache else 'uncached':<9}"
                      f"{rates[(label, cache)]:9.0f} examples/s")
        model = model_rate(args.model_steps, args.batch_size)
        print(f"model   001-like conv+BLSTM-128, [300, 400], batch {args.batch_size}: "
              f"{model:.1f} examples/s (training)")
        for cache in (False, True):
            ratio = rates[("spectrogram", cache)] / model
            print(f"ratio   spectrogram reader ({'cached' if cache else 'uncached'}) / "
                  f"model: {ratio:.0f}x (target >= 10x)")
    finally:
        if args.data_dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
