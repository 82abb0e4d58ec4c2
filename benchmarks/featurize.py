"""Benchmark: featurization throughput, plain loop versus the Beam pipeline.

Prints utterances per second and the real-time factor (processing seconds per second
of audio) of:

  (a) a plain Python loop: read each rated utterance and extract openSMILE eGeMAPS
      functionals (no encoding, no writing);
  (b) the Beam pipeline (configs/featurize/synthetic_000.yaml with ties broken at
      random so that every utterance is labelled: eGeMAPS functionals,
      labels, encoding, per-speaker shards, statistics, dataset_info) on the
      DirectRunner with 1 worker (in-process);
  (c) the same with N workers (default 2) in the default parallel mode, threads
      (``multi_threading``);
  (d) the same with N worker processes (``multi_processing``), for comparison;

and the ratios b/a (target >= 0.85) and c/b (target >= 1.7; d/b is printed too).
Pipeline times are the whole ``build_pipeline`` call (planning, Beam, finalisation);
(d) includes starting the worker processes, each of which imports TensorFlow. All run
in one invocation because these machines vary by about +-30 % from run to run; the
load average is printed because other jobs on a shared machine skew the figures.

Usage::

    .venv/bin/python benchmarks/featurize.py [--corpus build/bench/synth] [--size default]
        [--workers 2] [--out build/bench/features] [--repeats 1]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from tfser import annotations
from tfser import beam as tfser_beam
from tfser import synthetic
from tfser.beam import plan as plan_lib
from tfser.audio import audio_io
from tfser.features import opensmile_sets

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "configs", "featurize", "synthetic_000.yaml")
# Ties broken at random, so that (almost) every utterance is labelled and the pipeline
# extracts features for the same utterances as the plain loop.
OVERRIDES = ("labels.views=[{name: emotion, kind: hard, params: {tie_policy: random}}]",)
TARGET_B_OVER_A = 0.85
TARGET_C_OVER_B = 1.7


def ensure_corpus(directory: str, size: str) -> annotations.AnnotationTable:
    """Loads the synthetic corpus, generating it first when missing."""
    if not os.path.exists(os.path.join(directory, "meta.json")):
        print(f"generating the {size} synthetic corpus into {directory} ...", flush=True)
        synthetic.generate(directory, seed=0, size=size, progress=False)
    return annotations.load_table(directory)


def plain_loop(table: annotations.AnnotationTable, config) -> dict:
    """(a): read + eGeMAPS functionals for the utterances the pipeline featurizes."""
    selected, _ = plan_lib.select_utterances(config, table)
    paths = [table.resolve_audio(p) for p in selected["audio_path"]]
    started = time.perf_counter()
    audio_s = 0.0
    for path in paths:
        waveform = audio_io.read_audio(path, 16000, clip_fraction=None)
        opensmile_sets.extract(waveform, 16000, "egemaps_functionals")
        audio_s += len(waveform) / 16000.0
    seconds = time.perf_counter() - started
    return {"utterances": len(paths), "seconds": seconds, "audio_s": audio_s}


def pipeline(table_dir: str, out_dir: str, config, workers: int, mode: str = "") -> dict:
    """(b), (c), (d): the whole build_pipeline call."""
    options = [f"--direct_num_workers={workers}"]
    if mode:
        options.append(f"--direct_running_mode={mode}")
    result = tfser_beam.build_pipeline(config, table_dir, out_dir, pipeline_options=options,
                                       overwrite=True, log_every=10 ** 9,
                                       created_by="benchmarks/featurize.py")
    counts = result.counts
    print(f"    in {counts['in']} = written {counts['written']} + rejected {counts['rejected']}")
    return {"utterances": counts["in"], "seconds": result.seconds,
            "audio_s": counts["audio_seconds"]}


def line(label: str, figures: dict) -> str:
    rate = figures["utterances"] / figures["seconds"]
    rtf = figures["seconds"] / figures["audio_s"]
    return (f"{label:<34} {figures['utterances']:5d} utt  {figures['seconds']:7.1f} s  "
            f"{rate:7.2f} utt/s  RTF {rtf:.4f} ({1 / rtf:5.1f}x real time)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="build/bench/synth")
    parser.add_argument("--size", default="default", choices=list(synthetic.SIZES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="build/bench/features")
    parser.add_argument("--repeats", type=int, default=1,
                        help="Rounds of all settings; the fastest of each is compared.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    table = ensure_corpus(args.corpus, args.size)
    print(f"load average at the start: {os.getloadavg()[0]:.2f}", flush=True)
    config = tfser_beam.load_config(CONFIG, OVERRIDES)
    settings = {
        "a": ("(a) plain loop, eGeMAPS functionals", lambda: plain_loop(table, config)),
        "b": ("(b) Beam pipeline, 1 worker",
              lambda: pipeline(args.corpus, os.path.join(args.out, "one"), config, 1)),
        "c": (f"(c) Beam pipeline, {args.workers} threads",
              lambda: pipeline(args.corpus, os.path.join(args.out, "threads"), config,
                               args.workers)),
        "d": (f"(d) Beam pipeline, {args.workers} processes",
              lambda: pipeline(args.corpus, os.path.join(args.out, "processes"), config,
                               args.workers, "multi_processing")),
    }
    best = {}
    for repeat in range(args.repeats):
        # Interleaved, so that a burst of other work on the machine hits all settings.
        for key, (label, measure) in settings.items():
            figures = measure()
            print(line(f"{label} [{repeat + 1}]", figures), flush=True)
            if key not in best or figures["seconds"] < best[key]["seconds"]:
                best[key] = figures
    print(f"best of {args.repeats}:")
    for key, (label, _) in settings.items():
        print(line(label, best[key]))
    rate = {k: v["utterances"] / v["seconds"] for k, v in best.items()}
    for name, value, target in (("b/a", rate["b"] / rate["a"], TARGET_B_OVER_A),
                                ("c/b", rate["c"] / rate["b"], TARGET_C_OVER_B),
                                ("d/b", rate["d"] / rate["b"], TARGET_C_OVER_B)):
        verdict = "met" if value >= target else "NOT met"
        print(f"{name} = {value:.2f} (target >= {target}: {verdict})")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end; "
          f"corpus {args.corpus} ({args.size})")


if __name__ == "__main__":
    main()
