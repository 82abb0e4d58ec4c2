"""Flags that several tfser binaries share, each defined once here (Model Garden style).

A binary's ``define_flags`` calls the ``define_*`` functions it needs (passing its own
help text where the meaning differs), defines the flags only it has, and marks the
ones it requires with ``flags.mark_flag_as_required``; absl then refuses a command
without them. Binaries define their flags at run time (:func:`pipelines.cli.start`),
never at import, so that tests can import several binaries into one process.
"""

from __future__ import annotations

from typing import Optional

from absl import flags

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
