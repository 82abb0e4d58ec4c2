"""tfser-reproduce: one paper's experiment table with one command.

Example::

    tfser-reproduce --recipe=000 --out=build/reproduce/000

Add --table=ANNOTATION_DIR for a real corpus, --smoke for seconds-long rows,
--rows=hard_pe,mtl for some rows only. --recipe names a shipped recipe (configs/recipes/<name>.yaml) or the path of a recipe
file. Without --table the embedded synthetic corpus is generated into --out (or
reused); with --table the recipe's real-corpus featurize config runs on that annotated
table. Every row's runs go to --out/runs/<row>/ (TensorBoard-readable); results.json
and results.md (the paper's tables, its own figures beside ours, n, folds and
significance marks) to --out. A rerun skips finished rows and resumes unfinished ones.
"""

from __future__ import annotations

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    flags.DEFINE_string("recipe", None, "Recipe name (configs/recipes/<name>.yaml) or file.")
    shared.define_out("Output directory of the recipe run.")
    flags.DEFINE_string("table", None, "Annotated real corpus (tfser-annotate --out); "
                                       "default: the embedded synthetic corpus.")
    shared.define_smoke("Tiny corpus, every row in seconds (tests); the figures are then "
                        "meaningless.")
    shared.define_seed()
    flags.DEFINE_list("rows", None, "Run only these rows (default: all).")
    flags.DEFINE_list("folds", None, "Train and score only these folds (names or indices; "
                                     "default: all of a real table, the recipe's "
                                     "synthetic_folds on the synthetic corpus).")
    shared.define_overwrite("Rebuild a featurized directory of --out that was made from "
                            "other inputs.")
    shared.define_direct_num_workers(2, "Beam workers of the featurization.")
    for name in ("recipe", "out"):
        flags.mark_flag_as_required(name)


def main(argv) -> None:
    del argv  # cli.Binary refuses extra arguments
    cli.quiet_logs("tfser")
    from tfser.recipes import runner  # pylint: disable=import-outside-toplevel
    runner.reproduce(FLAGS.recipe, FLAGS.out, table=FLAGS.table, smoke=FLAGS.smoke,
                     seed=FLAGS.seed, overwrite=FLAGS.overwrite,
                     workers=FLAGS.direct_num_workers, rows=FLAGS.rows,
                     folds=FLAGS.folds)


BINARY = cli.Binary("tfser-reproduce", __doc__, define_flags, main)


def run() -> None:
    """Console-script entry point (``tfser-reproduce``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
