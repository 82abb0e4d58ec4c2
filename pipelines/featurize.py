"""tfser-featurize: featurizes an annotation table on Apache Beam into TFRecords.

Example::

    tfser-featurize --config=configs/featurize/synthetic_000.yaml --table=build/synth \\
        --out=build/features/synthetic_000 --params_override=num_shards=2 \\
        --direct_num_workers=2

On a Dask cluster (README, "Scaling out")::

    tfser-featurize --config=configs/featurize/synthetic_000.yaml --table=build/synth \
        --out=build/features/synthetic_000 --runner=DaskRunner \
        --dask_client_address=127.0.0.1:8786

Beam pipeline options (those Beam's PipelineOptions recognise, e.g.
``--runner=FlinkRunner --flink_master=...``, ``--direct_running_mode=...``,
``--dask_partition_size=...``) go to Beam unchanged, so the same command runs on a
cluster; any other unknown flag is refused.
The output directory receives the sharded examples, ``dataset_info.json``,
``rejects.csv`` and ``config.yaml``; the command prints ``in = written + rejected``,
the reject reasons, the rate (utt/s) and the real-time factor.
"""

from __future__ import annotations

import dataclasses
import logging
import shlex
import sys
from typing import List, Sequence

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    flags.DEFINE_string("config", None, "Featurize config (configs/featurize/*.yaml).")
    flags.DEFINE_string("table", None, "Annotation table directory (tfser-annotate --out).")
    shared.define_out("Output directory of the featurized dataset.")
    shared.define_params_override("Config overrides key.path=yaml_value, comma-separated; "
                                  "e.g. 'feature_sets=[egemaps_functionals],num_shards=2'.")
    shared.define_overwrite()
    shared.define_direct_num_workers(
        1, "DirectRunner workers; > 1 runs them as threads (multi_threading) unless "
           "--direct_running_mode says otherwise.", lower_bound=0)
    shared.define_beam_runner(
        "Beam runner; unset: the local FnApiRunner. DaskRunner runs on a "
        "Dask cluster (tested; workers need the corpus and --out on a file system they all "
        "share, at the same paths); FlinkRunner, SparkRunner, DataflowRunner take Beam's "
        "own options (untested).")
    flags.DEFINE_integer("log_every", 50, "Progress line per worker every N utterances.",
                         lower_bound=1)
    for name in ("config", "table", "out"):
        flags.mark_flag_as_required(name)


def not_beam_options(args: Sequence[str]) -> List[str]:
    """The arguments Beam does not recognise (see :func:`pipelines.flags.not_beam_options`)."""
    return shared.not_beam_options(args, "tfser-featurize")


def config_keys() -> List[str]:
    """Top-level featurize config keys (a misspelled flag may have meant one)."""
    from tfser import beam as tfser_beam  # pylint: disable=import-outside-toplevel
    return [field.name for field in dataclasses.fields(tfser_beam.FeaturizeConfig)]


def created_by_command(argv) -> str:
    """The command line as recorded in dataset_info.json and config.yaml."""
    return " ".join(["tfser-featurize"] + [shlex.quote(a) for a in argv[1:]])


def runner_options() -> List[str]:
    """The Beam options of this binary's own runner flags.

    Raises:
      UserError: ``--dask_client_address`` without ``--runner=DaskRunner``.
    """
    return ([f"--direct_num_workers={FLAGS.direct_num_workers}"]
            + shared.beam_runner_options("tfser-featurize"))


def main(argv) -> None:
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    logging.getLogger("tfser.beam").setLevel(logging.INFO)
    # Imported here so that `--help` answers without loading TensorFlow and Beam.
    from tfser import beam as tfser_beam  # pylint: disable=import-outside-toplevel
    options = list(argv[1:]) + runner_options()
    with cli.user_input("fix --config or --params_override (tfser-featurize --help)"):
        config = tfser_beam.load_config(FLAGS.config, FLAGS.params_override)
    # An existing --out (the message says what to do) or a missing --table.
    with cli.cluster_gave_up(FLAGS.out), cli.user_input(errors=(FileExistsError,)), \
            cli.user_input("pass the --out of tfser-annotate as --table",
                           errors=(FileNotFoundError,)):
        result = tfser_beam.build_pipeline(
            config, FLAGS.table, FLAGS.out, pipeline_options=options,
            overwrite=FLAGS.overwrite, created_by=created_by_command(sys.argv),
            log_every=FLAGS.log_every)
    for line in result.summary_lines():
        print(line)


BINARY = cli.Binary("tfser-featurize", __doc__, define_flags, main,
                    extra_args=not_beam_options, config_keys=config_keys)


def run() -> None:
    """Console-script entry point (``tfser-featurize``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
