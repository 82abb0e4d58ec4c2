"""tfser-evaluate: predictions, metrics.json and a Markdown report of a trained run.

Usage::

    python -m pipelines.evaluate --model_dir=runs/000_mtl --out=runs/000_mtl/eval \\
        [--data_dir=build/features/synthetic_000] [--part=test|dev|train] \\
        [--checkpoint=best|last] [--batch_size=64]

--model_dir is one run directory (tfser-train) or a cross-validation directory
(tfser-train --fold=all). Each fold's model (checkpoints/<checkpoint>.keras) predicts
its fold's part of the featurized directory (--data_dir, default: the one in each
run's params.yaml). --out receives predictions.parquet / .csv (one row per utterance),
metrics.json (per head: pooled over folds, per fold, mean and std over folds),
report.md (the command that reproduces it on top) and PNG figures. The command prints
the pooled figures of every head and the report's path.
"""

from __future__ import annotations

import os
import sys

from absl import app
from absl import flags

from pipelines import cli

FLAGS = flags.FLAGS
_DEFINED = False


def define_flags() -> None:
    """Defines the flags (called by :func:`run`, not at import, to avoid clashes)."""
    global _DEFINED
    if _DEFINED:
        return
    flags.DEFINE_string("model_dir", None, "Run directory (tfser-train --model_dir) or "
                                           "cross-validation directory (--fold=all).")
    flags.DEFINE_string("out", None, "Output directory of predictions, metrics and report.")
    flags.DEFINE_string("data_dir", None, "Featurized directory; default: the data_dir in "
                                          "each run's params.yaml.")
    flags.DEFINE_enum("part", "test", ["test", "dev", "train"],
                      "Part of each fold to evaluate (train: original examples only).")
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"],
                      "Checkpoint: lowest development loss (best) or the latest epoch.")
    flags.DEFINE_integer("batch_size", 64, "Prediction batch size.", lower_bound=1)
    for name in ("model_dir", "out"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


def summary_lines(metrics) -> list:
    """A short plain-text table: every head's pooled figures (and mean +- std over
    folds when there are several)."""
    # Imported here so that `--help` answers quickly.
    from tfser.evaluation import report  # pylint: disable=import-outside-toplevel
    from tfser.evaluation.columns import HeadLayout  # pylint: disable=import-outside-toplevel
    from tfser.evaluation.metrics import summary_columns  # pylint: disable=import-outside-toplevel
    lines = []
    for head, head_metrics in metrics["heads"].items():
        layout = HeadLayout.from_dict(metrics["layouts"][head])
        labels = [label for label, _ in summary_columns(layout)]
        rows = report.head_summary_rows(head_metrics, layout, include_folds=False)
        widths = [max(len(head), *(len(r[0]) for r in rows))] + [
            max(len(label), *(len(r[i + 1]) for r in rows)) for i, label in enumerate(labels)]
        lines.append("  ".join(text.ljust(w) for text, w in zip([head] + labels, widths)))
        lines += ["  ".join(text.ljust(w) for text, w in zip(row, widths)) for row in rows]
        lines.append("")
    return lines


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    from tfser.evaluation import evaluate  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import report  # pylint: disable=import-outside-toplevel
    try:
        metrics = evaluate.evaluate_run(FLAGS.model_dir, FLAGS.out, data_dir=FLAGS.data_dir,
                                        part=FLAGS.part, checkpoint=FLAGS.checkpoint,
                                        batch_size=FLAGS.batch_size)
    except (FileNotFoundError, ValueError) as error:
        print(f"tfser-evaluate: {error}", file=sys.stderr)
        sys.exit(1)
    print()
    print("\n".join(summary_lines(metrics)))
    print(f"report: {os.path.join(FLAGS.out, report.REPORT_FILE)}")


def run() -> None:
    """Console-script entry point (``tfser-evaluate``)."""
    cli.start(define_flags, main)


if __name__ == "__main__":
    run()
