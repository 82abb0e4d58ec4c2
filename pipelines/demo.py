"""tfser-demo (``make demo``): the whole tool end to end on the embedded synthetic corpus.

Example::

    tfser-demo --out=build/demo --seed=0

Generates the synthetic corpus (reused when seed and size match), annotates,
featurizes paper 000's eGeMAPS functionals on Beam, trains 000's MTL model and its
Hard-label PE baseline, evaluates both on the held-out test speakers, prints the
comparison table (UA, WA, F1, z-test), exports the MTL model as a SavedModel and
predicts one test WAV with it, also in a plain TensorFlow process. Every artefact
stays under ``--out``; every number printed is also in ``summary.json``. The stages
are described in :mod:`tfser.recipes.demo`.
"""

from __future__ import annotations

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    shared.define_out("Output directory.", default="build/demo")
    shared.define_seed()
    shared.define_size("Corpus size.")
    flags.DEFINE_boolean("regenerate", False, "Generate the corpus even if it exists.")
    shared.define_smoke()
    shared.define_direct_num_workers(2, "Beam DirectRunner workers.")


def main(argv) -> None:
    del argv  # cli.Binary refuses extra arguments
    cli.quiet_logs("tfser")
    # Imported here so that `--help` answers without loading TensorFlow.
    from tfser.recipes import demo  # pylint: disable=import-outside-toplevel
    demo.run_demo(FLAGS.out, FLAGS.seed, FLAGS.size, FLAGS.regenerate, FLAGS.smoke,
                  FLAGS.direct_num_workers)


BINARY = cli.Binary("tfser-demo", __doc__, define_flags, main)


def run() -> None:
    """Console-script entry point (``tfser-demo``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
