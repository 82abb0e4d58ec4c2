"""TensorBoard summaries: confusion images, attention plots, config text, HParams."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.plugins.hparams import plugin_data_pb2

from tfser import training
from tfser.training import figures, hparams, image_summaries

CONFUSION_SHAPE = (round(figures.CONFUSION_FIGSIZE[1] * figures.FIGURE_DPI),
                   round(figures.CONFUSION_FIGSIZE[0] * figures.FIGURE_DPI), 3)
ATTENTION_SHAPE = (round(figures.ATTENTION_FIGSIZE[1] * figures.FIGURE_DPI),
                   round(figures.ATTENTION_FIGSIZE[0] * figures.FIGURE_DPI), 3)


def _read_events(log_dir):
    """``[(step, tag, plugin, value)]`` of every event file directly in ``log_dir``.

    Images come decoded (``[H, W, C]`` uint8), text as str, HParams session starts as
    ``{name: value}``, scalars as float.
    """
    out = []
    for path in sorted(glob.glob(os.path.join(log_dir, "events.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                tensor = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                if plugin == "images":
                    decoded = tf.io.decode_png(tensor[2]).numpy()
                elif plugin == "text":
                    decoded = tensor.item().decode()
                elif plugin == "hparams":
                    data = plugin_data_pb2.HParamsPluginData.FromString(
                        value.metadata.plugin_data.content)
                    decoded = {name: getattr(item, item.WhichOneof("kind"))
                               for name, item in data.session_start_info.hparams.items()}
                elif plugin == "scalars":
                    decoded = float(tensor)
                else:
                    continue
                out.append((event.step, value.tag, plugin, decoded))
    return out


def _train(experiment, data_dir, model_dir, overrides=(), **kwargs):
    config = training.resolve_config(experiment, data_dir=data_dir, smoke=True,
                                     overrides=list(overrides))
    trainer = training.Trainer(training.EmotionTask(config), model_dir, **kwargs)
    trainer.train()
    return trainer


def test_confusion_counts_of_a_hand_made_batch():
    labels = [0, 0, 1, 2, 2, 2, 1, 0]
    predicted = [0, 1, 1, 2, 0, 2, 1, 2]
    weights = [1, 1, 1, 1, 1, 0.5, 0, 0]  # the last two are unlabelled
    expected = np.array([[1, 1, 0],
                         [0, 1, 0],
                         [1, 0, 2]])
    counts = figures.confusion_counts(labels, predicted, 3, weights)
    np.testing.assert_array_equal(counts, expected)
    assert counts.dtype == np.int64
    np.testing.assert_allclose(figures.row_normalise([[1, 3], [0, 0]]),
                               [[0.25, 0.75], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"y_true\[0\]=3 is not a class index in \[0, 3\)"):
        figures.confusion_counts([3], [0], 3)
    # An out-of-range placeholder of an unlabelled example is not counted.
    assert figures.confusion_counts([-1, 1], [0, 1], 2, [0, 1]).sum() == 1
    image = figures.figure_to_image(figures.confusion_figure(expected, ["a", "b", "c"]))
    assert image.shape == CONFUSION_SHAPE and image.dtype == np.uint8


def test_hparams_are_plain_scalars_and_metrics_come_from_the_best_epoch():
    config = training.resolve_config(
        "001_hard", smoke=True, overrides=["optimizer.weight_decay=0.01"])
    flat = hparams.flatten_hparams(config, ["logspec_001"], fold_name="S01M")
    assert all(isinstance(value, (bool, int, float, str)) for value in flat.values())
    assert flat["optimizer.learning_rate"] == pytest.approx(5e-4)
    assert flat["optimizer.weight_decay"] == pytest.approx(0.01)
    assert flat["model.trunk"] == "cnn_blstm_attention"
    assert flat["model.trunk.filters"] == "[2,2,2]"  # smoke sizes, as compact JSON
    assert flat["model.head.emotion.hidden"] == "[4]"
    assert (flat["fold"], flat["fold_name"], flat["features"]) == ("0", "S01M", "logspec_001")
    epochs = [{"epoch": 0, "val_loss": 2.0, "val_ua": 0.3, "loss": 2.5},
              {"epoch": 1, "val_loss": 1.5, "val_ua": 0.4, "loss": 2.0},
              {"epoch": 2, "val_loss": 1.7, "val_ua": 0.5, "loss": 1.8}]
    assert hparams.best_epoch_metrics(epochs, "emotion", single_head=True) == {
        "best_val_loss": 1.5, "best_epoch": 1.0, "val_emotion_loss": 1.5,
        "val_emotion_ua": 0.4}
    multi = [{"epoch": 0, "val_loss": 1.0, "val_emotion_ua": 0.3, "val_secondary_loss": 2.0}]
    assert hparams.best_epoch_metrics(multi, "emotion") == {
        "best_val_loss": 1.0, "best_epoch": 0.0, "val_emotion_ua": 0.3}
    assert hparams.best_epoch_metrics([{"epoch": 0, "loss": 1.0}], "emotion") == {}


def test_mtl_run_logs_config_hparams_and_confusion_matrices(data_000, tmp_path):
    model_dir = str(tmp_path / "000_mtl")
    trainer = _train("000_mtl", data_000, model_dir)
    logs = os.path.join(model_dir, "logs")

    top = _read_events(logs)
    texts = [value for _, tag, plugin, value in top if tag == "config"]
    assert len(texts) == 1 and "name: 000_mtl" in texts[0] and texts[0].count("```") == 2
    sessions = [value for _, _, plugin, value in top if plugin == "hparams"]
    assert len(sessions) == 1
    hparams = sessions[0]
    assert hparams["optimizer.learning_rate"] == pytest.approx(1e-3)
    assert hparams["model.heads"] == "emotion,secondary"
    assert hparams["model.head.secondary.loss_weight"] == pytest.approx(0.56)
    assert hparams["experiment"] == "000_mtl" and hparams["smoke"] is True
    metrics = {tag: value for _, tag, plugin, value in top if plugin == "scalars"}
    history = training.read_history(model_dir)
    best = min(history, key=lambda entry: entry["val_loss"])
    assert metrics["hparams/best_val_loss"] == pytest.approx(best["val_loss"])
    assert metrics["hparams/val_emotion_ua"] == pytest.approx(best["val_emotion_ua"])
    assert "hparams/val_secondary_loss" not in metrics  # the main head only

    validation = _read_events(os.path.join(logs, "validation"))
    images = {(step, tag): value for step, tag, plugin, value in validation
              if plugin == "images"}
    assert sorted(images) == [(0, "confusion/emotion"), (1, "confusion/emotion")]
    image = images[(1, "confusion/emotion")]
    assert image.shape == CONFUSION_SHAPE and image.std() > 10  # drawn, not blank

    # The matrix counts every labelled dev example once, with the trained model.
    task = trainer.task
    dev = task.build_dataset("dev")
    callback = image_summaries.ConfusionMatrixImages(dev, image_summaries.class_index_heads(task),
                                               str(tmp_path / "unused"))
    callback.set_model(trainer.model)
    counts = callback.compute_counts()
    assert list(counts) == ["emotion"] and counts["emotion"].shape == (8, 8)
    labelled = sum(int(np.sum(weights["emotion"].numpy() > 0)) for _, _, weights in dev)
    assert counts["emotion"].sum() == labelled > 0

    # The dnn trunk has no attention: the plots are a no-op.
    attention = image_summaries.AttentionPlots(dev, str(tmp_path / "attention"))
    attention.set_model(trainer.model)
    attention.on_train_begin()
    attention.on_epoch_end(0)
    attention.on_train_end()
    assert not attention.enabled and not os.path.exists(tmp_path / "attention")
    assert not any(tag.startswith("attention/") for _, tag, _, _ in validation)


def test_attention_run_plots_fixed_dev_examples(data_001, tmp_path):
    model_dir = str(tmp_path / "001_hard")
    _train("001_hard", data_001, model_dir, attention_examples=2)
    validation = _read_events(os.path.join(model_dir, "logs", "validation"))
    images = {(step, tag): value for step, tag, plugin, value in validation
              if plugin == "images"}
    expected = {(step, tag) for step in (0, 1)
                for tag in ("confusion/emotion", "attention/0", "attention/1")}
    assert set(images) == expected
    for (_, tag), image in images.items():
        shape = ATTENTION_SHAPE if tag.startswith("attention/") else CONFUSION_SHAPE
        assert image.shape == shape and image.std() > 10, tag
    top = _read_events(os.path.join(model_dir, "logs"))
    hparams = [value for _, _, plugin, value in top if plugin == "hparams"][0]
    assert hparams["model.trunk"] == "cnn_blstm_attention"
    assert hparams["optimizer.learning_rate"] == pytest.approx(5e-4)
    assert "hparams/val_emotion_ua" in {tag for _, tag, _, _ in top}


def test_the_old_summaries_module_still_answers_with_a_deprecation_warning():
    import importlib
    import sys

    sys.modules.pop("tfser.training.summaries", None)
    with pytest.warns(DeprecationWarning, match="tfser.training.summaries was split"):
        old = importlib.import_module("tfser.training.summaries")
    assert old.flatten_hparams is hparams.flatten_hparams
    assert old.ConfusionMatrixImages is image_summaries.ConfusionMatrixImages
    assert old.confusion_figure is figures.confusion_figure
    from tfser.training import callbacks, custom_loop, runtime, trainer
    assert old.build_summary_callbacks is callbacks.build_summary_callbacks
    # Names that left trainer.py and custom_loop.py are still found there.
    assert trainer.get_strategy is runtime.get_strategy
    assert trainer.HistoryWriter is callbacks.HistoryWriter
    assert custom_loop.worker_role is runtime.worker_role


def test_a_precomputed_fusion_logs_the_same_images(data_001, tmp_path):
    # Fit trains only the heads on stored embeddings; the confusion matrices predict
    # those with the heads, the attention plots run the whole model on the raw data.
    first = str(tmp_path / "001_hard")
    _train("001_hard", data_001, first)
    model_dir = str(tmp_path / "fused")
    trainer = _train("001_hard", data_001, model_dir, attention_examples=2, overrides=[
        f"model.trunk={{init_from: {first}, freeze: true, precompute: true}}"])
    assert trainer.fit_model is not trainer.model
    validation = _read_events(os.path.join(model_dir, "logs", "validation"))
    images = {(step, tag): value for step, tag, plugin, value in validation
              if plugin == "images"}
    assert set(images) == {(step, tag) for step in (0, 1)
                           for tag in ("confusion/emotion", "attention/0", "attention/1")}
    for (_, tag), image in images.items():
        assert image.std() > 10, tag
