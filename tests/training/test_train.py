"""Training end to end: every registered experiment in smoke mode, resume, strategies."""

import json
import os
import subprocess
import sys
import textwrap

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfser import training

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _train(experiment, model_dir, data_dir, smoke=True, overrides=(), **kwargs):
    """Resolves and trains as tfser-train does; returns this call's Keras history."""
    config = training.resolve_config(experiment, overrides=overrides, data_dir=data_dir,
                                     smoke=smoke)
    return training.run_experiment(config, model_dir, **kwargs).history


@pytest.fixture(scope="module")
def data_dirs(data_000, data_000_recipe, data_001, data_002, data_004, continuous_run):
    """The featurized directory each registered experiment reads (by its name prefix)."""
    special = {"000_soft_pe": data_000_recipe}
    by_paper = {"000": data_000, "001": data_001, "002": data_002,
                "003": continuous_run.out_dir, "004": data_004}
    return {name: special.get(name, by_paper[name[:3]]) for name in training.EXPERIMENTS}


def _second_stage(name):
    """Two-stage experiments restore a first-stage run (their own tests train them on
    one: tests/recipes/test_reproduce.py)."""
    trunk = training.EXPERIMENTS[name]["model"]["trunk"]
    return "init_from" in trunk or "fuse" in trunk


@pytest.mark.parametrize("experiment", sorted(n for n in training.EXPERIMENTS
                                              if not _second_stage(n)))
def test_every_registered_experiment_trains_in_smoke_mode(experiment, data_dirs, tmp_path):
    model_dir = str(tmp_path / experiment)
    history = _train(experiment, model_dir, data_dirs[experiment])
    assert len(history["loss"]) == 2 and np.all(np.isfinite(history["loss"]))
    assert "val_loss" in history and "learning_rate" in history
    config = training.load_params(model_dir)
    assert config.smoke and config.name == experiment
    assert config.data_dir == data_dirs[experiment]
    for name in ("best.keras", "last.keras"):
        assert os.path.exists(os.path.join(model_dir, "checkpoints", name))
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0, 1]
    tags = _tensorboard_tags(os.path.join(model_dir, "logs", "train"))
    assert {"epoch_loss", "epoch_learning_rate"} <= tags
    assert not os.path.exists(os.path.join(model_dir, "backup"))  # removed at the end
    heads = config.head_names
    if len(heads) > 1:  # per-head losses come from Keras
        assert all(f"val_{head}_loss" in history for head in heads)
    restored = keras.saving.load_model(os.path.join(model_dir, "checkpoints", "last.keras"))
    assert sorted(restored.output) == sorted(heads)


def _tensorboard_tags(log_dir):
    tags = set()
    for path in glob.glob(os.path.join(log_dir, "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


class _Interrupt(keras.callbacks.Callback):
    """Raises at the end of the first epoch, after the built-in callbacks ran."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt("simulated kill")


def test_an_interrupted_run_resumes_at_the_next_epoch(data_dirs, tmp_path):
    model_dir = str(tmp_path / "resume")
    args = dict(data_dir=data_dirs["000_hard_pe"], smoke=True,
                overrides=["optimizer.schedule={type: step_decay, every_epochs: 1, "
                           "factor: 0.5}"])
    with pytest.raises(KeyboardInterrupt):
        _train("000_hard_pe", model_dir, callbacks=[_Interrupt()], **args)
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0]
    assert os.path.isdir(os.path.join(model_dir, "backup"))
    history = _train("000_hard_pe", model_dir, **args)
    assert len(history["loss"]) == 1  # only epoch 1 ran again
    entries = training.read_history(model_dir)
    assert [e["epoch"] for e in entries] == [0, 1]
    # The schedule follows the restored epoch counter.
    assert entries[1]["learning_rate"] == pytest.approx(entries[0]["learning_rate"] / 2)


def _run_binary(*args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "pipelines.train", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_binary_runs_with_flags(data_dirs, tmp_path):
    model_dir = str(tmp_path / "binary")
    done = _run_binary("--experiment=000_hard_pe", f"--model_dir={model_dir}",
                       f"--data_dir={data_dirs['000_hard_pe']}", "--smoke", "--fold=0",
                       "--params_override=seed=5",
                       "--params_override=optimizer.name=rmsprop")
    assert done.returncode == 0, done.stderr[-3000:]
    config = training.load_params(model_dir)
    assert (config.seed, config.optimizer.name, config.fold) == (5, "rmsprop", 0)
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0, 1]


def test_the_binary_reports_config_errors_before_training(tmp_path):
    done = _run_binary("--experiment=000_mtl", f"--model_dir={tmp_path / 'bad'}",
                       "--params_override=epochz=3")
    assert done.returncode != 0
    assert "unknown keys ['epochz']" in done.stderr
    assert not os.path.exists(tmp_path / "bad")


def test_task_errors_name_the_missing_piece(data_dirs):
    with pytest.raises(ValueError, match="no data_dir"):
        training.EmotionTask(training.resolve_config("000_mtl"))
    config = training.resolve_config("000_mtl", data_dir=data_dirs["000_mtl"],
                                     overrides=["model.heads.1.name=arousal"])
    with pytest.raises(ValueError, match="head 'arousal' is not a label view"):
        training.EmotionTask(config)
    config = training.resolve_config("000_mtl", data_dir=data_dirs["000_mtl"],
                                     overrides=["features=[logspec_001]"])
    with pytest.raises(ValueError, match=r"features \['logspec_001'\] are not in"):
        training.EmotionTask(config)


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfser import training
    data_dir, out = sys.argv[1], sys.argv[2]
    results = {}
    for strategy in ("default", "mirrored"):
        model_dir = f"{out}/{strategy}"
        config = training.resolve_config("000_mtl", data_dir=data_dir, smoke=True,
                                         overrides=["shuffle=false"])
        training.Trainer(training.EmotionTask(config), model_dir, strategy=strategy).train()
        results[strategy] = training.read_history(model_dir)
    results["replicas"] = training.get_strategy("mirrored").num_replicas_in_sync
    print("RESULT" + json.dumps(results))
""")


def test_mirrored_on_two_logical_cpus_matches_default(data_dirs, tmp_path):
    # Unshuffled (fit opens an extra pass under a strategy), class-weighted: the
    # replicas hold different weight sums, and the tfser losses divide by the global
    # one, so the figures match one device exactly.
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, data_dirs["000_mtl"],
                           str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT")][-1]
    results = json.loads(line[len("RESULT"):])
    assert results["replicas"] == 2
    default, mirrored = results["default"], results["mirrored"]
    assert [e["epoch"] for e in mirrored] == [0, 1]
    for a, b in zip(default, mirrored):
        for key in ("loss", "val_loss", "emotion_loss", "val_secondary_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
