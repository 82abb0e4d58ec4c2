"""The real EmoDB part in ../shared/corpora (skipped when absent): 243 utterances, LOSO."""

import os
import pathlib
import subprocess
import sys

import pytest

from tfser import annotations
from tfser import beam as tfser_beam
from tfser import corpora

from tests.beam.helpers import config_path, decode_files

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]
EMODB = PROJECT_ROOT.parent / "shared" / "corpora" / "emodb-part"

pytestmark = pytest.mark.skipif(not EMODB.is_dir(), reason=f"{EMODB} is not available")


@pytest.fixture(scope="module")
def emodb_table(tmp_path_factory):
    table = corpora.load_corpus("emodb", str(EMODB)).table
    return annotations.save_table(table, str(tmp_path_factory.mktemp("emodb") / "table"))


def test_emodb_functionals_loso(emodb_table, tmp_path):
    config = tfser_beam.load_config(config_path("emodb.yaml"),
                                    ["feature_sets=[egemaps_functionals]"])
    result = tfser_beam.build_pipeline(config, emodb_table, str(tmp_path / "out"))
    counts = result.counts
    assert counts["in"] == counts["written"] == 243 and counts["rejected"] == 0
    info = result.info
    assert len(info["split"]["folds"]) == 5
    assert len(info["groups"]) == 5
    assert info["label_metadata"]["emotion"]["classes"] == [
        "angry", "boredom", "disgust", "fear", "happy", "sad", "neutral"]
    fold = info["split"]["folds"][0]
    test = decode_files(tfser_beam.fold_files(info, result.out_dir, part="test"), info)
    assert len(test) == fold["test"]["written"]
    assert all(e["weights"]["emotion"] == 1.0 for e in test)   # the acted label always exists
    assert info["normalisation"]["global"][fold["name"]]["egemaps_functionals"]["count"] == \
        fold["train"]["written"]


@pytest.mark.slow
def test_emodb_config_as_shipped_with_two_workers(emodb_table, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.featurize", f"--config={config_path('emodb.yaml')}",
         f"--table={emodb_table}", f"--out={out}", "--direct_num_workers=2"],
        cwd=str(PROJECT_ROOT), capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "in 243 = written 243 + rejected 0" in done.stdout
    info = tfser_beam.read_info(str(out))
    assert [f["name"] for f in info["features"]] == ["egemaps_functionals", "logspec_001"]
