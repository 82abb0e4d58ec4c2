"""tfser-synth: writes the synthetic SER corpus (WAV audio, traces, unified table).

Usage::

    tfser-synth --out DIR [--seed 0] [--size small|default] [--noprogress] [--workers 1]

The same seed gives byte-identical audio and equal tables. A summary of the
corpus (sizes, class mix, tie rate, Fleiss' kappa) is printed as JSON at the end.
"""

from __future__ import annotations

import json
import time

from absl import app
from absl import flags

from tfser import synthetic

FLAGS = flags.FLAGS
_DEFINED = False


def define_flags() -> None:
    """Defines the command-line flags.

    Called by :func:`run` rather than at import, so that importing this module next
    to other pipelines (which may also define ``--out``) never clashes.
    """
    global _DEFINED
    if _DEFINED:
        return
    flags.DEFINE_string("out", None, "Output directory of the corpus.")
    flags.DEFINE_integer("seed", 0, "Random seed; the same seed gives the same corpus.",
                         lower_bound=0)
    flags.DEFINE_enum("size", "default", list(synthetic.SIZES),
                      "default: ~600 utterances + 10 continuous recordings; "
                      "small: ~80 utterances + 3 recordings (tests).")
    flags.DEFINE_boolean("progress", True, "Show a progress bar.")
    flags.DEFINE_integer("workers", 1, "Synthesis processes (the output does not depend on it).",
                         lower_bound=1)
    flags.mark_flag_as_required("out")
    _DEFINED = True


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    started = time.perf_counter()
    config = synthetic.SynthConfig.for_size(FLAGS.size, workers=FLAGS.workers)
    table = synthetic.generate(FLAGS.out, seed=FLAGS.seed, progress=FLAGS.progress,
                               config=config)
    stats = synthetic.corpus_stats(table)
    stats["out"] = FLAGS.out
    stats["seed"] = FLAGS.seed
    stats["size"] = FLAGS.size
    stats["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(stats, indent=2))


def run() -> None:
    """Console-script entry point (``tfser-synth``)."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
