"""The custom training loop: loss shares, fit equivalence, resume, mirrored, 2 workers.

The multi-worker test starts two ``tfser-train --strategy=multi_worker`` processes
over loopback and compares the chief's ``history.json`` with the same loop on one
device; the mirrored one runs in a subprocess with two logical CPUs (logical devices
must be set before TensorFlow initialises, so never in the pytest process).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfser import data
from tfser import training
from tfser.models import losses as losses_lib
from tfser.training import custom_loop, runtime
from tfser.training.callbacks import LearningRateLogger

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TIMEOUT = 240  # seconds, per subprocess group; a healthy run takes a fraction
# Compared history keys (per-head losses included).
KEYS = ("loss", "emotion_loss", "secondary_loss", "val_loss", "val_emotion_loss",
        "val_secondary_loss", "learning_rate")


def _env():
    return dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2",
                CUDA_VISIBLE_DEVICES="")


def _tail(text, size=3000):
    return text[-size:] if text else ""


# ----------------------------------------------------------------- in-process tests


def _loss_cases(rng):
    """(loss, y_true, y_pred, sample_weight) with masked (zero) and class weights."""
    batch = 7
    probabilities = rng.dirichlet(np.ones(4), size=batch).astype(np.float32)
    weights = np.array([1.0, 0.0, 2.5, 0.5, 1.0, 0.0, 1.5], np.float32)
    raters = rng.dirichlet(np.ones(4), size=(batch, 3)).astype(np.float32)
    rater_weights = (rng.random((batch, 3)) > 0.3).astype(np.float32)
    sigmoid = rng.uniform(0.05, 0.95, (batch, 4)).astype(np.float32)
    multi_hot = (rng.random((batch, 4)) > 0.5).astype(np.float32)
    return [
        (losses_lib.HardTargetCrossentropy(), rng.integers(0, 4, batch), probabilities,
         weights),
        (losses_lib.SoftTargetCrossentropy(), raters, rng.dirichlet(
            np.ones(4), size=(batch, 3)).astype(np.float32), rater_weights),
        (losses_lib.SecondaryKLDivergence(), multi_hot, sigmoid, weights),
        (losses_lib.WeightedBinaryCrossentropy([1.0, 2.0, 0.5, 1.0], [0.5, 1.0, 1.0, 2.0]),
         multi_hot, sigmoid, weights),
        (losses_lib.ConcordanceLoss([0.7, 0.2, 1.0]),
         rng.normal(3.0, 1.0, (batch, 3)).astype(np.float32),
         rng.normal(2.8, 0.7, (batch, 3)).astype(np.float32),
         (rng.random((batch, 3)) > 0.25).astype(np.float32)),
        (keras.losses.MeanSquaredError(), rng.normal(size=(batch, 2)).astype(np.float32),
         rng.normal(size=(batch, 2)).astype(np.float32), weights),
    ]


def test_replica_loss_equals_the_loss_object_on_one_device():
    for loss, y_true, y_pred, weights in _loss_cases(np.random.default_rng(0)):
        expected = float(loss(y_true, y_pred, sample_weight=weights))
        got = float(custom_loop.replica_loss(loss, y_true, y_pred, weights))
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6), loss.name
    with pytest.raises(ValueError, match="does not give a scalar"):
        custom_loop.replica_loss(losses_lib.HardTargetCrossentropy(reduction="none"),
                                 np.zeros(2), np.full((2, 3), 1 / 3, np.float32))


def _smoke_config(data_dir, overrides=()):
    return training.resolve_config("000_mtl", data_dir=data_dir, smoke=True,
                                   overrides=list(overrides))


@pytest.fixture(scope="module")
def decay_config(data_000):
    """Smoke-size 000_mtl (class-weighted) over 3 epochs with a halving learning rate."""
    return training.resolve_config("000_mtl", data_dir=data_000, overrides=[
        "shuffle=false,epochs=3,max_steps_per_epoch=2,batch_size=8,"
        "model.trunk.params.units=[8]",
        "optimizer.schedule={type: step_decay, every_epochs: 1, factor: 0.5}"])


@pytest.fixture(scope="module")
def straight_run(decay_config, tmp_path_factory):
    """The custom loop on one device, uninterrupted: (model_dir, history)."""
    model_dir = str(tmp_path_factory.mktemp("straight"))
    history = training.CustomLoopTrainer(training.EmotionTask(decay_config),
                                         model_dir).train()
    return model_dir, history


def test_custom_loop_matches_keras_fit(decay_config, straight_run):
    # Default strategy: the same model, loss objects, loss weights, class weights,
    # optimizer, schedule and batches as Keras' fit give the same figures.
    task = training.EmotionTask(decay_config)
    runtime.set_seeds(decay_config.seed)
    model = task.build_model()
    model.compile(optimizer=runtime.build_optimizer(decay_config.optimizer),
                  **task.compile_kwargs())
    fit = model.fit(task.build_dataset("train"), validation_data=task.build_dataset("dev"),
                    epochs=decay_config.epochs, verbose=0, shuffle=False,
                    callbacks=[LearningRateLogger(decay_config.optimizer)])
    loop = straight_run[1]
    # (fit averages per-head validation losses over batches unweighted.)
    for key in ("loss", "emotion_loss", "secondary_loss", "val_loss", "learning_rate"):
        assert loop[key] == pytest.approx(fit.history[key], rel=1e-5), key


def test_custom_loop_writes_the_run_files(decay_config, straight_run):
    model_dir = straight_run[0]
    entries = training.read_history(model_dir)
    assert [e["epoch"] for e in entries] == [0, 1, 2]
    assert set(KEYS) <= set(entries[0])
    assert entries[2]["learning_rate"] == pytest.approx(entries[0]["learning_rate"] / 4)
    assert training.load_params(model_dir) == decay_config
    for name in ("best.keras", "last.keras"):
        restored = keras.saving.load_model(os.path.join(model_dir, "checkpoints", name))
        assert sorted(restored.output) == ["emotion", "secondary"]
    assert not os.path.exists(os.path.join(model_dir, "backup"))  # removed at the end
    assert {"epoch_loss", "epoch_emotion_loss", "epoch_learning_rate"} <= _tags(
        os.path.join(model_dir, "logs", "train"))
    assert {"epoch_loss", "epoch_secondary_loss"} <= _tags(
        os.path.join(model_dir, "logs", "validation"))


def _tags(log_dir):
    tags = set()
    for name in os.listdir(log_dir):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(log_dir, name)):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_a_killed_run_resumes_at_the_next_epoch_with_optimizer_state(
        decay_config, straight_run, tmp_path):
    def kill_after_epoch_1(epoch, logs):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill")

    model_dir = str(tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        training.CustomLoopTrainer(training.EmotionTask(decay_config), model_dir,
                                   epoch_end_hooks=[kill_after_epoch_1]).train()
    assert [e["epoch"] for e in training.read_history(model_dir)] == [0, 1]
    assert os.listdir(os.path.join(model_dir, "backup"))
    history = training.CustomLoopTrainer(training.EmotionTask(decay_config),
                                         model_dir).train()
    assert len(history["loss"]) == 1  # only epoch 2 ran again
    resumed = training.read_history(model_dir)
    assert [e["epoch"] for e in resumed] == [0, 1, 2]
    assert not os.path.exists(os.path.join(model_dir, "backup"))
    # Weights, Adam's moments and the epoch counter (hence the schedule) were
    # restored: the same figures as the uninterrupted run.
    straight = training.read_history(straight_run[0])
    for key in KEYS:
        assert resumed[2][key] == pytest.approx(straight[2][key], rel=1e-5), key


def test_multi_worker_takes_no_keras_callbacks(data_000, tmp_path):
    config = _smoke_config(data_000)
    task = training.EmotionTask(config)
    with pytest.raises(ValueError, match="runs no Keras callbacks"):
        training.run_experiment(config, str(tmp_path / "run"), strategy="multi_worker",
                                callbacks=[keras.callbacks.Callback()])
    # Keras fit cannot train it: the fit trainer refuses and names the route that can.
    with pytest.raises(ValueError, match="CustomLoopTrainer"):
        training.Trainer(task, str(tmp_path / "run"), strategy="multi_worker").train()
    assert not (tmp_path / "run").exists()
    assert "multi_worker" in runtime.STRATEGIES
    with pytest.raises(ValueError, match="unknown strategy"):
        training.CustomLoopTrainer(task, str(tmp_path / "x"), strategy="tpu")


# ------------------------------------------------------------------ distributed runs


def _batch_size(data_dir):
    """A small batch size leaving a last batch of one example in some part (then one
    of two replicas gets an empty batch) when the counts allow, else 8."""
    counts = [data.count_examples(data_dir, 0, part) for part in ("train", "dev")]
    for size in range(6, 17):
        if any(count % size == 1 for count in counts):
            return size
    return 8


@pytest.fixture(scope="module")
def run_overrides(data_000):
    """Full passes (partial last batches), class weights on, no shuffling, tiny DNN."""
    return [f"shuffle=false,epochs=2,batch_size={_batch_size(data_000)},"
            "model.trunk.params.units=[8]"]


REFERENCE_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfser import training
    from tfser.training import custom_loop
    from tests.training.test_multi_worker import _loss_cases

    data_dir, out, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
    results = {"shares": {}}
    mirrored = training.get_strategy("mirrored")
    results["replicas"] = mirrored.num_replicas_in_sync

    # Each loss on a batch split unevenly (3 + 4, then 0 + 7) over the two replicas:
    # the summed shares and gradients must equal the one-device loss and gradient.
    for loss, y_true, y_pred, weights in _loss_cases(np.random.default_rng(1)):
        logits = np.log(np.clip(y_pred, 1e-3, None)).astype(np.float32)
        with mirrored.scope():
            shift = tf.Variable(tf.zeros(y_pred.shape[-1]))

        def predict(lo, hi):
            x = tf.constant(logits)[lo:hi] + shift
            return tf.exp(x) if loss.name != "mean_squared_error" else x

        def share(split):
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            lo = tf.where(replica == 0, 0, split)
            hi = tf.where(replica == 0, split, len(logits))
            with tf.GradientTape() as tape:
                value = custom_loop.replica_loss(loss, tf.constant(y_true)[lo:hi],
                                                 predict(lo, hi),
                                                 tf.constant(weights)[lo:hi])
            return value, tape.gradient(value, shift)

        @tf.function
        def distributed(split):
            per_replica = mirrored.run(share, args=(split,))
            return [mirrored.reduce("SUM", v, axis=None) for v in per_replica]

        with tf.GradientTape() as tape:
            expected = loss(y_true, predict(0, len(logits)), sample_weight=weights)
        gradient = tape.gradient(expected, shift)
        for split in (3, 0):
            value, grad = distributed(tf.constant(split))
            results["shares"][f"{loss.name}/{split}"] = [
                float(value), float(expected),
                float(np.max(np.abs(grad.numpy() - gradient.numpy()))),
                float(np.max(np.abs(gradient.numpy())))]

    for strategy in ("default", "mirrored"):
        config = training.resolve_config("000_mtl", data_dir=data_dir,
                                         overrides=overrides)
        model_dir = f"{out}/{strategy}"
        training.CustomLoopTrainer(training.EmotionTask(config), model_dir,
                                   strategy, verbose=False).train()
        results[strategy] = training.read_history(model_dir)
    print("RESULT" + json.dumps(results))
""")


@pytest.fixture(scope="module")
def reference(data_000, run_overrides, tmp_path_factory):
    """Loss shares under mirrored, and the custom loop on one device and mirrored."""
    out = tmp_path_factory.mktemp("reference")
    done = subprocess.run([sys.executable, "-c", REFERENCE_SCRIPT, data_000, str(out),
                           *run_overrides], capture_output=True, text=True, cwd=ROOT,
                          env=_env(), timeout=TIMEOUT)
    assert done.returncode == 0, _tail(done.stderr)
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def test_replica_shares_sum_to_the_one_device_loss_and_gradient(reference):
    assert reference["replicas"] == 2
    assert len(reference["shares"]) == 12
    for case, (value, expected, grad_error, grad_scale) in reference["shares"].items():
        assert value == pytest.approx(expected, rel=1e-5, abs=1e-6), case
        assert grad_error <= 1e-5 * max(grad_scale, 1.0), case


def _assert_same_history(got, expected):
    assert [e["epoch"] for e in got] == [e["epoch"] for e in expected] == [0, 1]
    for a, b in zip(expected, got):
        for key in KEYS:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), key


def test_custom_loop_on_two_logical_cpus_matches_one_device(reference):
    # Class-weighted (non-uniform weights) and with partial last batches: the global
    # weighted mean keeps mirrored equal to one device, unlike per-replica averaging.
    _assert_same_history(reference["mirrored"], reference["default"])


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _stop(processes):
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait()


def test_two_worker_processes_match_one_worker(data_000, run_overrides, reference,
                                               tmp_path):
    model_dir = tmp_path / "run"
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    processes, logs = [], []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers},
                                       "task": {"type": "worker", "index": index}})
        log = open(tmp_path / f"worker{index}.log", "w+", encoding="utf-8")
        logs.append(log)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "pipelines.train", "--experiment=000_mtl",
             f"--model_dir={model_dir}", f"--data_dir={data_000}", "--strategy=multi_worker",
             *[f"--params_override={o}" for o in run_overrides]],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))  # its own process group, killed as one
    deadline = time.monotonic() + TIMEOUT
    try:
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            if any(p.poll() not in (None, 0) for p in processes):
                break  # one failed: its peer would wait for it forever
            time.sleep(0.2)
        codes = [p.poll() for p in processes]
    finally:
        _stop(processes)
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read())
        log.close()
    report = "\n".join(f"--- worker {i} (exit {c}):\n{_tail(o)}"
                       for i, (c, o) in enumerate(zip(codes, outputs)))
    assert codes == [0, 0], report
    assert "2 replica(s)" in outputs[0], report
    _assert_same_history(training.read_history(str(model_dir)), reference["default"])
    assert training.load_params(str(model_dir)).batch_size == _batch_size(data_000)
    for name in ("best.keras", "last.keras"):
        assert os.path.exists(model_dir / "checkpoints" / name)
    assert not os.path.exists(model_dir / "backup")
    # Only the chief wrote into model_dir; the other worker cleaned up its own files.
    assert sorted(os.listdir(model_dir)) == ["checkpoints", "history.json", "logs",
                                             "params.yaml", "run.json"]
    assert json.loads((model_dir / "run.json").read_text())["finished"] is True
