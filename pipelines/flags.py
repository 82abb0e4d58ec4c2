"""Flags that several tfser binaries share, each defined once here (Model Garden style).

A binary's ``define_flags`` calls the ``define_*`` functions it needs (passing its own
help text where the meaning differs), defines the flags only it has, and marks the
ones it requires with ``flags.mark_flag_as_required``; absl then refuses a command
without them. Binaries define their flags at run time (:func:`pipelines.cli.start`),
never at import, so that tests can import several binaries into one process.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import List, Optional, Sequence

from absl import flags

from pipelines import cli
from tfser.config.errors import UserError

# Values of --checkpoint: the lowest development loss, or the latest epoch.
CHECKPOINTS = ("best", "last")


def define_out(help_text: str, default: Optional[str] = None) -> None:
    """``--out``: where the binary writes (a directory or a file, per binary)."""
    flags.DEFINE_string("out", default, help_text)


def define_overwrite(help_text: str = "Replace an existing output directory "
                                      "(atomically).") -> None:
    """``--overwrite``: allows replacing an existing output."""
    flags.DEFINE_boolean("overwrite", False, help_text)


def define_data_dir(help_text: str) -> None:
    """``--data_dir``: a featurized directory (tfser-featurize --out)."""
    flags.DEFINE_string("data_dir", None, help_text)


def define_model_dir(help_text: str = "Run directory of tfser-train.") -> None:
    """``--model_dir``: a run directory (tfser-train --model_dir)."""
    flags.DEFINE_string("model_dir", None, help_text)


def define_params_override(help_text: str) -> None:
    """``--params_override``: repeatable ``key.path=yaml_value`` config overrides."""
    flags.DEFINE_multi_string("params_override", [], help_text)


def define_seed(help_text: str = "Seed of the synthetic corpus; the same seed gives the "
                                 "same corpus.") -> None:
    """``--seed``: a non-negative random seed."""
    flags.DEFINE_integer("seed", 0, help_text, lower_bound=0)


def define_size(help_text: str = "Size of the synthetic corpus.") -> None:
    """``--size``: a synthetic corpus size (:data:`tfser.synthetic.SIZES`)."""
    # Imported here: the synthetic package is only needed by the binaries that ask.
    from tfser import synthetic  # pylint: disable=import-outside-toplevel
    flags.DEFINE_enum("size", "default", list(synthetic.SIZES), help_text)


def define_smoke(help_text: str = "Shrink training to seconds (tests); the figures are "
                                  "then meaningless.") -> None:
    """``--smoke``: seconds-long training."""
    flags.DEFINE_boolean("smoke", False, help_text)


def define_checkpoint(help_text: str = "Checkpoint: lowest development loss (best) or "
                                       "the latest epoch (last).") -> None:
    """``--checkpoint``: which saved model of a run to use."""
    flags.DEFINE_enum("checkpoint", "best", list(CHECKPOINTS), help_text)


def define_batch_size(default: int, help_text: str) -> None:
    """``--batch_size``: examples per model call."""
    flags.DEFINE_integer("batch_size", default, help_text, lower_bound=1)


def define_direct_num_workers(default: int, help_text: str, lower_bound: int = 1) -> None:
    """``--direct_num_workers``: workers of Beam's local runner (also a Beam option)."""
    flags.DEFINE_integer("direct_num_workers", default, help_text, lower_bound=lower_bound)


def mark_required(*names: str) -> None:
    """Marks each flag as required: absl refuses a command line without it."""
    for name in names:
        flags.mark_flag_as_required(name)


def define_beam_runner(runner_help: str) -> None:
    """``--runner`` and ``--dask_client_address``: the Beam runner a binary runs on."""
    flags.DEFINE_string("runner", None, runner_help)
    flags.DEFINE_string(
        "dask_client_address", None, "HOST:PORT of a running Dask scheduler "
        "(--runner=DaskRunner); unset, the DaskRunner starts a local cluster.")


def beam_runner_options(binary: str) -> List[str]:
    """The Beam options of ``--runner`` and ``--dask_client_address`` (none when unset).

    Raises:
      UserError: ``--dask_client_address`` without ``--runner=DaskRunner``.
    """
    from tfser.beam import runners  # pylint: disable=import-outside-toplevel
    options = []
    if flags.FLAGS.runner:
        options.append(f"--runner={flags.FLAGS.runner}")
    if flags.FLAGS.dask_client_address:
        if not runners.is_dask(flags.FLAGS.runner):
            raise UserError(f"--dask_client_address={flags.FLAGS.dask_client_address} "
                            f"without --runner=DaskRunner, on the command line of {binary}, "
                            "add --runner=DaskRunner")
        options.append(f"--dask_client_address={flags.FLAGS.dask_client_address}")
    return options


def not_beam_options(args: Sequence[str], binary: str) -> List[str]:
    """The arguments Beam's PipelineOptions do not recognise (the rest pass to Beam).

    A bare word right after a Beam flag without ``=`` is that flag's value. A Beam
    option with a bad value is refused in one line (exit status 2).
    """
    if not args:
        return []
    # Imported here: only commands with extra flags pay for loading Beam this early.
    from apache_beam.options import pipeline_options  # pylint: disable=import-outside-toplevel
    from tfser.beam import runners  # pylint: disable=import-outside-toplevel
    runners.register_runner_options()  # so that --dask_* options are recognised
    logging.getLogger("apache_beam.options.pipeline_options").setLevel(logging.ERROR)
    options = pipeline_options.PipelineOptions(list(args))
    try:
        # argparse prints its whole usage on a bad value: one line here instead.
        with contextlib.redirect_stderr(io.StringIO()):
            unknown = (set(options.get_all_options(retain_unknown_options=True))
                       - set(options.get_all_options()))
    except SystemExit:
        cli.fail(f"bad Beam pipeline options {' '.join(args)}, on the command line of "
                 f"{binary}, check their values (Beam's PipelineOptions)")
    refused, previous = [], ""
    for arg in args:
        if arg.startswith("-"):
            if arg.lstrip("-").split("=", 1)[0].replace("-", "_") in unknown:
                refused.append(arg)
        elif not (previous.startswith("-") and "=" not in previous):
            refused.append(arg)
        previous = arg
    return refused
