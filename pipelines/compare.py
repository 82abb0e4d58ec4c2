"""tfser-compare: one table of finished evaluations, each "A beats B" with n and p.

Usage::

    tfser-compare build/demo/eval/000_mtl build/demo/eval/000_hard_pe --out=build/cmp \\
        [--head=emotion] [--names=MTL,PE] [--alpha=0.05]

Each positional argument is an evaluation directory (tfser-evaluate --out) or a run
directory with one under eval/. Writes comparison.json and comparison.md to --out and
prints the table: pooled UA / WA / F1 per row, and for every ordered pair paper 000's
one-tailed two-proportion z-test on WA, the exact McNemar test on the shared
utterances and a paired t-test of UA over shared folds.
"""

from __future__ import annotations

from absl import flags

from pipelines import cli

FLAGS = flags.FLAGS
_DEFINED = False


def define_flags() -> None:
    """Defines the flags (called by :func:`run`, not at import, to avoid clashes)."""
    global _DEFINED
    if _DEFINED:
        return
    flags.DEFINE_string("out", None, "Output directory of comparison.json and comparison.md.")
    flags.DEFINE_string("head", None, "Categorical head to compare; default: the first "
                                      "one every evaluation has.")
    flags.DEFINE_list("names", None, "Row names, one per evaluation (default: experiment).")
    flags.DEFINE_float("alpha", 0.05, "Significance level of the one-tailed tests.",
                       lower_bound=0.0, upper_bound=1.0)
    flags.mark_flag_as_required("out")
    _DEFINED = True


def main(argv) -> None:
    from tfser.evaluation import compare  # pylint: disable=import-outside-toplevel
    result = compare.compare(argv[1:], out_dir=FLAGS.out, head=FLAGS.head, names=FLAGS.names,
                             alpha=FLAGS.alpha)
    print(compare.to_markdown(result))


def run() -> None:
    """Console-script entry point (``tfser-compare``)."""
    cli.start(define_flags, main)


if __name__ == "__main__":
    run()
