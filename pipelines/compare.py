"""tfser-compare: one table of finished evaluations, each "A beats B" with n and p.

Example::

    tfser-compare --out=build/cmp --names=MTL,PE \\
        build/demo/eval/000_mtl build/demo/eval/000_hard_pe

Each positional argument is an evaluation directory (tfser-evaluate --out) or a run
directory with one under eval/. Writes comparison.json and comparison.md to --out and
prints the table: pooled UA / WA / F1 per row, and for every ordered pair paper 000's
one-tailed two-proportion z-test on WA, the exact McNemar test on the shared
utterances and a paired t-test of UA over shared folds.
"""

from __future__ import annotations

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    shared.define_out("Output directory of comparison.json and comparison.md.")
    flags.DEFINE_list("head", None, "Head to compare (one, or one per evaluation); "
                                    "default: the first categorical head all share.")
    flags.DEFINE_list("names", None, "Row names, one per evaluation (default: experiment).")
    flags.DEFINE_string("reference", None,
                        "Score each head against this hard label view (its vs_<reference> "
                        "block of tfser-evaluate --reference), e.g. emotion; default: "
                        "against its own targets.")
    flags.DEFINE_float("alpha", 0.05, "Significance level of the one-tailed tests.",
                       lower_bound=0.0, upper_bound=1.0)
    flags.mark_flag_as_required("out")


def main(argv) -> None:
    from tfser.evaluation import compare  # pylint: disable=import-outside-toplevel
    head = FLAGS.head[0] if FLAGS.head and len(FLAGS.head) == 1 else FLAGS.head
    result = compare.compare(argv[1:], out_dir=FLAGS.out, head=head, names=FLAGS.names,
                             alpha=FLAGS.alpha, reference=FLAGS.reference)
    print(compare.to_markdown(result))


def _positional(args):
    """Evaluation directories pass; anything that looks like a flag is refused."""
    return [arg for arg in args if arg.startswith("-")]


BINARY = cli.Binary("tfser-compare", __doc__, define_flags, main, extra_args=_positional)


def run() -> None:
    """Console-script entry point (``tfser-compare``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
