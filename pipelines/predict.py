"""tfser-predict: predictions for audio files from an exported model.

Example::

    tfser-predict --model=exports/001_hard/1 --inputs=a.wav,b.wav --out=predictions.csv
    tfser-predict --model=exports/000_mtl/1 --inputs=recordings/ --out=predictions.parquet

``--inputs`` takes files and directories (walked recursively for ``.wav``), separated by
commas or given as repeated flags. The table has one row per file (``file``,
``duration_s``, per head ``<head>/pred`` and ``<head>/p/<class>``); unusable files go to
``<out>.rejects.csv`` with the reason, and the command prints
``in = written + rejected``. Files stream through a pool of ``--workers`` feature
threads (default: one per core) and the table is written in chunks, so a folder of
10,000 files runs in flat memory; progress lines show files/s and the ETA.

On Apache Beam (README, "Scaling out")::

    tfser-predict --model=exports/000_mtl/1 --inputs=recordings/ --out=predictions.csv \\
        --runner=DaskRunner --dask_client_address=127.0.0.1:8786

``--runner`` selects the Beam pipeline of :mod:`tfser.export.beam_predict` (Beam's
``RunInference`` with tfser's model handler): the same table and rejects on any runner
(``FnApiRunner``: Beam's local runner with ``--workers`` threads; ``DaskRunner``: a Dask
cluster, whose workers need the audio and ``--out``'s directory at the same paths).
Other Beam pipeline options pass to Beam unchanged; any other unknown flag is refused.
Without ``--runner`` the in-process streaming path runs (faster on one machine).
"""

from __future__ import annotations

import functools
import sys

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    flags.DEFINE_string("model", None, "Export directory written by tfser-export.")
    flags.DEFINE_multi_string("inputs", [], "Audio files or directories (walked for .wav); "
                                            "comma-separated and/or repeated.")
    shared.define_out("Predictions table: .csv or .parquet.")
    shared.define_batch_size(8, "Files per model call.")
    flags.DEFINE_integer("workers", 0, "Threads decoding audio and extracting features "
                         "(0: one per CPU core); with --runner=FnApiRunner, Beam's local "
                         "workers (threads).", lower_bound=0)
    shared.define_beam_runner(
        "Beam runner; unset: in-process streaming (no Beam). DaskRunner runs on a Dask "
        "cluster (tested; workers need the audio and --out on a file system they all "
        "share, at the same paths); FnApiRunner is Beam's local runner; FlinkRunner, "
        "SparkRunner, DataflowRunner take Beam's own options (untested).")
    for name in ("model", "out"):
        flags.mark_flag_as_required(name)


def split_inputs(values) -> list:
    """Flag values -> paths (each value may hold several, comma-separated)."""
    return [part for value in values for part in value.split(",") if part]


def beam_options(argv) -> list:
    """Beam options of a --runner run: the Beam flags passed through, then ours."""
    from tfser.beam import runners  # pylint: disable=import-outside-toplevel
    options = list(argv[1:]) + shared.beam_runner_options("tfser-predict")
    if not runners.is_dask(FLAGS.runner) and FLAGS.workers:
        options.append(f"--direct_num_workers={FLAGS.workers}")
    return options


def main(argv) -> None:
    inputs = split_inputs(FLAGS.inputs)
    if not inputs:
        cli.fail("--inputs names no file or directory, on the command line of "
                 "tfser-predict, pass --inputs=a.wav,recordings/")
    cli.quiet_logs("tfser.export")
    # A Beam run when a runner or other Beam options are given (refused here when wrong).
    options = (beam_options(argv) if FLAGS.runner or FLAGS.dask_client_address or argv[1:]
               else None)
    # Imported here so that `--help` answers without loading TensorFlow.
    from tfser import export as export_lib  # pylint: disable=import-outside-toplevel
    # A missing export directory.
    with cli.cluster_gave_up(FLAGS.out), cli.user_input(
            "pass the --out of tfser-export as --model", errors=(FileNotFoundError,)):
        if options is not None:
            from tfser.export import beam_predict  # pylint: disable=import-outside-toplevel
            result = beam_predict.predict_files_beam(FLAGS.model, inputs, FLAGS.out,
                                                     batch_size=FLAGS.batch_size,
                                                     pipeline_options=options)
        else:
            result = export_lib.predict_files(FLAGS.model, inputs, FLAGS.out,
                                              batch_size=FLAGS.batch_size,
                                              workers=FLAGS.workers or None)
    for line in result.summary_lines():
        print(line)
    if result.all_rejected:
        print(f"error: all {result.inputs} input file(s) were rejected, see "
              f"{result.rejects_path}", file=sys.stderr)
        sys.exit(1)


BINARY = cli.Binary("tfser-predict", __doc__, define_flags, main,
                    extra_args=functools.partial(shared.not_beam_options,
                                                 binary="tfser-predict"))


def run() -> None:
    """Console-script entry point (``tfser-predict``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
