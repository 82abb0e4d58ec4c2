"""tfser-evaluate: predictions, metrics.json and a Markdown report of a trained run.

Example::

    tfser-evaluate --model_dir=runs/000_mtl --out=runs/000_mtl/eval --part=test

--model_dir is one run directory (tfser-train) or a cross-validation directory
(tfser-train --fold=all). Each fold's model (checkpoints/<checkpoint>.keras) predicts
its fold's part of the featurized directory (--data_dir, default: the one in each
run's params.yaml). --out receives predictions.parquet / .csv (one row per utterance),
metrics.json (per head: pooled over folds, per fold, mean and std over folds; with
--reference=emotion also each hard, soft and existence head against that hard label),
report.md (the command that reproduces it on top) and PNG figures. The command prints
the pooled figures of every head and the report's path.
"""

from __future__ import annotations

import os

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    shared.define_model_dir("Run directory (tfser-train --model_dir) or cross-validation "
                            "directory (--fold=all).")
    shared.define_out("Output directory of predictions, metrics and report.")
    shared.define_data_dir("Featurized directory; default: the data_dir in each run's "
                           "params.yaml.")
    flags.DEFINE_enum("part", "test", ["test", "dev", "train"],
                      "Part of each fold to evaluate (train: original examples only).")
    shared.define_checkpoint()
    shared.define_batch_size(64, "Prediction batch size.")
    flags.DEFINE_string("reference", None,
                        "Hard label view (e.g. emotion) to score every hard, soft and "
                        "existence head against, on the utterances it labels, even when "
                        "the model has no head for it (vs_<reference> in metrics.json).")
    for name in ("model_dir", "out"):
        flags.mark_flag_as_required(name)


def summary_lines(metrics) -> list:
    """A short plain-text table: every head's pooled figures (and mean +- std over
    folds when there are several)."""
    # Imported here so that `--help` answers quickly.
    from tfser.evaluation import report  # pylint: disable=import-outside-toplevel
    from tfser.evaluation.columns import HeadLayout  # pylint: disable=import-outside-toplevel
    from tfser.evaluation.metrics import (  # pylint: disable=import-outside-toplevel
        scored_reference, summary_columns)
    lines = []
    for head, head_metrics in metrics["heads"].items():
        layout = HeadLayout.from_dict(metrics["layouts"][head])
        labels = [label for label, _ in
                  summary_columns(layout, scored_reference(head_metrics))]
        rows = report.head_summary_rows(head_metrics, layout, include_folds=False)
        widths = [max(len(head), *(len(r[0]) for r in rows))] + [
            max(len(label), *(len(r[i + 1]) for r in rows)) for i, label in enumerate(labels)]
        lines.append("  ".join(text.ljust(w) for text, w in zip([head] + labels, widths)))
        lines += ["  ".join(text.ljust(w) for text, w in zip(row, widths)) for row in rows]
        lines.append("")
    return lines


def main(argv) -> None:
    del argv  # cli.Binary refuses extra arguments
    from tfser.evaluation import evaluate  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import report  # pylint: disable=import-outside-toplevel
    # A missing run, checkpoint or featurized directory, or a part the folds lack.
    with cli.user_input("check --model_dir (a tfser-train run), --data_dir and --part",
                        errors=(FileNotFoundError, ValueError)):
        metrics = evaluate.evaluate_run(FLAGS.model_dir, FLAGS.out, data_dir=FLAGS.data_dir,
                                        part=FLAGS.part, checkpoint=FLAGS.checkpoint,
                                        batch_size=FLAGS.batch_size,
                                        reference=FLAGS.reference)
    print()
    print("\n".join(summary_lines(metrics)))
    print(f"report: {os.path.join(FLAGS.out, report.REPORT_FILE)}")


BINARY = cli.Binary("tfser-evaluate", __doc__, define_flags, main)


def run() -> None:
    """Console-script entry point (``tfser-evaluate``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
