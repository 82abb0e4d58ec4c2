"""Per-rater heads as the crowd grows: one classifier per rater vs one rater embedding.

Paper 002 models every rater (its E_n); on a crowd-sourced corpus (CREMA-D: 2,443
raters, each rating a few dozen to a few hundred clips) a model, or even a classifier,
per rater stops being practical. This benchmark compares the two ``per_rater`` head
modes of :mod:`tfser.models.heads.per_rater` at 100, 500 and 2,500 raters:

* ``dense``: a classifier of its own per rater (``PerRaterDense``, D x R x K weights);
* ``embedding``: one classifier conditioned on a learned rater vector
  (``RaterEmbeddingLogits``, D x H + R x E + E x H + H x K weights).

Data: the synthetic corpus's rater model without audio. Each of ``--utterances``
utterances expresses one of four classes (angry, happy, neutral, sad) at a random
intensity; its features are a noisy 64-dimensional projection of the class (a stand-in
for the trunk's input: what is measured is the head); ``--raters_per_utterance``
raters drawn from a pool of R simulated raters (:mod:`tfser.synthetic.raters`:
personal confusions, reliability, neutral bias) each give a primary label, which is
that rater's target (masked for every rater who did not rate it). Both modes train
the same DNN trunk (2 x 128) with per-rater cross-entropy; UAR is the argmax of the
predicted distributions averaged over all raters (the crowd's expected vote) against
the expressed class on held-out utterances.

Each case runs in a fresh process so that its peak RSS (``ru_maxrss``; TensorFlow
itself takes most of it) is its own; "per epoch" is the median of the epochs after the
first (tracing excluded). These 2-core machines vary by ~30 % between runs: compare
the two modes within one run.

Run::

    .venv/bin/python benchmarks/bench_rater_heads.py                 # ~3-5 min
    .venv/bin/python benchmarks/bench_rater_heads.py --raters 100 500 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CLASSES = ("angry", "happy", "neutral", "sad")
FEATURE_DIM = 64


def make_crowd(path: str, num_raters: int, utterances: int, per_utterance: int,
               seed: int) -> None:
    """Simulates the crowd's labels and writes ``x``, ``targets``, ``mask``, ``truth``."""
    from tfser.synthetic import config as config_lib  # pylint: disable=import-outside-toplevel
    from tfser.synthetic import raters as raters_lib  # pylint: disable=import-outside-toplevel
    rng = np.random.default_rng(seed)
    cfg = config_lib.SynthConfig(n_raters=num_raters,
                                 raters_per_utterance=(per_utterance, per_utterance))
    pool = raters_lib.make_raters(rng, cfg)
    emotion_index = {name: i for i, name in enumerate(config_lib.EMOTIONS)}
    class_index = {name: i for i, name in enumerate(CLASSES)}
    prototypes = rng.normal(0.0, 1.0, (len(CLASSES), FEATURE_DIM))
    truth = rng.integers(0, len(CLASSES), utterances)
    intensity = rng.uniform(*cfg.intensity_range, utterances)
    x = (prototypes[truth] * intensity[:, None]
         + rng.normal(0.0, 1.2, (utterances, FEATURE_DIM))).astype(np.float32)
    targets = np.zeros((utterances, num_raters, len(CLASSES)), np.float32)
    for i in range(utterances):
        mixture = np.zeros(len(config_lib.EMOTIONS))
        mixture[emotion_index[CLASSES[truth[i]]]] = 1.0
        for rater in raters_lib.choose_raters(rng, pool, cfg.raters_per_utterance):
            label = raters_lib.judge(rng, rater, mixture, float(intensity[i]), (0, 0, 0))
            if label.primary in class_index:   # other emotions fall outside the 4 classes
                r = int(rater.rater_id.rsplit("R", 1)[1]) - 1
                targets[i, r, class_index[label.primary]] = 1.0
    np.savez(path, x=x, targets=targets, mask=targets.sum(axis=2), truth=truth)


def run_case(path: str, mode: str, epochs: int, batch_size: int) -> dict:
    """Trains one head mode on a saved crowd; returns its figures (in this process)."""
    import keras  # pylint: disable=import-outside-toplevel
    from tfser import models  # pylint: disable=import-outside-toplevel
    data = np.load(path)
    x, targets, mask, truth = data["x"], data["targets"], data["mask"], data["truth"]
    num_raters = targets.shape[1]
    split = int(0.8 * len(x))
    config = models.ModelConfig(
        features=(models.FeatureInput("x", dim=FEATURE_DIM),),
        trunk=models.TrunkConfig("dnn", params={"units": [128, 128]}),
        heads=(models.HeadConfig("rater", units=len(CLASSES), kind="per_rater",
                                 params={"num_raters": num_raters, "rater_mode": mode}),))
    model = models.build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **models.compile_kwargs(config))

    class EpochTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds: list = []
    model.fit({"x": x[:split]}, {"rater": targets[:split]},
              sample_weight={"rater": mask[:split]}, batch_size=batch_size, epochs=epochs,
              verbose=0, callbacks=[EpochTimes()])
    predicted = model.predict({"x": x[split:]}, batch_size=256, verbose=0)["rater"]
    decisions = predicted.mean(axis=1).argmax(axis=1)
    recalls = [float((decisions[truth[split:] == k] == k).mean())
               for k in range(len(CLASSES)) if (truth[split:] == k).any()]
    return {"mode": mode, "raters": num_raters, "params": int(model.count_params()),
            "head_params": int(sum(np.prod(w.shape) for w in model.get_layer(
                "rater_logits").weights)),
            "seconds_per_epoch": statistics.median(seconds[1:] or seconds),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "uar": float(np.mean(recalls)),
            "ratings_per_rater": float((mask.sum() / num_raters))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, nargs="+", default=[100, 500, 2500])
    parser.add_argument("--utterances", type=int, default=3000)
    parser.add_argument("--raters_per_utterance", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case", nargs=2, metavar=("DATA", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case[0], args.case[1], args.epochs, args.batch_size)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for num_raters in args.raters:
            path = os.path.join(tmp, f"crowd_{num_raters}.npz")
            make_crowd(path, num_raters, args.utterances, args.raters_per_utterance,
                       args.seed)
            for mode in ("dense", "embedding"):
                # A fresh process per case: its peak RSS is its own.
                out = subprocess.run(
                    [sys.executable, __file__, "--case", path, mode, "--epochs",
                     str(args.epochs), "--batch_size", str(args.batch_size)],
                    check=True, capture_output=True, text=True,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"done: {num_raters} raters, {mode}", file=sys.stderr, flush=True)
    print(f"{args.utterances} utterances, {args.raters_per_utterance} raters each, "
          f"{args.epochs} epochs of batch {args.batch_size}; UAR on the last 20 %")
    print("| raters | ratings/rater | head | head params | model params | peak RSS (MB) "
          "| s/epoch | UAR |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['raters']} | {row['ratings_per_rater']:.0f} | {row['mode']} | "
              f"{row['head_params']:,} | {row['params']:,} | {row['peak_rss_mb']:.0f} | "
              f"{row['seconds_per_epoch']:.2f} | {100 * row['uar']:.1f} |")


if __name__ == "__main__":
    main()
