"""PNG writers produce non-empty PNG files."""

import pathlib

import numpy as np
import pytest

from tfser.evaluation import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_confusion_and_recall_pngs(tmp_path):
    classes = ["angry", "happy", "sad"]
    counts = np.array([[5, 1, 0], [2, 3, 1], [0, 0, 0]])
    cm_path = plots.plot_confusion_matrix(counts, classes, str(tmp_path / "fig" / "cm.png"),
                                          title="toy")
    bar_path = plots.plot_per_class_recall([5 / 6, 0.5, np.nan], classes,
                                           str(tmp_path / "recall.png"), reference=1 / 3)
    for path in (cm_path, bar_path):
        data = pathlib.Path(path).read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_attention_comparison_png(tmp_path):
    rng = np.random.default_rng(0)
    utterances = [{"utt_id": f"u{i}", "frames": rng.normal(size=(40 + i, 6)), "label": "sad",
                   "models": {"hard": {"weights": [np.full(3, 1 / 3)], "predicted": "sad"},
                              "fused": {"weights": [np.full(3, 1 / 3), [0.5, 0.5, 0.0]],
                                        "predicted": "angry"}}} for i in range(2)]
    path = plots.plot_attention_comparison(utterances, str(tmp_path / "a" / "att.png"))
    assert pathlib.Path(path).read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="at least one utterance"):
        plots.plot_attention_comparison([], str(tmp_path / "b.png"))
    with pytest.raises(ValueError, match="u9 has no model weights"):
        plots.plot_attention_comparison([{"utt_id": "u9", "frames": np.zeros((4, 2)),
                                          "models": {}}], str(tmp_path / "c.png"))
