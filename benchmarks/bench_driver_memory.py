"""Benchmark: where the featurization driver's memory goes, phase by phase.

Runs :func:`tfser.beam.build_pipeline` in this process on one table (the local runner's
workers are threads of this process, so this is the whole run's memory) and prints the
resident memory (RSS) when each phase ends - imports, loading the table, planning, the
Beam run, the shard merge, gathering the records, finalisation - with the peak so far
(sampled every 50 ms). The featurized directory is removed afterwards.

Usage (subset tables are written by ``benchmarks/bench_scale.py``)::

    nice -n 10 .venv/bin/python benchmarks/bench_driver_memory.py \\
        --table build/scale/synth_large_subsets/20000 [--features spectrogram] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
CONFIGS = {"functionals": "synthetic_000.yaml", "spectrogram": "synthetic_001.yaml"}
SAMPLE_S = 0.05


class PeakRss:
    """Samples this process's RSS in a daemon thread; ``mark`` prints a phase line."""

    def __init__(self):
        self.process = psutil.Process()
        self.peak = 0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(SAMPLE_S)

    def mark(self, phase: str) -> None:
        rss = self.process.memory_info().rss
        self.peak = max(self.peak, rss)
        print(f"| {phase} | {rss / 2 ** 20:.0f} MB | {self.peak / 2 ** 20:.0f} MB |", flush=True)


def _after(meter: PeakRss, module, name: str, phase: str) -> None:
    """Wraps ``module.name`` so that its return is marked as the end of ``phase``."""
    function = getattr(module, name)

    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        meter.mark(phase)
        return result

    setattr(module, name, wrapped)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True)
    parser.add_argument("--features", default="spectrogram", choices=sorted(CONFIGS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    meter = PeakRss()
    print("| phase ended | RSS | peak so far |\n|---|---|---|")
    # Imported after the meter starts: the imports are the first phase.
    from tfser import annotations  # pylint: disable=import-outside-toplevel
    from tfser import beam as tfser_beam  # pylint: disable=import-outside-toplevel
    from tfser.beam import pipeline, plan, shards  # pylint: disable=import-outside-toplevel
    meter.mark("imports (TensorFlow, Beam, tfser)")
    for module, name, phase in [
            (annotations, "load_table", "load the table"),
            (plan, "make_plan", "plan"),
            (pipeline, "_write_items", "write the work-item chunks, drop the items"),
            (pipeline.runners, "run_to_completion", "Beam run (featurize)"),
            (shards, "merge_parts", "merge the shards"),
            (shards, "gather_records", "gather the records"),
            (pipeline, "_finalise", "finalise (reconcile, dataset_info)")]:
        _after(meter, module, name, phase)
    overrides = ["speed_perturb=[]"] if args.features == "spectrogram" else []
    config = tfser_beam.load_config(
        os.path.join(ROOT, "configs", "featurize", CONFIGS[args.features]), overrides)
    out = tempfile.mkdtemp(prefix="bench_driver_memory_")
    try:
        result = tfser_beam.build_pipeline(
            config, args.table, os.path.join(out, "features"), log_every=10 ** 9,
            pipeline_options=[f"--direct_num_workers={args.workers}"])
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"{result.summary_lines()[1]}; {result.seconds:.0f} s; peak RSS "
          f"{meter.peak / 2 ** 30:.2f} GB; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
