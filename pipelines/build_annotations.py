"""tfser-annotate: turns a corpus on disk into the unified multi-annotator table.

Usage::

    tfser-annotate --corpus=NAME --root=DIR --out=DIR [--audio_check]
                   [--option key=value ...]

``NAME`` is one of :data:`tfser.corpora.LOADERS` (emodb, iemocap, msp_podcast, crema_d,
ravdess, sewa, manifest, synthetic). ``--option`` passes loader options, checked by name
and type against the loader's ``OPTIONS``; values are read as JSON when they parse
(``--option=require_audio=true``, ``--option=categories=["a","b"]``) and as text
otherwise (``--option=manifest=my.csv``).

Writes the table, ``rejects.csv``, ``summary.json`` and, with ``--audio_check``,
``audio_report.csv`` to ``--out`` (see :mod:`tfser.labels.annotate`). Prints counts per
speaker, split and class, raw primary votes, the plurality label distribution and
agreement per vote group (see :mod:`tfser.labels.corpus_report`), and ``items found =
written + rejected``. Exits with status 1 when those numbers do not reconcile, 2 when
the corpus cannot be read (unknown or badly typed option, nothing found in ``--root``).
"""

from __future__ import annotations

from absl import app
from absl import flags

from tfser.corpora import LOADERS
from tfser.corpora.options import OptionError, parse_options
from tfser.labels.annotate import annotate

FLAGS = flags.FLAGS
_DEFINED = False


def define_flags() -> None:
    """Defines the command-line flags (at run time, so pipelines can share ``--out``)."""
    global _DEFINED
    if _DEFINED:
        return
    flags.DEFINE_enum("corpus", None, sorted(LOADERS), "Corpus loader to use.")
    flags.DEFINE_string("root", None, "Folder of the corpus on disk.")
    flags.DEFINE_string("out", None, "Output folder of the unified table.")
    flags.DEFINE_boolean("audio_check", False,
                         "Open every audio file and report missing, unreadable, silent, "
                         "too short or clipped ones in audio_report.csv.")
    flags.DEFINE_multi_string("option", [], "Loader option key=value (value as JSON when "
                                            "it parses, else text); repeatable.")
    for name in ("corpus", "root", "out"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


def main(argv) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        options = parse_options(FLAGS.option)
    except OptionError as error:
        raise app.UsageError(str(error)) from None
    return annotate(FLAGS.corpus, FLAGS.root, FLAGS.out, FLAGS.audio_check, options)


def run() -> None:
    """Console-script entry point (``tfser-annotate``)."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
