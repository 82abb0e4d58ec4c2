"""tfser-annotate: in-process on fixtures, as a subprocess on the EmoDB fixture and real part."""

import dataclasses
import os
import io
import json
import pathlib
import subprocess
import sys

import pandas as pd
import pytest

from tfser.labels import annotate as cli
from tfser.annotations import io as table_io
from tfser.corpora import crema_d
from tfser.testing.fixtures import crema_d as crema_fixture
from tfser.testing.fixtures import emodb as emodb_fixture

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]
REAL_EMODB = PROJECT_ROOT.parent / "shared" / "corpora" / "emodb-part"


def _annotate(*args, **kwargs):
    out = io.StringIO()
    status = cli.annotate(*args, out=out, **kwargs)
    return status, out.getvalue()


def test_emodb_fixture_in_process(tmp_path):
    corpus = emodb_fixture.write(str(tmp_path / "emodb"))
    out_dir = tmp_path / "out"
    status, text = _annotate("emodb", corpus["root"], str(out_dir))
    assert status == 0
    assert "items found = written + rejected: 11 = 8 + 3" in text
    table = table_io.load_table(str(out_dir))
    assert len(table.utterances) == 8
    rejects = pd.read_csv(out_dir / "rejects.csv")
    assert list(rejects.columns) == ["item", "reason", "source"]
    assert len(rejects) == 3
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["per_speaker"] == {"emodb:03": 4, "emodb:08": 3, "emodb:16": 1}
    assert summary["per_split"] == {"(none)": 8}
    assert summary["raw_votes"]["intended"]["angry"] == 2
    assert summary["plurality"]["intended"]["angry"] == 2
    assert "fewer than 2 ratings" in summary["agreement"]["intended"]["fleiss_kappa"]
    assert not (out_dir / cli.AUDIO_REPORT_FILE).exists()


def test_emodb_audio_check_uses_loader_findings(tmp_path):
    corpus = emodb_fixture.write(str(tmp_path / "emodb"))
    status, text = _annotate("emodb", corpus["root"], str(tmp_path / "out"),
                             audio_check=True, options={"min_duration_s": 0.5})
    assert status == 0
    report = pd.read_csv(tmp_path / "out" / cli.AUDIO_REPORT_FILE)
    assert sorted(report["utt_id"]) == ["03a01Wa", "16b09Wa"]      # 0.45 s and 0.40 s
    assert "audio problems: 2" in text


def test_crema_d_responses_and_agreement(tmp_path):
    corpus = crema_fixture.write(str(tmp_path / "crema"))
    status, text = _annotate("crema_d", corpus["root"], str(tmp_path / "out"),
                             audio_check=True)
    assert status == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["agreement"]) == {"crowd / voice", "crowd / face",
                                         "crowd / audiovisual"}
    voice = summary["agreement"]["crowd / voice"]
    assert isinstance(voice["fleiss_kappa"], float)
    assert isinstance(voice["krippendorff_alpha"], float)   # real rater ids
    assert isinstance(voice["krippendorff_alpha/intensity"], float)
    assert summary["plurality"]["crowd / voice"]["(tie)"] == 1
    report = pd.read_csv(tmp_path / "out" / cli.AUDIO_REPORT_FILE)
    assert set(report["utt_id"]) == set(corpus["audio_problems"])
    assert "items found = written + rejected: 12 = 6 + 6" in text


def test_crema_d_votes_skip_alpha(tmp_path):
    corpus = crema_fixture.write(str(tmp_path / "crema"), responses=False)
    status, _ = _annotate("crema_d", corpus["root"], str(tmp_path / "out"),
                          options={"ratings": "votes"})
    assert status == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    alpha = summary["agreement"]["crowd / voice"]["krippendorff_alpha"]
    assert "anonymous votes" in alpha


def test_generic_audio_report(tmp_path):
    corpus = crema_fixture.write(str(tmp_path / "crema"))
    table = crema_d.load(corpus["root"]).table
    report = cli.audio_report(table, checked_by_loader=False).set_index("utt_id")
    for utt_id, expected in corpus["audio_problems"].items():
        assert expected in report.loc[utt_id, "problem"]
    assert len(report) == 3


def test_count_mismatch_exits_non_zero_and_still_writes_rejects(tmp_path, monkeypatch):
    corpus = emodb_fixture.write(str(tmp_path / "emodb"))
    real_load = cli.load

    def broken_load(*args, **kwargs):
        result, checked = real_load(*args, **kwargs)
        return dataclasses.replace(result, items_found=result.items_found + 1), checked

    monkeypatch.setattr(cli, "load", broken_load)
    status, text = _annotate("emodb", corpus["root"], str(tmp_path / "out"))
    assert status == 1
    assert "items found = written + rejected: 12 != 8 + 3" in text
    assert (tmp_path / "out" / "rejects.csv").exists()


def test_unreadable_corpus_exits_2(tmp_path, capsys):
    status, _ = _annotate("emodb", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert status == 2
    assert "cannot load emodb" in capsys.readouterr().err


def test_parse_options():
    assert cli.parse_options(["ratings=votes", "require_audio=true", "x=[1, 2]",
                              "manifest=my.csv"]) == {
        "ratings": "votes", "require_audio": True, "x": [1, 2], "manifest": "my.csv"}
    with pytest.raises(ValueError, match="not key=value"):
        cli.parse_options(["novalue"])


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pipelines.build_annotations", *args],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)


def test_cli_subprocess_on_fixture(tmp_path):
    corpus = emodb_fixture.write(str(tmp_path / "emodb"))
    proc = _run_cli("--corpus=emodb", f"--root={corpus['root']}", f"--out={tmp_path / 'o'}")
    assert proc.returncode == 0, proc.stderr
    assert "items found = written + rejected: 11 = 8 + 3" in proc.stdout
    proc = _run_cli("--corpus=emodb", f"--root={corpus['root']}", f"--out={tmp_path / 'o'}",
                    "--option=broken")
    assert proc.returncode != 0
    assert "not key=value" in proc.stderr


def test_cli_empty_root_exits_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _run_cli("--corpus=emodb", f"--root={empty}", f"--out={tmp_path / 'o'}")
    assert proc.returncode == 2, proc.stdout
    assert f"no utterances found in {empty}" in proc.stderr
    assert "03a01Fa.wav" in proc.stderr                 # what the loader looked for
    assert not (tmp_path / "o" / "utterances.parquet").exists()


def test_cli_option_typo_and_bad_type_exit_2(tmp_path):
    corpus = emodb_fixture.write(str(tmp_path / "emodb"))
    common = ("--corpus=emodb", f"--root={corpus['root']}", f"--out={tmp_path / 'o'}")
    proc = _run_cli(*common, "--option=min_duraton_s=0.5")
    assert proc.returncode == 2
    assert ("unknown option 'min_duraton_s' for corpus emodb; did you mean 'min_duration_s'? "
            "options: perception_file, audio_check, min_duration_s") in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _run_cli(*common, "--option=min_duration_s=abc")
    assert proc.returncode == 2
    assert "option min_duration_s of emodb must be a number, got 'abc'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(not REAL_EMODB.is_dir(),
                    reason=f"real EmoDB part not available at {REAL_EMODB}")
def test_cli_on_real_emodb_part(tmp_path):
    proc = _run_cli("--corpus=emodb", f"--root={REAL_EMODB}", f"--out={tmp_path / 'o'}")
    assert proc.returncode == 0, proc.stderr
    assert "items found = written + rejected: 243 = 243 + 0" in proc.stdout
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["utterances"] == 243 and summary["speakers"] == 5
    assert len(summary["per_intended_label"]) == 7
    assert len(summary["plurality"]["intended"]) == 7
    test = summary["listener_test"]
    assert test["attached"] == 243 and len(test["mean_recognition_pct_by_label"]) == 7
    # EmoDB released only utterances recognised by at least 80 % of the listeners.
    assert test["min_recognition_pct"] >= 80.0
    assert "listener test attached to 243 of 243 utterances" in proc.stdout


def test_sewa_traces_are_written_beside_the_table(tmp_path):
    from tfser.annotations import load_table
    from tfser.testing.fixtures import sewa as sewa_fixture
    root, out = tmp_path / "sewa", tmp_path / "out"
    sewa_fixture.write(str(root))
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        assert cli.annotate("sewa", str(root), str(out), out=devnull) == 0
    table = load_table(str(out))
    assert len(table.traces) > 0
    assert not any(os.path.isabs(p) for p in table.traces["path"])
    assert table.load_trace(0).shape[0] == table.traces.iloc[0]["num_frames"]
