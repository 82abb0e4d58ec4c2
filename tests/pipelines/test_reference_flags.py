"""--reference of tfser-evaluate and tfser-compare (the library side is tested in
tests/evaluation/test_reference*.py)."""

import json

from pipelines import compare as compare_binary
from pipelines import evaluate as evaluate_binary
from tfser import evaluation
from tfser.evaluation import compare
from tfser.evaluation import report

from tests.evaluation.test_reference import EXISTS, SOFT, _write_eval


def test_tfser_compare_takes_the_reference_flag(tmp_path, capsys):
    soft = _write_eval(str(tmp_path), "soft", {"emotion_soft": SOFT})
    mlee = _write_eval(str(tmp_path), "mlee_only", {"emotion_exists": EXISTS})
    out = tmp_path / "cmp"
    compare_binary.BINARY.invoke(["tfser-compare", f"--out={out}", "--reference=emotion",
                                  soft, mlee])
    stored = json.loads((out / compare.COMPARISON_JSON).read_text(encoding="utf-8"))
    assert stored["reference"] == "emotion"
    assert [r["metrics"]["wa"] for r in stored["rows"]] == [0.75, 0.5]
    assert "against reference `emotion`" in capsys.readouterr().out


def test_tfser_evaluate_takes_the_reference_flag(cv_run, tmp_path, capsys):
    run_dir = evaluation.evaluate.find_runs(cv_run[0])[1][0]
    out = tmp_path / "eval"
    evaluate_binary.BINARY.invoke(["tfser-evaluate", f"--model_dir={run_dir}",
                                   f"--out={out}", "--reference=emotion"])
    printed = capsys.readouterr().out
    assert "vs emotion WA" in printed and "vs emotion UA" in printed
    stored = json.loads((out / report.METRICS_FILE).read_text(encoding="utf-8"))
    assert stored["command"].endswith("--reference=emotion")
    assert "vs_emotion" in stored["heads"]["emotion_soft"]["pooled"]
