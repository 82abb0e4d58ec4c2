"""tfser-train: trains one registered experiment on a featurized directory.

Example::

    tfser-train --experiment=000_mtl --data_dir=build/features/synthetic_000 \\
        --model_dir=runs/000_mtl --params_override=epochs=5

The experiment resolves as registered base -> each --config_file -> each
--params_override -> --data_dir / --fold -> --smoke, and is saved as params.yaml in
--model_dir with a fingerprint (run.json). Running the same command again after an
interruption resumes from the last finished epoch; after a finished run it only says
where the results are. A --model_dir holding another run is refused (exit 2, naming
what differs) unless --overwrite, which replaces it once the new run finished.

--fold=all (or a comma-separated list such as --fold=0,3 or names) trains every chosen
fold of the featurized directory's split protocol into --model_dir/folds/<fold>/ and
writes --model_dir/folds.json (tfser.training.cross_validation); folds that finished are
skipped when the command runs again.

--strategy=multi_worker runs one process per worker, each started with the same flags
and a TF_CONFIG environment variable naming the cluster and its own task, e.g.
TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type":
"worker", "index": 0}}' (index 1 on host2); worker 0 is the chief and writes
--model_dir, which must be on storage all workers read (see tfser.training.custom_loop).
"""

from __future__ import annotations

from absl import flags

from pipelines import cli
from pipelines import flags as shared

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (run time: see :mod:`pipelines.cli`)."""
    flags.DEFINE_string("experiment", None, "Registered base experiment, e.g. 000_mtl.")
    flags.DEFINE_multi_string("config_file", [],
                              "YAML delta over the base (configs/experiments/*.yaml); "
                              "repeatable, applied in order.")
    shared.define_params_override("Overrides key.path=yaml_value, comma-separated; e.g. "
                                  "'optimizer.learning_rate=1e-4,epochs=5'.")
    shared.define_model_dir("Run directory (params, checkpoints, logs).")
    shared.define_data_dir("Featurized directory (tfser-featurize --out); overrides the "
                           "config's data_dir.")
    flags.DEFINE_string("fold", None, "Fold index or name; overrides the config's fold. "
                                      "'all' or a comma-separated list trains those folds "
                                      "as a cross-validation into --model_dir/folds/.")
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                      "Distribution strategy.")
    shared.define_smoke("Shrink the experiment to seconds.")
    shared.define_overwrite("Replace the run --model_dir holds (another config or data, or a "
                            "finished run); the old run stays until the new one finishes.")
    for name in ("experiment", "model_dir"):
        flags.mark_flag_as_required(name)


def is_fold_selection(value) -> bool:
    """True for ``--fold`` values that ask for a cross-validation (``all``, ``0,3``)."""
    return value is not None and (value.strip() == "all" or "," in value)


def main(argv) -> None:
    del argv  # cli.Binary refuses extra arguments
    # Imported here so that `--help` answers without loading TensorFlow.
    from tfser import training  # pylint: disable=import-outside-toplevel
    from tfser.training import cross_validation  # pylint: disable=import-outside-toplevel
    folds = FLAGS.fold if is_fold_selection(FLAGS.fold) else None
    fold = None if folds or FLAGS.fold is None else (
        int(FLAGS.fold) if FLAGS.fold.isdigit() else FLAGS.fold)
    # Every mistake in the flags shows here, before anything is written.
    with cli.user_input("fix --experiment, --config_file, --params_override, --data_dir "
                        "or --fold (tfser-train --help)"):
        config = training.resolve_config(FLAGS.experiment, FLAGS.config_file,
                                         FLAGS.params_override, data_dir=FLAGS.data_dir,
                                         fold=fold, smoke=FLAGS.smoke)
        task = training.EmotionTask(config)
        if folds:
            cross_validation.select_folds(task.info, folds)
    if folds:
        training.train_folds(FLAGS.experiment, FLAGS.model_dir, FLAGS.config_file,
                             FLAGS.params_override, data_dir=FLAGS.data_dir, folds=folds,
                             strategy=FLAGS.strategy, smoke=FLAGS.smoke,
                             overwrite=FLAGS.overwrite)
    else:
        training.run_experiment(config, FLAGS.model_dir, strategy=FLAGS.strategy,
                                overwrite=FLAGS.overwrite)


BINARY = cli.Binary("tfser-train", __doc__, define_flags, main)


def run() -> None:
    """Console-script entry point (``tfser-train``)."""
    BINARY.run()


if __name__ == "__main__":
    run()
