"""Training throughput fed by the TFRecord pipeline against the same batches in memory.

For each case a task is built from a registered experiment (with a few overrides) on a
featurized directory, and its model is trained with Keras ``fit`` (the Trainer's path)
for the same number of steps from

* ``tfrecord``: ``task.build_dataset("train")`` as training reads it (TFRecords parsed,
  normalised, class-weighted, shuffled and batched on the fly), repeated;
* ``cached``: the same dataset with ``.cache()``, filled by one full pass beforehand,
  so its steps only copy tensors out of memory;
* ``parsing`` (fixed-size features only): the reader with its automatic in-memory
  cache turned off, i.e. every pass parses the TFRecords one example at a time
  (what ``tfrecord`` did before the reader cached functionals by default).

Each timed run is the last ``--steps`` steps of one ``fit`` call after ``--warmup``
untimed ones (tracing, first allocations, filling the shuffle and prefetch buffers
and the cache are not throughput). The two feeds alternate for ``--rounds`` rounds and the
median examples/s of each is reported, with their ratio (target >= 0.9): timings on
these shared 2-core machines vary by ~30 % between runs, so only ratios measured in
one run are compared.

Cases:

* ``000_mtl``: paper 000's DNN 2x512 (emotion + secondary heads, batch 32) on
  ``build/features/synthetic_000`` (eGeMAPS functionals, official split);
* ``001_small``: a smaller 001-like cnn_blstm_attention (filters 8/12/16, BLSTM 32,
  attention 32, batch 16) on ``build/features/synthetic_001`` fold 0 (logspec_001
  spectrograms, 400 bins, speed-perturbed copies included).

Run::

    .venv/bin/python benchmarks/training.py                  # both cases, ~3 min
    .venv/bin/python benchmarks/training.py --cases 000_mtl --steps 200 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Dict, List, Sequence, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfser import training  # noqa: E402
from tfser.data import reader  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))

# name -> (experiment, data dir, overrides, default timed steps)
CASES: Dict[str, Tuple[str, str, Tuple[str, ...], int]] = {
    "000_mtl": ("000_mtl", "build/features/synthetic_000", (), 300),
    "001_small": ("001_hard", "build/features/synthetic_001", (
        "fold=0",
        "model.trunk.params={filters: [8, 12, 16], lstm_units: 32, attention_units: 32}",
        "model.heads.0.hidden=[16]"), 20),
}


def _count(dataset: tf.data.Dataset, steps: int) -> int:
    """Examples in the first ``steps`` batches of a (repeated) dataset."""
    total = 0
    for features, _, _ in dataset.take(steps):
        total += int(tf.shape(tf.nest.flatten(features)[0])[0])
    return total


class _StepTimer(keras.callbacks.Callback):
    """Seconds from the start of batch ``skip`` to the end of training."""

    def __init__(self, skip: int):
        super().__init__()
        self.skip = skip
        self.start = None
        self.seconds = None

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.skip:
            self.start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start


def _fit_seconds(model, dataset: tf.data.Dataset, warmup: int, steps: int) -> float:
    """Seconds of ``steps`` training steps after ``warmup`` untimed ones, one iterator."""
    timer = _StepTimer(warmup)
    model.fit(dataset, epochs=1, steps_per_epoch=warmup + steps, verbose=0, shuffle=False,
              callbacks=[timer])
    return timer.seconds


def run_case(name: str, steps: int, warmup: int, rounds: int) -> Dict[str, float]:
    """Median examples/s of both feeds and their ratio for one case."""
    experiment, data_dir, overrides, _ = CASES[name]
    config = training.resolve_config(experiment, data_dir=os.path.join(ROOT, data_dir),
                                     overrides=list(overrides))
    task = training.EmotionTask(config)
    training.runtime.set_seeds(config.seed)
    model = task.build_model()
    model.compile(optimizer=training.runtime.build_optimizer(config.optimizer),
                  **task.compile_kwargs())
    feeds = {"tfrecord": task.build_dataset("train").repeat()}
    specs = [task.info.feature_specs[name] for name in task.feature_names]
    heads = [task.info.label_specs[name] for name in task.head_names]
    if reader.auto_cache(task.info, config.fold, "train", True, specs, heads):
        limit, reader.AUTO_CACHE_MAX_BYTES = reader.AUTO_CACHE_MAX_BYTES, 0
        try:
            feeds["parsing"] = task.build_dataset("train").repeat()
        finally:
            reader.AUTO_CACHE_MAX_BYTES = limit
    cached = task.build_dataset("train").cache()
    start = time.perf_counter()
    epoch_examples = _count(cached, -1)  # fills the cache
    print(f"[{name}] {epoch_examples} training examples per epoch, cached in "
          f"{time.perf_counter() - start:.1f} s; batch {config.batch_size}, "
          f"{model.count_params():,} parameters", flush=True)
    feeds["cached"] = cached.repeat().prefetch(tf.data.AUTOTUNE)
    # The same batch sizes in both feeds: the timed steps follow the warm-up ones.
    examples = _count(feeds["cached"], warmup + steps) - _count(feeds["cached"], warmup)
    for dataset in feeds.values():
        _fit_seconds(model, dataset, warmup, 1)  # traces the training step
    rates: Dict[str, List[float]] = {feed: [] for feed in feeds}
    for round_index in range(rounds):
        for feed, dataset in feeds.items():
            rate = examples / _fit_seconds(model, dataset, warmup, steps)
            rates[feed].append(rate)
            print(f"[{name}] round {round_index + 1}/{rounds} {feed:<8} {rate:8.1f} "
                  "examples/s", flush=True)
    return {feed: statistics.median(values) for feed, values in rates.items()}


def main(argv: Sequence[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--steps", type=int, default=0,
                        help="timed steps per run (default: per case)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before each run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    results = {}
    for name in args.cases:
        results[name] = run_case(name, args.steps or CASES[name][3], args.warmup,
                                 args.rounds)
    print("\nmedian examples/s; ratio = feed / cached (target for tfrecord >= 0.9)")
    for name, result in results.items():
        for feed in ("tfrecord", "parsing", "cached"):
            if feed in result:
                print(f"{name:<10} {feed:<9} {result[feed]:9.1f} examples/s   ratio "
                      f"{result[feed] / result['cached']:.2f}")


if __name__ == "__main__":
    main()
