"""Benchmark: featurization on a Dask cluster (1 and 2 workers) against the local runner.

Featurizes one synthetic corpus (configs/featurize/synthetic_000.yaml: eGeMAPS
functionals) with, in one invocation:

  (a) the local runner (FnApiRunner, in-process), 1 worker;
  (b) the local runner with 2 threads (``--direct_num_workers=2``, its default mode);
  (c) Beam's DaskRunner on a Dask cluster of 1 worker process on 127.0.0.1;
  (d) the same with 2 worker processes;

each ``--repeats`` times in a row (default 2). Every Dask cluster is started for its
setting (`dask scheduler` + `dask worker --nthreads 1`, not timed); its first run is
*cold* (each worker imports TensorFlow and openSMILE when its first task arrives), later
runs are *warm*. Times are whole ``build_pipeline`` calls (planning, Beam, merge,
dataset_info). Prints each run, the ratios against (a), d/c, and the load average
(other jobs on a shared machine skew the figures; these 2-core machines vary by about
+-30 % from run to run, hence one invocation). Every run's shards are checked
byte-identical to (a)'s.

Usage::

    .venv/bin/python benchmarks/bench_dask.py [--corpus build/bench/synth] [--size default]
        [--out build/bench/dask] [--repeats 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from tfser import annotations
from tfser import beam as tfser_beam
from tfser import synthetic
from tfser.testing.dask_cluster import LocalDaskCluster

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "configs", "featurize", "synthetic_000.yaml")


def ensure_corpus(directory: str, size: str) -> None:
    """Generates the synthetic corpus unless it is there already."""
    if not os.path.exists(os.path.join(directory, "meta.json")):
        print(f"generating the {size} synthetic corpus into {directory} ...", flush=True)
        synthetic.generate(directory, seed=0, size=size, progress=False)


def shard_bytes(out_dir: str) -> dict:
    examples = os.path.join(out_dir, tfser_beam.EXAMPLES_DIR)
    contents = {}
    for name in sorted(os.listdir(examples)):
        with open(os.path.join(examples, name), "rb") as handle:
            contents[name] = handle.read()
    return contents


def featurize(corpus: str, out_dir: str, options) -> float:
    """Seconds of one whole featurization (the result's own clock)."""
    config = tfser_beam.load_config(CONFIG)
    result = tfser_beam.build_pipeline(config, corpus, out_dir, pipeline_options=options,
                                       overwrite=True, log_every=10 ** 9,
                                       created_by="benchmarks/bench_dask.py")
    counts = result.counts
    assert counts["in"] == counts["written"] + counts["rejected"], counts
    return result.seconds


def run_setting(label, corpus, out_dir, options, repeats, reference, workers=0):
    """Runs one setting ``repeats`` times (on one fresh cluster when ``workers``)."""
    def measure(opts):
        times = []
        for repeat in range(repeats):
            seconds = featurize(corpus, out_dir, opts)
            same = reference is None or shard_bytes(out_dir) == reference
            print(f"{label:<34} run {repeat + 1}: {seconds:7.1f} s"
                  f"{'' if same else '  SHARDS DIFFER FROM (a)'}", flush=True)
            times.append(seconds)
        return times

    if not workers:
        return measure(options)
    with tempfile.TemporaryDirectory(prefix="bench_dask_") as work_dir:
        with LocalDaskCluster(workers, work_dir) as cluster:
            return measure(options + ["--runner=DaskRunner",
                                      f"--dask_client_address={cluster.address}"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="build/bench/synth")
    parser.add_argument("--size", default="default", choices=list(synthetic.SIZES))
    parser.add_argument("--out", default="build/bench/dask")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    ensure_corpus(args.corpus, args.size)
    utterances = len(annotations.load_table(args.corpus).utterances)
    print(f"corpus {args.corpus} ({args.size}, {utterances} table rows); "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start",
          flush=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    times = {"a": run_setting("(a) local runner, 1 worker", args.corpus, out("local"), [],
                              args.repeats, None)}
    reference = shard_bytes(out("local"))
    times["b"] = run_setting("(b) local runner, 2 threads", args.corpus, out("threads"),
                             ["--direct_num_workers=2"], args.repeats, reference)
    times["c"] = run_setting("(c) DaskRunner, 1 worker", args.corpus, out("dask1"), [],
                             args.repeats, reference, workers=1)
    times["d"] = run_setting("(d) DaskRunner, 2 workers", args.corpus, out("dask2"), [],
                             args.repeats, reference, workers=2)
    base = min(times["a"])
    print("speed against (a), best run of each (cold = first run on a fresh cluster):")
    for key, label in (("b", "(b) local, 2 threads"), ("c", "(c) Dask, 1 worker"),
                       ("d", "(d) Dask, 2 workers")):
        print(f"  {label:<22} {base / min(times[key]):.2f}x"
              + (f"  (cold run {base / times[key][0]:.2f}x)" if key in "cd" else ""))
    print(f"  d/c (2 workers over 1) {min(times['c']) / min(times['d']):.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
