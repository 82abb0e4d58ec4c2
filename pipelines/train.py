"""tfser-train: trains one registered experiment on a featurized directory.

Usage::

    python -m pipelines.train --experiment=000_mtl \\
        --data_dir=build/features/synthetic_000 --model_dir=runs/000_mtl \\
        [--config_file=configs/experiments/x.yaml ...] [--params_override=key=value ...] \\
        [--fold=0] [--strategy=default|mirrored|multi_worker] [--smoke] [--overwrite]

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
    flags.DEFINE_string("experiment", None, "Registered base experiment, e.g. 000_mtl.")
    flags.DEFINE_multi_string("config_file", [],
                              "YAML delta over the base (configs/experiments/*.yaml); "
                              "repeatable, applied in order.")
    flags.DEFINE_multi_string("params_override", [],
                              "Overrides key.path=yaml_value, comma-separated; e.g. "
                              "'optimizer.learning_rate=1e-4,epochs=5'.")
    flags.DEFINE_string("model_dir", None, "Run directory (params, checkpoints, logs).")
    flags.DEFINE_string("data_dir", None, "Featurized directory (tfser-featurize --out); "
                                          "overrides the config's data_dir.")
    flags.DEFINE_string("fold", None, "Fold index or name; overrides the config's fold. "
                                      "'all' or a comma-separated list trains those folds "
                                      "as a cross-validation into --model_dir/folds/.")
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                      "Distribution strategy.")
    flags.DEFINE_boolean("smoke", False, "Shrink the experiment to seconds.")
    flags.DEFINE_boolean("overwrite", False, "Replace the run --model_dir holds (another "
                                             "config or data, or a finished run); the old "
                                             "run stays until the new one finishes.")
    for name in ("experiment", "model_dir"):
        flags.mark_flag_as_required(name)
    _DEFINED = True


def _fold(value):
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def train(experiment: str, model_dir: str, config_files=(), overrides=(), data_dir=None,
          fold=None, strategy: str = "default", smoke: bool = False, callbacks=(),
          overwrite: bool = False):
    """Resolves the experiment and trains it in ``model_dir`` (``training.run_experiment``).

    Returns:
      The Keras history of this call's epochs (empty when the run had finished before).

    Raises:
      ValueError: A bad experiment, config file, override or data directory.
      UserError: ``model_dir`` holds another run and ``overwrite`` is False.
    """
    # Imported here so that `--help` answers without loading TensorFlow.
    from tfser import training  # pylint: disable=import-outside-toplevel
    config = training.resolve_config(experiment, config_files, overrides, data_dir=data_dir,
                                     fold=fold, smoke=smoke)
    return training.run_experiment(config, model_dir, strategy=strategy, callbacks=callbacks,
                                   overwrite=overwrite).history


def is_fold_selection(value) -> bool:
    """True for ``--fold`` values that ask for a cross-validation (``all``, ``0,3``)."""
    return value is not None and (value.strip() == "all" or "," in value)


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    if is_fold_selection(FLAGS.fold):
        from tfser import training  # pylint: disable=import-outside-toplevel
        training.train_folds(FLAGS.experiment, FLAGS.model_dir, FLAGS.config_file,
                             FLAGS.params_override, data_dir=FLAGS.data_dir,
                             folds=FLAGS.fold, strategy=FLAGS.strategy, smoke=FLAGS.smoke,
                             overwrite=FLAGS.overwrite)
        return
    train(FLAGS.experiment, FLAGS.model_dir, FLAGS.config_file, FLAGS.params_override,
          data_dir=FLAGS.data_dir, fold=_fold(FLAGS.fold), strategy=FLAGS.strategy,
          smoke=FLAGS.smoke, overwrite=FLAGS.overwrite)


def run() -> None:
    """Console-script entry point (``tfser-train``)."""
    cli.start(define_flags, main)


if __name__ == "__main__":
    run()
