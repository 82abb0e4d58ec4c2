"""tfser-export: writes the SavedModel of a training run for TF Serving.

Usage::

    tfser-export --model_dir=runs/001_hard --out=exports/001_hard/1 \\
        [--checkpoint=best|last] [--overwrite] [--data_dir=build/features/synthetic_001]

The export holds the signatures ``serving_default`` (raw features in; normalised
in-graph), ``serve_waveform`` (spectrogram models: 16 kHz waveform in, same front-end as
training) and ``serve_tf_example`` (serialized tf.Examples of tfser-featurize), with
``params.yaml``, ``classes.json`` and ``features.json`` in ``assets/``. TF Serving
expects numbered version folders: export to ``<base>/1`` and serve ``<base>``.
"""

from __future__ import annotations

import sys
import time

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
    flags.DEFINE_string("model_dir", None, "Run directory of tfser-train.")
    flags.DEFINE_string("out", None, "Export directory (the SavedModel).")
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"],
                      "Checkpoint: lowest validation loss, or the last epoch.")
    flags.DEFINE_boolean("overwrite", False, "Replace an existing export directory.")
    flags.DEFINE_string("data_dir", None, "Featurized directory, when the one recorded in "
                                          "params.yaml has moved.")
    for name in ("model_dir", "out"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


def export(model_dir: str, out: str, checkpoint: str = "best", overwrite: bool = False,
           data_dir=None, stream=None) -> int:
    """Exports and prints a summary.

    Returns:
      0 on success, 1 when ``out`` exists and ``overwrite`` is False.
    """
    # Imported here so that `--help` answers without loading TensorFlow.
    from tfser import export as export_lib  # pylint: disable=import-outside-toplevel
    stream = stream or sys.stdout
    start = time.time()
    try:
        path = export_lib.export_saved_model(model_dir, out, checkpoint=checkpoint,
                                             overwrite=overwrite, data_dir=data_dir)
    except FileExistsError as error:
        print(f"tfser-export: {error}", file=sys.stderr)
        return 1
    contract = export_lib.read_features(path)
    classes = export_lib.read_classes(path)
    print(f"exported {contract['experiment']} ({checkpoint} checkpoint, fold "
          f"{contract['fold']['name']}) to {path} in {time.time() - start:.1f} s", file=stream)
    for name, signature in contract["signatures"].items():
        inputs = ", ".join(f"{key} {entry['dtype']}{entry['shape']}"
                           for key, entry in signature["inputs"].items())
        print(f"  signature {name}: {inputs}", file=stream)
    for head, entry in contract["outputs"].items():
        print(f"  output {head} ({entry['kind']}, {entry['type']}): "
              f"{len(classes[head])} units: {', '.join(classes[head])}", file=stream)
    for feature in contract["features"]:
        normalisation = feature["normalisation"]
        note = f" ({normalisation['note']})" if normalisation["note"] else ""
        print(f"  feature {feature['name']}: normalised {normalisation['serving']}{note}",
              file=stream)
    return 0


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    cli.quiet_logs("tfser.export")
    status = export(FLAGS.model_dir, FLAGS.out, checkpoint=FLAGS.checkpoint,
                    overwrite=FLAGS.overwrite, data_dir=FLAGS.data_dir)
    if status:
        sys.exit(status)


def run() -> None:
    """Console-script entry point (``tfser-export``)."""
    cli.start(define_flags, main)


if __name__ == "__main__":
    run()
