"""Benchmark: one training epoch of ``001_hard`` streamed from a large spectrogram set.

On a featurized ``synthetic_001`` directory (e.g. written by ``benchmarks/bench_scale.py
--features spectrogram --keep``), builds the task of the registered experiment
``001_hard`` (the full CNN-BLSTM-attention model) and measures, in one process:

1. the reader alone: one pass over fold 0's training part as training reads it
   (parsed, normalised, shuffled within the byte-capped buffer, padded, batched),
   with the rate of each quarter of the pass (steady = streaming, not slowing down);
2. one ``fit`` epoch of the model on the same dataset.

and the process's peak resident memory (``ru_maxrss``) after each, to show the reader
caches nothing (spectrograms are not cached: :mod:`tfser.data.memory`). Prints
examples/s and peak RSS.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_train_epoch.py \
        --data build/scale/features/spectrogram_5000 [--max_steps 0]
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tfser import data  # noqa: E402
from tfser import training  # noqa: E402


def peak_rss_gb() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def reader_pass(dataset: tf.data.Dataset, steps: int) -> dict:
    """Examples per second over one pass, overall and per quarter of the pass."""
    sizes, stamps = [], [time.perf_counter()]
    for batch in dataset.take(steps) if steps else dataset:
        sizes.append(int(tf.shape(next(iter(batch[1].values())))[0]))
        stamps.append(time.perf_counter())
    quarters = []
    for q in range(4):
        lo, hi = q * len(sizes) // 4, (q + 1) * len(sizes) // 4
        if hi > lo:
            quarters.append(sum(sizes[lo:hi]) / (stamps[hi] - stamps[lo]))
    return {"examples": sum(sizes), "seconds": stamps[-1] - stamps[0], "quarters": quarters}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="featurized synthetic_001 directory")
    parser.add_argument("--experiment", default="001_hard")
    parser.add_argument("--max_steps", type=int, default=0,
                        help="cap the pass and the epoch at this many batches (0: whole)")
    parser.add_argument("--memory_budget_mb", type=int, default=0,
                        help="the reader's memory budget (0: its default)")
    parser.add_argument("--reader_only", action="store_true", help="skip the fit epoch")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    config = training.resolve_config(args.experiment, data_dir=os.path.abspath(args.data))
    task = training.EmotionTask(config)
    if args.memory_budget_mb:
        # The task's reader calls take the budget through build_dataset's keyword.
        build = data.build_dataset
        data.build_dataset = functools.partial(
            build, memory_budget=args.memory_budget_mb * 2 ** 20)
    training.runtime.set_seeds(config.seed)
    print(f"{args.experiment} on {args.data}, fold {config.fold}: "
          f"{task.info.count(config.fold, 'train', True)} training examples, "
          f"batch {config.batch_size}; peak RSS after set-up {peak_rss_gb():.2f} GB", flush=True)

    read = reader_pass(task.build_dataset("train"), args.max_steps)
    print(f"reader only: {read['examples']} examples in {read['seconds']:.1f} s = "
          f"{read['examples'] / read['seconds']:.1f} examples/s; per quarter "
          f"{', '.join(f'{r:.0f}' for r in read['quarters'])}; peak RSS "
          f"{peak_rss_gb():.2f} GB", flush=True)
    if args.reader_only:
        return

    model = task.build_model()
    model.compile(optimizer=training.runtime.build_optimizer(config.optimizer),
                  **task.compile_kwargs())
    dataset = task.build_dataset("train")
    steps = args.max_steps or None
    if steps:
        dataset = dataset.take(steps)
    stamps = []
    clock = tf.keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: stamps.append(time.perf_counter()))
    started = time.perf_counter()
    history = model.fit(dataset, epochs=1, verbose=0, callbacks=[clock])
    seconds = time.perf_counter() - started
    examples = read["examples"]
    # Without the first step, which traces the training function.
    steady = (examples - config.batch_size) / (stamps[-1] - stamps[0]) if len(stamps) > 1 \
        else float("nan")
    print(f"fit, one epoch: {examples} examples in {seconds:.1f} s = "
          f"{examples / seconds:.1f} examples/s ({steady:.1f} after the first, tracing, "
          f"step); loss {history.history['loss'][-1]:.3f}; peak RSS {peak_rss_gb():.2f} GB",
          flush=True)
    print(f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
