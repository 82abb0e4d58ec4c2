"""tfser-annotate: turns a corpus on disk into the unified multi-annotator table.

Example::

    tfser-annotate --corpus=emodb --root=../shared/corpora/emodb-part --out=build/emodb \\
        --audio_check --option=min_duration_s=0.5

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

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    from tfser.corpora import LOADERS  # pylint: disable=import-outside-toplevel
    flags.DEFINE_enum("corpus", None, sorted(LOADERS), "Corpus loader to use.")
    flags.DEFINE_string("root", None, "Folder of the corpus on disk.")
    shared.define_out("Output folder of the unified table.")
    flags.DEFINE_boolean("audio_check", False,
                         "Open every audio file and report missing, unreadable, silent, "
                         "too short or clipped ones in audio_report.csv.")
    flags.DEFINE_multi_string("option", [], "Loader option key=value (value as JSON when "
                                            "it parses, else text); repeatable.")
    for name in ("corpus", "root", "out"):
        flags.mark_flag_as_required(name)


def main(argv) -> int:
    del argv  # cli.Binary refuses extra arguments
    from tfser.corpora.options import parse_options  # pylint: disable=import-outside-toplevel
    from tfser.labels.annotate import annotate  # pylint: disable=import-outside-toplevel
    return annotate(FLAGS.corpus, FLAGS.root, FLAGS.out, FLAGS.audio_check,
                    parse_options(FLAGS.option))


BINARY = cli.Binary("tfser-annotate", __doc__, define_flags, main)


def run() -> None:
    """Console-script entry point (``tfser-annotate``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
