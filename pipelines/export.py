"""tfser-export: writes the SavedModel of a training run for TF Serving.

Example::

    tfser-export --model_dir=runs/001_hard --out=exports/001_hard/1 --checkpoint=best

The export holds the signatures ``serving_default`` (raw features in; normalised
in-graph), ``serve_waveform`` (spectrogram models: 16 kHz waveform in, same front-end as
training) and ``serve_tf_example`` (serialized tf.Examples of tfser-featurize), with
``params.yaml``, ``classes.json`` and ``features.json`` in ``assets/``. TF Serving
expects numbered version folders: export to ``<base>/1`` and serve ``<base>``.
"""

from __future__ import annotations

import sys
import time

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    shared.define_model_dir()
    shared.define_out("Export directory (the SavedModel).")
    shared.define_checkpoint()
    shared.define_overwrite("Replace an existing export directory.")
    shared.define_data_dir("Featurized directory, when the one recorded in params.yaml "
                           "has moved.")
    for name in ("model_dir", "out"):
        flags.mark_flag_as_required(name)


def print_summary(path: str, checkpoint: str, seconds: float, stream=None) -> None:
    """Prints what the export at ``path`` holds: signatures, outputs, features."""
    from tfser import export as export_lib  # pylint: disable=import-outside-toplevel
    stream = stream or sys.stdout
    contract = export_lib.read_features(path)
    classes = export_lib.read_classes(path)
    print(f"exported {contract['experiment']} ({checkpoint} checkpoint, fold "
          f"{contract['fold']['name']}) to {path} in {seconds:.1f} s", file=stream)
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


def main(argv) -> None:
    del argv  # cli.Binary refuses extra arguments
    cli.quiet_logs("tfser.export")
    # Imported here so that `--help` answers without loading TensorFlow.
    from tfser import export as export_lib  # pylint: disable=import-outside-toplevel
    start = time.time()
    # An existing --out (the message says what to do), or a run without params.yaml,
    # checkpoint or featurized directory.
    with cli.user_input(errors=(FileExistsError,)), cli.user_input(
            "check --model_dir (a tfser-train run) and --data_dir", errors=(FileNotFoundError,)):
        path = export_lib.export_saved_model(FLAGS.model_dir, FLAGS.out,
                                             checkpoint=FLAGS.checkpoint,
                                             overwrite=FLAGS.overwrite,
                                             data_dir=FLAGS.data_dir)
    print_summary(path, FLAGS.checkpoint, time.time() - start)


BINARY = cli.Binary("tfser-export", __doc__, define_flags, main)


def run() -> None:
    """Console-script entry point (``tfser-export``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
