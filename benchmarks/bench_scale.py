"""Benchmark: featurization at growing corpus sizes - time per utterance and peak memory.

For each size (default 1,000 / 5,000 / 20,000 rated utterances of the ``large``
synthetic corpus, nested subsets drawn with a fixed seed) and each feature set
(``functionals``: configs/featurize/synthetic_000.yaml, eGeMAPS functionals;
``spectrogram``: synthetic_001.yaml, the 001 log spectrogram, without its speed
perturbation unless ``--speed_perturb``), runs the ``tfser-featurize`` command in a
subprocess and polls the resident memory (RSS) of its whole process tree every 0.2 s.
Prints one row per run: utterances, ``in = written + rejected``, wall seconds,
the pipeline's own seconds (the command's summary line: without the
~8 s of imports), milliseconds per utterance of those (flat = linear total time), peak RSS of the tree (target
<= 1.5 GB whatever the size) and the load average (the machine is shared).

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_scale.py --corpus build/scale/synth_large \
        [--sizes 1000,5000,20000] [--features functionals,spectrogram] [--workers 2]

The corpus is generated (``tfser-synth --size=large``) when missing. Subset tables are
written beside it (``<corpus>_subsets/<n>``); their audio paths point into the corpus.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from typing import Dict, List, Sequence

import numpy as np
import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
BIN = os.path.join(ROOT, ".venv", "bin")
CONFIGS = {"functionals": "synthetic_000.yaml", "spectrogram": "synthetic_001.yaml"}
TARGET_PEAK_BYTES = 1.5 * 2 ** 30
POLL_S = 0.2


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (0 for those gone)."""
    total = 0
    try:
        members = [process] + process.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_measured(command: Sequence[str], extra=None) -> Dict:
    """Runs ``command``; returns its output, wall seconds and the tree's peak RSS.

    ``extra``: other processes (``Popen``, e.g. Dask workers) whose trees' RSS is
    added to the command's at every poll.
    """
    started = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        child = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=devnull,
                                 text=True, cwd=ROOT)
    watched = psutil.Process(child.pid)
    peak = 0
    others = [psutil.Process(process.pid) for process in extra or ()]
    while child.poll() is None:
        peak = max(peak, tree_rss(watched) + sum(tree_rss(other) for other in others))
        time.sleep(POLL_S)
    output = child.stdout.read()
    if child.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}):\n{output}")
    return {"output": output, "seconds": time.perf_counter() - started, "peak": peak}


def ensure_corpus(corpus: str) -> None:
    """Generates the large synthetic corpus when missing (streams, shows progress)."""
    if os.path.exists(os.path.join(corpus, "meta.json")):
        return
    print(f"generating the large synthetic corpus into {corpus} ...", flush=True)
    subprocess.run([os.path.join(BIN, "tfser-synth"), f"--out={corpus}", "--size=large",
                    "--workers=2"], check=True, cwd=ROOT)


def subset_table(corpus: str, size: int) -> str:
    """A table of ``size`` rated utterances of ``corpus`` (nested in larger subsets)."""
    from tfser import annotations  # pylint: disable=import-outside-toplevel
    directory = os.path.join(f"{os.path.normpath(corpus)}_subsets", str(size))
    if os.path.exists(os.path.join(directory, "meta.json")):
        return directory
    table = annotations.load_table(corpus)
    utts = table.utterances
    rated = utts[~utts["extra"].map(lambda e: bool(e.get("continuous", False)))]
    order = np.random.default_rng(0).permutation(len(rated))
    if size > len(rated):
        raise ValueError(f"{corpus} has {len(rated)} rated utterances, fewer than {size}")
    chosen = rated.iloc[np.sort(order[:size])].copy()
    chosen["audio_path"] = [table.resolve_audio(p) for p in chosen["audio_path"]]
    kept = set(chosen["utt_id"])
    subset = annotations.AnnotationTable(
        meta=table.meta, utterances=chosen.reset_index(drop=True),
        ratings=table.ratings[table.ratings["utt_id"].isin(kept)].reset_index(drop=True),
        traces=table.traces.iloc[0:0], root=os.path.abspath(directory))
    annotations.save_table(subset, directory)
    return directory


def featurize_command(table_dir: str, out_dir: str, features: str, workers: int,
                      speed_perturb: bool) -> List[str]:
    """The tfser-featurize command of one run."""
    command = [os.path.join(BIN, "tfser-featurize"),
               f"--config={os.path.join(ROOT, 'configs', 'featurize', CONFIGS[features])}",
               f"--table={table_dir}", f"--out={out_dir}", "--overwrite",
               f"--direct_num_workers={workers}", "--log_every=1000000"]
    if features == "spectrogram" and not speed_perturb:
        command.append("--params_override=speed_perturb=[]")
    return command


def pipeline_seconds(output: str) -> float:
    """The run's own seconds (planning, Beam, merge, finalisation; no start-up)."""
    found = re.search(r"^([\d.]+) s, [\d.]+ utt/s", output, re.MULTILINE)
    return float(found.group(1)) if found else float("nan")


def counts_of(output: str) -> str:
    """The ``in N = written W + rejected R`` line of the command's summary."""
    found = re.search(r"in \d+ = written \d+ \+ rejected \d+", output)
    return found.group(0) if found else "?"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="build/scale/synth_large")
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--features", default="functionals,spectrogram")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="build/scale/features")
    parser.add_argument("--speed_perturb", action="store_true",
                        help="Keep 001's speed perturbation (0.9, 1.1: 3x the TRAIN work).")
    parser.add_argument("--keep", action="store_true",
                        help="Keep the featurized directories (for the training benchmark).")
    args = parser.parse_args(argv)
    ensure_corpus(args.corpus)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    features = [f for f in args.features.split(",") if f]
    unknown = set(features) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown --features {sorted(unknown)}; choose from {sorted(CONFIGS)}")
    header = ("| features | utterances | in = written + rejected | command s | pipeline s | "
              "ms/utt (pipeline) | peak RSS (tree) | load avg |")
    print(header + "\n|---|---|---|---|---|---|---|---|", flush=True)
    for feature in features:
        for size in sizes:
            table_dir = subset_table(args.corpus, size)
            out_dir = os.path.join(args.out, f"{feature}_{size}")
            load = os.getloadavg()[0]
            result = run_measured(featurize_command(table_dir, out_dir, feature, args.workers,
                                                    args.speed_perturb))
            verdict = "" if result["peak"] <= TARGET_PEAK_BYTES else " (over 1.5 GB)"
            own = pipeline_seconds(result["output"])
            print(f"| {feature} | {size} | {counts_of(result['output'])} | "
                  f"{result['seconds']:.0f} | {own:.0f} | {1000 * own / size:.1f} | "
                  f"{result['peak'] / 2 ** 30:.2f} GB{verdict} | "
                  f"{load:.1f} -> {os.getloadavg()[0]:.1f} |", flush=True)
            if not args.keep:
                subprocess.run(["rm", "-rf", out_dir], check=True)
    print(f"machine: {os.cpu_count()} CPUs; --workers={args.workers}; corpus {args.corpus}")


if __name__ == "__main__":
    main()
