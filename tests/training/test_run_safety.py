"""Runs never mix or vanish: the run directory's fingerprint decides resume, skip, refuse.

Each case of issue 10 ("Runs must never mix or vanish", items 1-2) is reproduced: a
killed 000_mtl run continued as 000_hard_pe, a learning-rate-only change, the identical
finished command run again, ``overwrite``, an unfinished run resumed, a directory of an
older tfser, and the same rules per fold of a cross-validation.
"""

import json
import os
import shutil
import subprocess
import sys

import keras
import pytest

from tfser import training
from tfser.config.errors import UserError
from tfser.training import cross_validation
from tfser.training import fingerprint

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TRAIN_BINARY = os.path.join(os.path.dirname(sys.executable), "tfser-train")
LOWER_RATE = "optimizer.learning_rate=0.0001"


class _Kill(keras.callbacks.Callback):
    """Stops the process's training at the end of the first epoch (a simulated kill)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt("simulated kill")


def _config(data_dir, experiment="000_hard_pe", overrides=()):
    return training.resolve_config(experiment, overrides=list(overrides), data_dir=data_dir,
                                   smoke=True)


def _mtime(run_dir, *parts):
    return os.stat(os.path.join(run_dir, *parts)).st_mtime_ns


def _binary(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([TRAIN_BINARY, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def finished_run(data_000, tmp_path_factory):
    """A finished smoke 000_hard_pe run (copy it before changing it)."""
    model_dir = str(tmp_path_factory.mktemp("finished") / "run")
    result = training.run_experiment(_config(data_000), model_dir)
    assert result.state == fingerprint.NEW and len(result.history["loss"]) == 2
    return model_dir


@pytest.fixture
def run_copy(finished_run, tmp_path):
    model_dir = str(tmp_path / "run")
    shutil.copytree(finished_run, model_dir)
    return model_dir


def test_differences_name_dotted_paths_old_and_new():
    old = {"name": "a", "optimizer": {"learning_rate": 1e-3},
           "model": {"heads": [{"name": "emotion"}, {"name": "secondary"}]}, "features": [1]}
    new = {"name": "a", "optimizer": {"learning_rate": 1e-4},
           "model": {"heads": [{"name": "emotion"}]}, "features": [1, 2]}
    assert fingerprint.differences(old, new) == [
        "optimizer.learning_rate: 0.001 -> 0.0001", "features: [1] -> [1, 2]",
        'model.heads.1.name: "secondary" -> (none)']
    assert fingerprint.differences(old, old) == []


def test_a_killed_run_continued_as_another_experiment_is_refused(data_000, tmp_path):
    """Issue 10 item 1: 000_mtl killed, then 000_hard_pe into the same directory."""
    model_dir = str(tmp_path / "R")
    with pytest.raises(KeyboardInterrupt):
        training.run_experiment(_config(data_000, "000_mtl"), model_dir, callbacks=[_Kill()])
    record = fingerprint.read_record(model_dir)
    assert record["finished"] is False and record["config"]["name"] == "000_mtl"
    before = {name: _mtime(model_dir, name) for name in ("params.yaml", "history.json")}

    with pytest.raises(UserError) as caught:
        training.run_experiment(_config(data_000, "000_hard_pe"), model_dir)
    message = str(caught.value)
    assert f"run directory {os.path.abspath(model_dir)} holds another run" in message
    assert 'name: "000_mtl" -> "000_hard_pe"' in message
    assert 'model.heads.1.name: "secondary" -> (none)' in message
    assert "pass --overwrite to replace it, or choose another --model_dir" in message
    # Nothing was touched: no mixed params.yaml or history.json.
    assert {name: _mtime(model_dir, name) for name in before} == before
    assert training.load_params(model_dir).name == "000_mtl"
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0]

    # The binary says the same in one line on stderr (after TensorFlow's start-up
    # chatter, which is not tfser's) and exits with status 2, without a traceback.
    done = _binary("--experiment=000_hard_pe", f"--model_dir={model_dir}",
                   f"--data_dir={data_000}", "--smoke")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and done.stderr.rstrip().endswith(errors[0])
    assert errors[0].startswith("error: run directory ")
    assert 'name: "000_mtl" -> "000_hard_pe"' in errors[0]
    assert training.load_params(model_dir).name == "000_mtl"


def test_a_learning_rate_change_or_other_data_is_refused(data_000, run_copy):
    best = _mtime(run_copy, "checkpoints", "best.keras")
    with pytest.raises(UserError, match=r"holds another run \(differs in "
                                        r"optimizer\.learning_rate: 0\.001 -> 0\.0001\)"):
        training.run_experiment(_config(data_000, overrides=[LOWER_RATE]), run_copy)
    # Same config, other featurized data (another dataset_info.json).
    config = _config(data_000)
    other_data = dict(fingerprint.compute(config), data="0" * 64)
    with pytest.raises(UserError, match=r"differs in data \(dataset_info\.json changed\)"):
        fingerprint.plan_run(run_copy, config, fingerprint=other_data)
    assert _mtime(run_copy, "checkpoints", "best.keras") == best


def test_the_identical_finished_run_is_not_trained_again(data_000, run_copy, capsys):
    """Issue 10 item 2: rerunning the finished command retrained and replaced best.keras."""
    best = _mtime(run_copy, "checkpoints", "best.keras")
    history = training.read_history(run_copy)
    capsys.readouterr()
    result = training.run_experiment(_config(data_000), run_copy)
    assert (result.state, result.history) == (fingerprint.FINISHED, {})
    out = capsys.readouterr().out
    assert f"{os.path.abspath(run_copy)}: this run finished before (2 epochs" in out
    assert os.path.join(os.path.abspath(run_copy), "checkpoints") in out
    assert _mtime(run_copy, "checkpoints", "best.keras") == best
    assert training.read_history(run_copy) == history

    done = _binary("--experiment=000_hard_pe", f"--model_dir={run_copy}",
                   f"--data_dir={data_000}", "--smoke")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "this run finished before" in done.stdout
    assert _mtime(run_copy, "checkpoints", "best.keras") == best


def test_overwrite_replaces_the_run_and_keeps_it_when_the_new_one_fails(data_000, run_copy):
    lower = _config(data_000, overrides=[LOWER_RATE])
    best = _mtime(run_copy, "checkpoints", "best.keras")
    staging = fingerprint.staging_dir(run_copy)

    # A replacement that dies leaves the old run as it was.
    with pytest.raises(KeyboardInterrupt):
        training.run_experiment(lower, run_copy, overwrite=True, callbacks=[_Kill()])
    assert _mtime(run_copy, "checkpoints", "best.keras") == best
    assert training.load_params(run_copy).optimizer.learning_rate == pytest.approx(1e-3)
    assert fingerprint.read_record(run_copy)["finished"] is True

    result = training.run_experiment(lower, run_copy, overwrite=True)
    assert result.state == fingerprint.REPLACE and len(result.history["loss"]) == 2
    assert not os.path.exists(staging)
    assert training.load_params(run_copy).optimizer.learning_rate == pytest.approx(1e-4)
    record = fingerprint.read_record(run_copy)
    assert record["finished"] is True and record["epochs"] == 2
    assert record["fingerprint"] == fingerprint.compute(lower)
    assert [e["epoch"] for e in training.read_history(run_copy)] == [0, 1]
    # Now the lower rate is the finished run there.
    assert training.run_experiment(lower, run_copy).state == fingerprint.FINISHED


def test_an_unfinished_identical_run_resumes_and_says_so(data_000, tmp_path, capsys):
    model_dir = str(tmp_path / "run")
    config = _config(data_000)
    with pytest.raises(KeyboardInterrupt):
        training.run_experiment(config, model_dir, callbacks=[_Kill()])
    capsys.readouterr()
    result = training.run_experiment(config, model_dir)
    assert result.state == fingerprint.RESUME and len(result.history["loss"]) == 1
    assert f"{os.path.abspath(model_dir)}: resuming at epoch 2 of 2" in capsys.readouterr().out
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0, 1]
    assert fingerprint.read_record(model_dir)["finished"] is True


def test_a_run_of_an_older_tfser_is_refused_unless_overwritten(data_000, run_copy):
    os.remove(os.path.join(run_copy, fingerprint.RUN_FILE))  # as tfser wrote it before
    with pytest.raises(UserError, match=r"holds a run without run\.json \(written by an "
                                        r"older tfser\)"):
        training.run_experiment(_config(data_000), run_copy)
    result = training.run_experiment(_config(data_000), run_copy, overwrite=True)
    assert result.state == fingerprint.REPLACE
    assert fingerprint.read_record(run_copy)["finished"] is True


def test_cross_validation_applies_the_rules_per_fold(data_001, tmp_path, capsys):
    model_dir = str(tmp_path / "cv")
    args = dict(data_dir=data_001, smoke=True, folds="0,1",
                overrides=["model.heads=[{name: emotion}]"])
    run_dirs = training.train_folds("000_hard_pe", model_dir, **args)
    best = [_mtime(run_dir, "checkpoints", "best.keras") for run_dir in run_dirs]
    assert all(fingerprint.read_record(d)["finished"] for d in run_dirs)

    # Another learning rate: refused before any fold trains, naming the fold's directory.
    lower = dict(args, overrides=args["overrides"] + [LOWER_RATE])
    with pytest.raises(UserError, match=r"run directory .*folds.* holds another run "
                                        r"\(differs in optimizer\.learning_rate"):
        training.train_folds("000_hard_pe", model_dir, **lower)
    assert [_mtime(d, "checkpoints", "best.keras") for d in run_dirs] == best

    # With overwrite every selected fold is replaced.
    capsys.readouterr()
    assert training.train_folds("000_hard_pe", model_dir, overwrite=True, **lower) == run_dirs
    assert capsys.readouterr().out.count(": replacing, test speakers") == 2
    for run_dir in run_dirs:
        assert training.load_params(run_dir).optimizer.learning_rate == pytest.approx(1e-4)
        assert cross_validation.is_done(run_dir)
        with open(os.path.join(run_dir, fingerprint.RUN_FILE)) as handle:
            assert json.load(handle)["finished"] is True
        assert not os.path.exists(fingerprint.staging_dir(run_dir))
