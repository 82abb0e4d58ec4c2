"""Scoring heads against a reference hard label (paper 001: soft and MLEE-only rows are
scored against the hard test label on the same utterances as the hard rows)."""

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from tfser.config.errors import UserError
from tfser.evaluation import compare
from tfser.evaluation import metrics as metrics_lib
from tfser.evaluation import report as report_lib
from tfser.evaluation.columns import HeadLayout

CLASSES = ("angry", "happy", "sad")
REFERENCE = HeadLayout(head="emotion", kind="hard", classes=CLASSES)
SOFT = HeadLayout(head="emotion_soft", kind="soft", classes=CLASSES)
EXISTS = HeadLayout(head="emotion_exists", kind="existence", classes=CLASSES)
SECONDARY = HeadLayout(head="secondary", kind="secondary", classes=CLASSES)

# Five test utterances; the reference labels the first four (the fifth has no dominant
# emotion). The soft and existence targets label all five.
REFERENCE_TARGETS = ["angry", "happy", "sad", "sad", None]
SOFT_PROBS = [[0.6, 0.3, 0.1],    # angry: right
              [0.5, 0.4, 0.1],    # angry: wrong (happy)
              [0.1, 0.2, 0.7],    # sad: right
              [0.2, 0.3, 0.5],    # sad: right
              [0.1, 0.1, 0.8]]    # not scored: the reference does not label it
EXISTS_SCORES = [[0.9, 0.8, 0.1],    # angry: right
                 [0.3, 0.6, 0.65],   # sad: wrong (happy)
                 [0.2, 0.1, 0.4],    # sad: right, though no score passes 0.5
                 [0.7, 0.2, 0.6],    # angry: wrong (sad)
                 [0.1, 0.9, 0.1]]
# Own targets whose top classes disagree with the reference, so that scoring against
# them would give other figures.
OWN_TARGETS = [[0.0, 1.0, 0.0]] * 5


def _frame():
    """A predictions table of a model with soft, existence and secondary heads but no
    head for the reference, whose target and mask columns are stored alone."""
    frame = pd.DataFrame({"utt_id": [f"u{i}" for i in range(5)], "speaker_id": "s",
                          "fold": ["f0", "f0", "f1", "f1", "f1"], "part": "test"})
    probs = np.array(SOFT_PROBS)
    for j, column in enumerate(SOFT.output_columns()):
        frame[column] = probs[:, j]
    frame[SOFT.pred_column()] = [CLASSES[i] for i in probs.argmax(axis=1)]
    for layout, outputs in ((EXISTS, EXISTS_SCORES), (SECONDARY, EXISTS_SCORES)):
        for j, column in enumerate(layout.output_columns()):
            frame[column] = np.array(outputs)[:, j]
    for layout in (SOFT, EXISTS, SECONDARY):
        for j, column in enumerate(layout.target_columns()):
            frame[column] = np.array(OWN_TARGETS)[:, j]
        frame[layout.labelled_column()] = True
    frame[REFERENCE.target_column()] = REFERENCE_TARGETS
    frame[REFERENCE.labelled_column()] = [t is not None for t in REFERENCE_TARGETS]
    return frame


LAYOUTS = {"emotion_soft": SOFT, "emotion_exists": EXISTS, "secondary": SECONDARY}


def test_soft_head_against_the_reference_by_hand():
    result = metrics_lib.compute_metrics(_frame(), LAYOUTS, reference=REFERENCE)
    assert result["reference"] == "emotion"
    block = result["heads"]["emotion_soft"]["pooled"]["vs_emotion"]
    # Four reference-labelled rows; three right; recall angry 1, happy 0, sad 1.
    assert block["num_samples"] == 4
    assert block["wa"] == pytest.approx(0.75)
    assert block["ua"] == pytest.approx(2 / 3)
    assert block["confusion"] == [[1, 0, 0], [1, 0, 0], [0, 0, 2]]
    assert block["cross_entropy"] == pytest.approx(
        -(math.log(0.6) + math.log(0.4) + math.log(0.7) + math.log(0.5)) / 4, rel=1e-5)
    # The soft head's own report is still against its own targets (all 'happy').
    assert result["heads"]["emotion_soft"]["pooled"]["argmax"]["wa"] == 0.0
    # Per fold: f0 has u0 (right) and u1 (wrong); f1 has u2, u3 (right), u4 unlabelled.
    per_fold = result["heads"]["emotion_soft"]["per_fold"]
    assert (per_fold["f0"]["vs_emotion"]["num_samples"], per_fold["f0"]["vs_emotion"]["wa"]) \
        == (2, 0.5)
    assert (per_fold["f1"]["vs_emotion"]["num_samples"], per_fold["f1"]["vs_emotion"]["wa"]) \
        == (2, 1.0)
    assert result["heads"]["emotion_soft"]["fold_mean"]["vs_emotion/wa"] == pytest.approx(0.75)


def test_existence_head_is_scored_by_its_argmax_against_the_reference():
    result = metrics_lib.compute_metrics(_frame(), LAYOUTS, reference=REFERENCE)
    block = result["heads"]["emotion_exists"]["pooled"]["vs_emotion"]
    # Decisions angry, sad, sad, angry against angry, happy, sad, sad.
    assert block["num_samples"] == 4
    assert block["wa"] == pytest.approx(0.5)
    assert block["ua"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert block["confusion"] == [[1, 0, 0], [0, 0, 1], [1, 0, 1]]
    assert "cross_entropy" not in block     # scores are not a distribution
    # Secondary heads give no single class: not scored against the reference.
    assert not any(k.startswith("vs_") for k in result["heads"]["secondary"]["pooled"])


def test_without_a_reference_the_metrics_are_unchanged():
    frame = _frame()
    plain = metrics_lib.compute_metrics(frame, LAYOUTS)
    assert "reference" not in plain
    for head in LAYOUTS:
        assert plain["heads"][head]["pooled"] == metrics_lib.head_metrics(frame, LAYOUTS[head])
        assert not any(k.startswith("vs_") for k in plain["heads"][head]["fold_mean"])


def test_classes_must_match_the_reference():
    swapped = HeadLayout(head="emotion_soft", kind="soft", classes=("happy", "angry", "sad"))
    with pytest.raises(ValueError, match=r"head 'emotion_soft' has classes \['happy', "
                                         r"'angry', 'sad'\] but reference 'emotion'.*same order"):
        metrics_lib.compute_metrics(_frame(), {"emotion_soft": swapped}, reference=REFERENCE)


def test_single_label_decisions_refuse_heads_without_one():
    assert list(EXISTS.single_label_decisions(_frame())) == [0, 2, 2, 0, 1]
    with pytest.raises(ValueError, match="'secondary' .secondary. gives no single class"):
        SECONDARY.single_label_decisions(_frame())


def test_summary_columns_show_the_reference_figures():
    result = metrics_lib.compute_metrics(_frame(), LAYOUTS, reference=REFERENCE)
    entry = result["heads"]["emotion_exists"]
    assert metrics_lib.scored_reference(entry) == "emotion"
    rows = report_lib.head_summary_rows(entry, EXISTS, include_folds=False)
    labels = [label for label, _ in metrics_lib.summary_columns(EXISTS, "emotion")]
    assert labels[-3:] == ["vs emotion n", "vs emotion WA", "vs emotion UA"]
    assert rows[0][-3:] == ["4", "0.500", "0.500"]


def _write_eval(root, name, layouts):
    """An evaluation directory as tfser-evaluate --reference=emotion writes it."""
    out = os.path.join(root, name)
    os.makedirs(out)
    frame = _frame()
    report_lib.write_predictions(frame, out)
    metrics = metrics_lib.compute_metrics(frame, layouts, reference=REFERENCE)
    metrics.update(run={"experiment": name},
                   layouts={h: layout.to_dict() for h, layout in layouts.items()},
                   reference_layout=REFERENCE.to_dict())
    with open(os.path.join(out, report_lib.METRICS_FILE), "w", encoding="utf-8") as handle:
        json.dump(report_lib.json_safe(metrics), handle)
    return out


def test_compare_scores_soft_and_mlee_only_rows_against_the_reference(tmp_path):
    soft = _write_eval(str(tmp_path), "soft", {"emotion_soft": SOFT})
    mlee = _write_eval(str(tmp_path), "mlee_only", {"emotion_exists": EXISTS})
    result = compare.compare([soft, mlee], out_dir=str(tmp_path / "cmp"),
                             reference="emotion")
    assert result["reference"] == "emotion"
    assert "--reference=emotion" in result["command"]
    rows = {r["name"]: r for r in result["rows"]}
    assert rows["soft"]["head"] == "emotion_soft" and rows["mlee_only"]["head"] == "emotion_exists"
    assert (rows["soft"]["n"], rows["soft"]["metrics"]["wa"]) == (4, 0.75)
    assert (rows["mlee_only"]["n"], rows["mlee_only"]["metrics"]["wa"]) == (4, 0.5)
    assert [f["n"] for f in rows["soft"]["per_fold"]] == [2, 2]
    # McNemar on the four shared reference-labelled utterances: soft alone is right on
    # u3, MLEE alone on none (both right on u0 and u2, both wrong on u1).
    pair = result["pairs"][0]
    assert (pair["a"], pair["b"]) == ("soft", "mlee_only")
    assert pair["mcnemar"]["n"] == 4 and pair["mcnemar"]["statistic"] == 1
    text = open(tmp_path / "cmp" / compare.COMPARISON_MD, encoding="utf-8").read()
    assert "against reference `emotion`" in text


def test_compare_with_a_reference_the_evaluations_lack(tmp_path):
    soft = _write_eval(str(tmp_path), "soft", {"emotion_soft": SOFT})
    mlee = _write_eval(str(tmp_path), "mlee_only", {"emotion_exists": EXISTS})
    with pytest.raises(UserError, match="soft has no head scored against reference 'arousal'"):
        compare.compare([soft, mlee], reference="arousal")
    with pytest.raises(UserError, match="re-run tfser-evaluate with --reference=arousal"):
        compare.compare([soft, mlee], head=["emotion_soft", "emotion_exists"],
                        reference="arousal")
    # Without a reference the existence head is still not comparable.
    with pytest.raises(UserError, match="share no categorical head"):
        compare.compare([soft, mlee])

