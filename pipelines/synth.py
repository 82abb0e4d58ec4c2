"""tfser-synth: writes the synthetic SER corpus (WAV audio, traces, unified table).

Example::

    tfser-synth --out=build/synth --seed=0 --size=small

The same seed gives byte-identical audio and equal tables. A summary of the
corpus (sizes, class mix, tie rate, Fleiss' kappa) is printed as JSON at the end.
"""

from __future__ import annotations

import json
import time

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    shared.define_out("Output directory of the corpus.")
    shared.define_seed("Random seed; the same seed gives the same corpus.")
    shared.define_size("default: ~600 utterances + 10 continuous recordings; "
                       "small: ~80 utterances + 3 recordings (tests); crowd: the default "
                       "corpus rated by 500 raters, ~30 ratings each (CREMA-D-like).")
    flags.DEFINE_boolean("progress", True, "Show a progress bar.")
    flags.DEFINE_integer("workers", 1, "Synthesis processes (the output does not depend on it).",
                         lower_bound=1)
    flags.mark_flag_as_required("out")


def main(argv) -> None:
    del argv  # cli.Binary refuses extra arguments
    # Imported here so that `--help` answers at once.
    from tfser import synthetic  # pylint: disable=import-outside-toplevel
    started = time.perf_counter()
    config = synthetic.SynthConfig.for_size(FLAGS.size, workers=FLAGS.workers)
    table = synthetic.generate(FLAGS.out, seed=FLAGS.seed, progress=FLAGS.progress,
                               config=config)
    stats = synthetic.corpus_stats(table)
    stats.update(out=FLAGS.out, seed=FLAGS.seed, size=FLAGS.size,
                 seconds=round(time.perf_counter() - started, 1))
    print(json.dumps(stats, indent=2))


BINARY = cli.Binary("tfser-synth", __doc__, define_flags, main)


def run() -> None:
    """Console-script entry point (``tfser-synth``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
