"""tfser-reproduce: one paper's experiment table with one command.

Usage::

    tfser-reproduce --recipe=000 --out=build/reproduce/000 [--table=ANNOTATION_DIR]
        [--smoke] [--seed=N] [--rows=hard_pe,mtl] [--overwrite]

--recipe names a shipped recipe (configs/recipes/<name>.yaml) or the path of a recipe
file. Without --table the embedded synthetic corpus is generated into --out (or
reused); with --table the recipe's real-corpus featurize config runs on that annotated
table. Every row's runs go to --out/runs/<row>/ (TensorBoard-readable); results.json
and results.md (the paper's tables, its own figures beside ours, n, folds and
significance marks) to --out. A rerun skips finished rows and resumes unfinished ones.
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
    flags.DEFINE_string("recipe", None, "Recipe name (configs/recipes/<name>.yaml) or file.")
    flags.DEFINE_string("out", None, "Output directory of the recipe run.")
    flags.DEFINE_string("table", None, "Annotated real corpus (tfser-annotate --out); "
                                       "default: the embedded synthetic corpus.")
    flags.DEFINE_boolean("smoke", False, "Tiny corpus, every row in seconds (tests).")
    flags.DEFINE_integer("seed", 0, "Seed of the synthetic corpus.", lower_bound=0)
    flags.DEFINE_list("rows", None, "Run only these rows (default: all).")
    flags.DEFINE_boolean("overwrite", False, "Rebuild a featurized directory of --out that "
                                             "was made from other inputs.")
    flags.DEFINE_integer("direct_num_workers", 2, "Beam workers of the featurization.",
                         lower_bound=1)
    for name in ("recipe", "out"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


def main(argv) -> None:
    del argv
    cli.quiet_logs("tfser")
    from tfser.recipes import runner  # pylint: disable=import-outside-toplevel
    runner.reproduce(FLAGS.recipe, FLAGS.out, table=FLAGS.table, smoke=FLAGS.smoke,
                     seed=FLAGS.seed, overwrite=FLAGS.overwrite,
                     workers=FLAGS.direct_num_workers, rows=FLAGS.rows)


def run() -> None:
    """Console-script entry point (``tfser-reproduce``)."""
    cli.start(define_flags, main)


if __name__ == "__main__":
    run()
