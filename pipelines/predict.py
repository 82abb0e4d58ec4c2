"""tfser-predict: predictions for audio files from an exported model.

Usage::

    tfser-predict --model=exports/001_hard/1 --inputs=a.wav,b.wav --out=predictions.csv
    tfser-predict --model=exports/000_mtl/1 --inputs=recordings/ --out=predictions.parquet

``--inputs`` takes files and directories (walked recursively for ``.wav``), separated by
commas or given as repeated flags. The table has one row per file (``file``,
``duration_s``, per head ``<head>/pred`` and ``<head>/p/<class>``); unusable files go to
``<out>.rejects.csv`` with the reason, and the command prints
``in = written + rejected``.
"""

from __future__ import annotations

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
    flags.DEFINE_string("model", None, "Export directory written by tfser-export.")
    flags.DEFINE_multi_string("inputs", [], "Audio files or directories (walked for .wav); "
                                            "comma-separated and/or repeated.")
    flags.DEFINE_string("out", None, "Predictions table: .csv or .parquet.")
    flags.DEFINE_integer("batch_size", 8, "Files per model call.", lower_bound=1)
    for name in ("model", "out"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


def split_inputs(values) -> list:
    """Flag values -> paths (each value may hold several, comma-separated)."""
    return [part for value in values for part in value.split(",") if part]


def predict(model: str, inputs, out: str, batch_size: int = 8, stream=None) -> int:
    """Predicts and prints the summary.

    Returns:
      0, or 1 when every input was rejected (some rejected files are listed, not
      failures of the command).
    """
    # Imported here so that `--help` answers without loading TensorFlow.
    from tfser import export as export_lib  # pylint: disable=import-outside-toplevel
    stream = stream or sys.stdout
    result = export_lib.predict_files(model, inputs, out, batch_size=batch_size)
    for line in result.summary_lines():
        print(line, file=stream)
    if result.all_rejected:
        print(f"error: all {result.inputs} input file(s) were rejected, see "
              f"{result.rejects_path}", file=sys.stderr)
        return 1
    return 0


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    inputs = split_inputs(FLAGS.inputs)
    if not inputs:
        raise app.UsageError("--inputs names no file or directory")
    cli.quiet_logs("tfser.export")
    status = predict(FLAGS.model, inputs, FLAGS.out, batch_size=FLAGS.batch_size)
    if status:
        sys.exit(status)


def run() -> None:
    """Console-script entry point (``tfser-predict``)."""
    cli.start(define_flags, main)


if __name__ == "__main__":
    run()
