"""Benchmark: ``tfser-predict`` over a folder of files against a plain loop over the SavedModel.

Builds an untrained ``000_mtl`` export (eGeMAPS functionals: openSMILE does most of the
work, so the feature threads matter; the weights do not change the time) over a small
featurized synthetic_000 directory, makes a folder of ``--files`` symbolic links to
WAVs of the large synthetic corpus, then measures

* ``plain loop``: for each of the first ``--loop_files`` files, read the audio, extract
  the features and call ``serving_default`` on a batch of one (no table);
* ``tfser-predict``: the command over the same ``--loop_files`` files, and over all
  ``--files`` (feature threads = ``--workers``, batch 8, CSV table written in chunks),
  with the peak RSS of its process (polled). Its time is the command's own summary
  (model loading included, the ~10 s of imports before it not).

Prints files/s of each and the ratio, with the load average (the machine is shared).

With ``--beam``, the Beam path (``tfser.export.beam_predict``: RunInference with tfser's
model handler) also runs over the ``--files`` folder, beside the in-process path: on
Beam's local runner (``--runner=FnApiRunner``, ``--workers`` threads) and on a Dask
cluster of 2 worker processes started on 127.0.0.1 (``--runner=DaskRunner``); the
workers' peak RSS is polled with the command's own.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_predict.py --corpus build/scale/synth_large \
        [--files 10000] [--loop_files 1000] [--workers 2] [--beam] [--export DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# pylint: disable=wrong-import-position
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench_scale import BIN, ROOT, run_measured  # noqa: E402
from export import fresh_run  # noqa: E402  (benchmarks/export.py)
from tfser import export  # noqa: E402
from tfser.audio import audio_io  # noqa: E402
from tfser.features import registry  # noqa: E402


def link_folder(corpus: str, folder: str, count: int) -> list:
    """``count`` symbolic links to the corpus's utterance WAVs (sorted), in ``folder``."""
    wavs = sorted(n for n in os.listdir(os.path.join(corpus, "wav")) if n.startswith("utt_"))
    if len(wavs) < count:
        raise ValueError(f"{corpus} has {len(wavs)} utterance WAVs, fewer than {count}")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name in wavs[:count]:
        link = os.path.join(folder, name)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(corpus, "wav", name)), link)
        paths.append(link)
    return paths


def plain_loop(export_dir: str, paths: list) -> float:
    """Seconds to predict ``paths`` one by one with the bare SavedModel."""
    loaded = tf.saved_model.load(export_dir)
    signature = loaded.signatures["serving_default"]
    extractor = registry.build_extractor("egemaps_functionals")
    started = time.perf_counter()
    for path in paths:
        values = extractor(audio_io.read_audio(path, 16000))
        signature(egemaps_functionals=tf.constant(values[None].astype(np.float32)))
    return time.perf_counter() - started


def predict_command(export_dir: str, inputs: str, out: str, workers: int) -> list:
    return [os.path.join(BIN, "tfser-predict"), f"--model={export_dir}", f"--inputs={inputs}",
            f"--out={out}", f"--workers={workers}"]


def measure_predict(command: list, count: int, label: str, extra=None) -> float:
    """Runs one tfser-predict command and prints its files/s and peak RSS."""
    load = os.getloadavg()[0]
    result = run_measured(command, extra)
    summary = [line for line in result["output"].splitlines() if line.startswith("in =")]
    # The command's own time (model loading included, the ~10 s of imports not).
    own = float(re.search(r"of audio in ([\d.]+) s", result["output"]).group(1))
    print(f"{label}, {count} files: {own:.1f} s = {count / own:.2f} files/s "
          f"({result['seconds']:.1f} s with start-up); peak RSS "
          f"{result['peak'] / 2 ** 30:.2f} GB; {summary[0] if summary else '?'} "
          f"(load {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
    return count / own


def beam_runs(export_dir: str, folder: str, count: int, work: str, workers: int) -> None:
    """The Beam path over ``folder``: local runner, then a 2-worker Dask cluster."""
    from tfser.testing.dask_cluster import LocalDaskCluster  # pylint: disable=import-outside-toplevel
    base = predict_command(export_dir, folder, os.path.join(work, f"beam_{count}.csv"),
                           workers)
    measure_predict(base + ["--runner=FnApiRunner"], count,
                    f"tfser-predict --runner=FnApiRunner --workers={workers}")
    with LocalDaskCluster(2, os.path.join(work, "dask")) as cluster:
        measure_predict(base + ["--runner=DaskRunner",
                                f"--dask_client_address={cluster.address}"], count,
                        "tfser-predict --runner=DaskRunner (2 workers; RSS with workers)",
                        extra=cluster.processes)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="build/scale/synth_large")
    parser.add_argument("--small", default="build/scale/synth_small",
                        help="small synthetic corpus to featurize for the export")
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--loop_files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", default="build/scale/predict")
    parser.add_argument("--beam", action="store_true",
                        help="also run the Beam path (local runner, Dask with 2 workers)")
    parser.add_argument("--export", default=None,
                        help="an existing 000_mtl export to use instead of building one")
    args = parser.parse_args(argv)
    work = os.path.abspath(args.work)
    features = os.path.join(work, "features_000")
    if not args.export and not os.path.exists(os.path.join(features, "dataset_info.json")):
        if not os.path.exists(os.path.join(args.small, "meta.json")):
            subprocess.run([os.path.join(BIN, "tfser-synth"), f"--out={args.small}",
                            "--size=small", "--noprogress"], check=True, cwd=ROOT)
        subprocess.run([os.path.join(BIN, "tfser-featurize"),
                        f"--config={ROOT}/configs/featurize/synthetic_000.yaml",
                        f"--table={args.small}", f"--out={features}"], check=True, cwd=ROOT)
    export_dir = os.path.abspath(args.export) if args.export else os.path.join(work, "export")
    if not os.path.exists(export_dir):
        with tempfile.TemporaryDirectory() as tmp:
            run = fresh_run(features, tmp, smoke=False, experiment="000_mtl")
            export.export_saved_model(run, export_dir)
    few = os.path.join(work, f"files_{args.loop_files}")
    many = os.path.join(work, f"files_{args.files}")
    few_paths = link_folder(args.corpus, few, args.loop_files)
    link_folder(args.corpus, many, args.files)

    load = os.getloadavg()[0]
    loop_s = plain_loop(export_dir, few_paths)
    print(f"plain loop, {args.loop_files} files: {loop_s:.1f} s = "
          f"{args.loop_files / loop_s:.2f} files/s (load {load:.1f})", flush=True)
    rates = {}
    for name, folder, count in (("few", few, args.loop_files), ("many", many, args.files)):
        rates[name] = measure_predict(
            predict_command(export_dir, folder, os.path.join(work, f"pred_{count}.csv"),
                            args.workers), count, f"tfser-predict --workers={args.workers}")
    if args.beam:
        beam_runs(export_dir, many, args.files, work, args.workers)
    print(f"tfser-predict / plain loop on {args.loop_files} files: "
          f"{rates['few'] / (args.loop_files / loop_s):.2f}x; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
