"""The EmoDB recipe on the real EmoDB part (opt-in: ``make test-all``; ~3 min).

The issue's target, checked where ``../shared/corpora/emodb-part`` exists: the row
selected on development speakers beats the classic eGeMAPS + linear SVM baseline by at
least 8 UA points, pooled over the leave-one-speaker-out folds.
"""

import os
import pathlib

import pytest

from tfser import corpora
from tfser.annotations import io as table_io
from tfser.recipes import runner

ROOT = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "emodb-part"


@pytest.mark.slow
@pytest.mark.skipif(not ROOT.is_dir(), reason=f"real EmoDB part not available at {ROOT}")
def test_selected_row_beats_the_classic_baseline_by_8_ua_points(tmp_path):
    table_dir = str(tmp_path / "emodb")
    table_io.save_table(corpora.load_corpus("emodb", str(ROOT)).table, table_dir)
    results = runner.reproduce("emodb", str(tmp_path / "out"), table=table_dir, workers=2)
    rows = {row["name"]: row for row in results["rows"]}
    assert len(results["folds"]) == 5
    baseline, selected = rows["svm_egemaps"]["metrics"]["ua"], rows["selected"]["metrics"]["ua"]
    assert selected >= baseline + 0.08, (selected, baseline)
    assert results["human"]["metrics"]["ua"] > 0.8
    assert os.path.isfile(os.path.join(str(tmp_path / "out"), "results.md"))
