"""A run killed with SIGKILL (no Python clean-up at all) resumes at the next epoch.

The training process kills itself right after its first epoch has been backed up, for
both training routes (Keras ``fit`` with BackupAndRestore, and the custom loop of the
multi-worker strategy with its checkpoint manager); the same command run again must
continue at epoch 1 and finish the run. The callbacks' own state (early stopping, the
best checkpoint) continues from the epochs the killed process finished.
"""

import json
import os
import signal
import subprocess
import sys

import keras
import pytest

from tfser import training

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Runs one smoke training (2 epochs) that SIGKILLs its own process after epoch 0.
KILL_SCRIPT = """
import os, signal, sys
import keras
from tfser import training

data_dir, model_dir, route = sys.argv[1:4]

def kill(epoch):
    if epoch == 0:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

config = training.resolve_config("000_hard_pe", data_dir=data_dir, smoke=True)
task = training.EmotionTask(config)
if route == "fit":
    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            kill(epoch)
    training.Trainer(task, model_dir, callbacks=[Kill()]).train()
else:
    training.CustomLoopTrainer(task, model_dir,
                               epoch_end_hooks=[lambda epoch, logs: kill(epoch)]).train()
"""


@pytest.mark.parametrize("route", ["fit", "custom_loop"])
def test_a_sigkilled_run_resumes_at_the_next_epoch(route, data_000, tmp_path):
    model_dir = str(tmp_path / route)
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", KILL_SCRIPT, data_000, model_dir, route],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0]
    assert os.listdir(os.path.join(model_dir, "backup"))

    config = training.resolve_config("000_hard_pe", data_dir=data_000, smoke=True)
    task = training.EmotionTask(config)
    if route == "fit":
        history = training.Trainer(task, model_dir).train()
    else:
        history = training.CustomLoopTrainer(task, model_dir).train()
    assert len(history["loss"]) == 1  # only epoch 1 ran in the second process
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0, 1]
    assert not os.path.exists(os.path.join(model_dir, "backup"))
    assert os.path.exists(os.path.join(model_dir, "checkpoints", "last.keras"))



def test_resumed_callbacks_continue_from_the_finished_epochs(data_000, tmp_path):
    """Early stopping and the best checkpoint count the epochs of the killed process."""
    model_dir = tmp_path / "resumed"
    (model_dir / "backup").mkdir(parents=True)
    losses = [1.0, 0.8, 0.9, 0.95]
    with open(model_dir / "history.json", "w") as handle:
        json.dump([{"epoch": i, "val_loss": v} for i, v in enumerate(losses)], handle)
    config = training.resolve_config("000_hard_pe", data_dir=data_000,
                                     overrides=["early_stopping.patience=3"])
    trainer = training.Trainer(training.EmotionTask(config), str(model_dir))
    callbacks = trainer.build_callbacks()
    stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)][0]
    best = [c for c in callbacks if isinstance(c, keras.callbacks.ModelCheckpoint)
            and c.save_best_only][0]
    assert best.best == pytest.approx(0.8)  # a worse resumed epoch cannot replace it

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    stopping.set_model(model)
    stopping.on_train_begin()
    assert (stopping.best, stopping.best_epoch, stopping.wait) == (0.8, 1, 2)
    stopping.on_epoch_end(4, {"val_loss": 0.85})  # the third epoch without improvement
    assert model.stop_training

    # A run that is not resuming (no backup) starts afresh even with an old history.
    (model_dir / "backup").rmdir()
    fresh = training.Trainer(training.EmotionTask(config), str(model_dir)).build_callbacks()
    best = [c for c in fresh if isinstance(c, keras.callbacks.ModelCheckpoint)
            and c.save_best_only][0]
    assert best.best is None  # Keras: no threshold, any first epoch is saved
