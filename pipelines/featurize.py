"""tfser-featurize: featurizes an annotation table on Apache Beam into TFRecords.

Usage::

    tfser-featurize --config=configs/featurize/synthetic_000.yaml --table=build/synth \\
        --out=build/features/synthetic_000 [--params_override=key=value,...] \\
        [--overwrite] [--direct_num_workers=2] [any Beam pipeline option]

Flags this binary does not define are Beam pipeline options and go to Beam unchanged
(``--runner=FlinkRunner --flink_master=...``, ``--direct_running_mode=...``), so the
same command runs on a cluster. The output directory receives the sharded examples,
``dataset_info.json``, ``rejects.csv`` and ``config.yaml``; the command prints
``in = written + rejected``, the reject reasons, the rate (utt/s) and the real-time
factor.
"""

from __future__ import annotations

import logging
import shlex
import sys

from absl import flags

from pipelines import cli

FLAGS = flags.FLAGS
_DEFINED = False


def define_flags() -> None:
    """Defines the flags (called by :func:`run`, not at import, to avoid clashes)."""
    global _DEFINED
    if _DEFINED:
        return
    flags.DEFINE_string("config", None, "Featurize config (configs/featurize/*.yaml).")
    flags.DEFINE_string("table", None, "Annotation table directory (tfser-annotate --out).")
    flags.DEFINE_string("out", None, "Output directory of the featurized dataset.")
    flags.DEFINE_multi_string("params_override", [],
                              "Config overrides key.path=yaml_value, comma-separated; "
                              "e.g. 'feature_sets=[egemaps_functionals],num_shards=2'.")
    flags.DEFINE_boolean("overwrite", False,
                         "Replace an existing output directory (atomically).")
    flags.DEFINE_integer("direct_num_workers", 1,
                         "DirectRunner workers; > 1 runs them as threads (multi_threading) "
                         "unless --direct_running_mode says otherwise.",
                         lower_bound=0)
    flags.DEFINE_integer("log_every", 50, "Progress line per worker every N utterances.",
                         lower_bound=1)
    for name in ("config", "table", "out"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


def parse_flags(argv):
    """Parses this binary's flags; returns the program name plus Beam's arguments."""
    return FLAGS(argv, known_only=True)


def created_by_command(argv) -> str:
    """The command line as recorded in dataset_info.json and config.yaml."""
    return " ".join(["tfser-featurize"] + [shlex.quote(a) for a in argv[1:]])


def featurize(config_path: str, table_dir: str, out_dir: str, overrides=(),
              overwrite: bool = False, beam_args=(), direct_num_workers: int = 1,
              log_every: int = 50, created_by: str = "", stream=None) -> int:
    """Loads the config, runs the pipeline and prints the summary.

    Returns:
      0 on success, 1 when the output directory exists and ``overwrite`` is False.

    Raises:
      ValueError: A bad config for this table.
    """
    # Imported here so that `--help` answers without loading TensorFlow and Beam.
    from tfser import beam as tfser_beam  # pylint: disable=import-outside-toplevel
    stream = stream or sys.stdout
    config = tfser_beam.load_config(config_path, overrides)
    options = list(beam_args) + [f"--direct_num_workers={direct_num_workers}"]
    try:
        result = tfser_beam.build_pipeline(
            config, table_dir, out_dir, pipeline_options=options, overwrite=overwrite,
            created_by=created_by or None, log_every=log_every)
    except FileExistsError as error:
        print(f"tfser-featurize: {error}", file=sys.stderr)
        return 1
    for line in result.summary_lines():
        print(line, file=stream)
    return 0


def main(argv) -> None:
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    logging.getLogger("tfser.beam").setLevel(logging.INFO)
    status = featurize(FLAGS.config, FLAGS.table, FLAGS.out, FLAGS.params_override,
                       overwrite=FLAGS.overwrite, beam_args=argv[1:],
                       direct_num_workers=FLAGS.direct_num_workers, log_every=FLAGS.log_every,
                       created_by=created_by_command(sys.argv))
    if status:
        sys.exit(status)


def run() -> None:
    """Console-script entry point (``tfser-featurize``)."""
    cli.start(define_flags, main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
