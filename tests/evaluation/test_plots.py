"""PNG writers produce non-empty PNG files."""

import pathlib

import numpy as np

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
