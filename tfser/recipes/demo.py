"""``make demo``: the whole tool end to end on the embedded synthetic corpus.

:func:`run_demo` runs eight stages, printing each one's progress and time; every
artefact stays under ``out_dir``::

    1 corpus     generate the synthetic corpus (reused when seed and size match) and
                 measure its raters (agreement, ties, human performance)  -> corpus/
    2 annotate   load it as a corpus into the unified table   -> annotations/
    3 featurize  paper 000's eGeMAPS functionals + primary/secondary labels on
                 Beam, official split (sessions 1-3 train, 4 dev, 5 test)
                                                              -> features/synthetic_000/
    4 train      000's MTL model (primary + secondary) and its Hard-label PE baseline
                                                              -> runs/<experiment>/
    5 evaluate   both on the held-out test speakers          -> eval/<experiment>/
    6 compare    the comparison table through tfser-compare (UA, WA, F1, z-test,
                 McNemar)                                     -> compare/, summary.md
    7 export     the MTL model as a SavedModel (version 1, as TF Serving expects)
                                                              -> export/000_mtl/1/
    8 predict    the export on one test WAV, then the same WAV through the
                 SavedModel in a fresh process that imports only openSMILE and
                 TensorFlow (examples/plain_tf_predict.py)    -> predictions.csv

Every number printed is also in ``summary.json``. ``smoke`` shrinks training to
seconds (for tests); the table is then meaningless.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List

import pandas as pd

from tfser import annotations
from tfser import beam as tfser_beam
from tfser import evaluation
from tfser import export
from tfser import training
from tfser.evaluation import compare as compare_lib
from tfser.evaluation import corpus_summary
from tfser.fileio import atomic
from tfser.labels import annotate
from tfser.recipes.stages import Stages

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FEATURIZE_CONFIG = os.path.join(REPO, "configs", "featurize", "synthetic_000.yaml")
PLAIN_TF_SCRIPT = os.path.join(REPO, "examples", "plain_tf_predict.py")
EXPERIMENTS = ("000_mtl", "000_hard_pe")
LABELS = {"000_mtl": "MTL (primary + secondary)", "000_hard_pe": "Hard-label PE"}
MAIN_HEAD = "emotion"
NUM_STAGES = 8


def stage_corpus(out_dir: str, seed: int, size: str, regenerate: bool,
                 command: str) -> Dict[str, Any]:
    """Stage 1: the corpus and what its raters say (corpus_summary.md / .json, figure)."""
    summary, paths = corpus_summary.corpus_stage(out_dir, seed, size, regenerate, command)
    agreement_figures, hp = summary["agreement"], summary["human_performance"]
    print(f"  {summary['corpus']['utterances']} utterances, {summary['corpus']['speakers']} "
          f"speakers; Fleiss' kappa {agreement_figures['fleiss_kappa']:.3f}; ties "
          f"{summary['no_plurality_share']:.1%}; human UA {hp['ua']:.3f} / F1 {hp['f1']:.3f}")
    print(f"  rater summary: {paths['markdown']}")
    return {"fleiss_kappa": agreement_figures["fleiss_kappa"],
            "no_plurality_share": summary["no_plurality_share"], "human_ua": hp["ua"],
            "human_f1": hp["f1"], "utterances": summary["corpus"]["utterances"]}


def stage_annotate(corpus_dir: str, out_dir: str) -> str:
    """Stage 2: the corpus as a unified annotation table with its rejects."""
    log = io.StringIO()
    status = annotate.annotate("synthetic", corpus_dir, out_dir, out=log)
    print(f"  {log.getvalue().strip().splitlines()[-1]}")
    if status:
        raise RuntimeError(f"tfser-annotate failed (status {status}):\n{log.getvalue()}")
    return out_dir


def stage_featurize(table_dir: str, out_dir: str, workers: int) -> str:
    """Stage 3: paper 000's features and labels on Beam (replacing an earlier run)."""
    config = tfser_beam.load_config(FEATURIZE_CONFIG)
    result = tfser_beam.build_pipeline(
        config, table_dir, out_dir, pipeline_options=[f"--direct_num_workers={workers}"],
        overwrite=True, log_every=100,
        created_by=f"tfser-featurize --config={FEATURIZE_CONFIG} --table={table_dir} "
                   f"--out={out_dir} --overwrite")
    for line in result.summary_lines():
        print(line)
    return out_dir


def stage_train(data_dir: str, runs_dir: str, smoke: bool) -> Dict[str, str]:
    """Stage 4: both experiments from scratch; returns experiment -> run directory."""
    run_dirs = {}
    for experiment in EXPERIMENTS:
        run_dir = os.path.join(runs_dir, experiment)
        # A fresh run each time: the demo measures a whole training, not a resume.
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"  training {experiment} -> {run_dir}", flush=True)
        started = time.perf_counter()
        config = training.resolve_config(experiment, data_dir=data_dir, smoke=smoke)
        training.Trainer(training.EmotionTask(config), run_dir).train()
        history = training.read_history(run_dir)
        best = min(history, key=lambda entry: entry["val_loss"])
        print(f"  {experiment}: {len(history)} epochs in {time.perf_counter() - started:.1f} s; "
              f"best val_loss {best['val_loss']:.4f} at epoch {best['epoch'] + 1}", flush=True)
        run_dirs[experiment] = run_dir
    return run_dirs


def stage_evaluate(run_dirs: Dict[str, str], eval_dir: str) -> Dict[str, Dict[str, Any]]:
    """Stage 5: each run on the test speakers; returns experiment -> metrics."""
    results = {}
    for experiment, run_dir in run_dirs.items():
        out = os.path.join(eval_dir, experiment)
        command = f"tfser-evaluate --model_dir={run_dir} --out={out} --part=test"
        results[experiment] = evaluation.evaluate_run(run_dir, out, part="test",
                                                      command=command)
        print(f"  {experiment}: report {os.path.join(out, 'report.md')}")
    return results


def comparison(eval_dir: str, out_dir: str) -> Dict[str, Any]:
    """UA / WA / F1 of both models on the test speakers with 000's z-test on WA and the
    exact McNemar test, through ``tfser-compare`` (files in ``out_dir``)."""
    names = list(EXPERIMENTS)
    result = compare_lib.compare([os.path.join(eval_dir, e) for e in names],
                                        out_dir=out_dir, head=MAIN_HEAD, names=names)
    rows = {row["name"]: {**row["metrics"], "count": row["n"]} for row in result["rows"]}
    pair = next(p for p in result["pairs"] if (p["a"], p["b"]) == ("000_mtl", "000_hard_pe"))
    # NaN (both always right or always wrong) is stored as None by tfser-compare.
    return {"rows": rows, "command": result["command"],
            "ztest_wa": {"z": pair["ztest_wa"]["z"], "p_value": pair["ztest_wa"]["p_value"]},
            "mcnemar": pair["mcnemar"]}


def comparison_markdown(table: Dict[str, Any], human_figures: Dict[str, Any]) -> List[str]:
    """The comparison as Markdown lines: one row per model, the human raters, the z-test."""
    lines = ["| model | UA | WA | F1 (000) | macro F1 | test utterances |",
             "|---|---|---|---|---|---|"]
    for experiment, row in table["rows"].items():
        lines.append(f"| {LABELS[experiment]} (`{experiment}`) | {row['ua']:.3f} | "
                     f"{row['wa']:.3f} | {row['f1']:.3f} | {row['macro_f1']:.3f} | "
                     f"{int(row['count'])} |")
    lines.append(f"| human raters (leave one out, whole corpus) | "
                 f"{human_figures['human_ua']:.3f} | - | {human_figures['human_f1']:.3f} | "
                 "- | - |")
    z = {key: math.nan if value is None else value
         for key, value in table["ztest_wa"].items()}
    lines += ["", f"One-tailed two-proportion z-test (paper 000) that MTL's WA is higher "
                  f"than PE's: z = {z['z']:.2f}, p = {z['p_value']:.3f}."]
    mcnemar = table.get("mcnemar")
    if mcnemar and mcnemar["p_value"] is not None:
        lines.append(f"Exact McNemar test on the same {mcnemar['n']} test utterances (paired): "
                     f"p = {mcnemar['p_value']:.3f}; `{table['command']}`.")
    return lines


def stage_export(run_dir: str, export_dir: str) -> str:
    """Stage 7: the SavedModel of ``run_dir`` (replacing an earlier export)."""
    path = export.export_saved_model(run_dir, export_dir, overwrite=True)
    print(f"  SavedModel: {path}  (inspect: saved_model_cli show --dir {path} --all)")
    return path


def pick_test_wav(table_dir: str, eval_dir: str) -> str:
    """The audio of the first utterance the evaluation scored (a featurized test file)."""
    scored = pd.read_parquet(os.path.join(eval_dir, "predictions.parquet"),
                             columns=["utt_id"])
    table = annotations.load_table(table_dir)
    utts = table.utterances.set_index("utt_id")
    return table.resolve_audio(utts.loc[scored["utt_id"].iloc[0], "audio_path"])


def stage_predict(export_dir: str, wav: str, out_path: str) -> Dict[str, Any]:
    """Stage 8: one WAV through the export here and in a plain TensorFlow process."""
    export.predict_files(export_dir, [wav], out_path)
    row = pd.read_csv(out_path).iloc[0]
    tfser_pred = str(row[f"{MAIN_HEAD}/pred"])
    print(f"  tfser-predict --model={export_dir} --inputs={wav} --out={out_path}")
    print(f"    {os.path.basename(wav)}: {MAIN_HEAD} = {tfser_pred}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    command = [sys.executable, PLAIN_TF_SCRIPT, f"--model={export_dir}", wav]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd="/",
                          timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"plain TensorFlow prediction failed:\n{done.stderr[-3000:]}")
    plain = json.loads(done.stdout.strip().splitlines()[-1])
    plain_probs = plain["outputs"][MAIN_HEAD]
    classes = plain["classes"][MAIN_HEAD]
    plain_pred = classes[max(range(len(plain_probs)), key=plain_probs.__getitem__)]
    tfser_probs = [float(row[f"{MAIN_HEAD}/p/{c}"]) for c in classes]
    gap = max(abs(a - b) for a, b in zip(plain_probs, tfser_probs))
    print(f"  python {os.path.relpath(PLAIN_TF_SCRIPT, REPO)} --model={export_dir} {wav}")
    print(f"    plain TensorFlow (tfser not imported): {MAIN_HEAD} = {plain_pred}; "
          f"largest probability gap to tfser-predict {gap:.2e}")
    if plain_pred != tfser_pred:
        raise RuntimeError(f"plain TensorFlow predicts {plain_pred}, tfser-predict "
                           f"{tfser_pred}")
    return {"wav": wav, "prediction": tfser_pred, "plain_tf_prediction": plain_pred,
            "max_probability_gap": gap}


def run_demo(out_dir: str, seed: int = 0, size: str = "default", regenerate: bool = False,
             smoke: bool = False, workers: int = 2) -> Dict[str, Any]:
    """Runs the eight stages; returns (and writes) the summary."""
    started = time.perf_counter()
    command = (f"tfser-demo --out={out_dir} --seed={seed} --size={size}"
               + (" --smoke" if smoke else ""))
    out_dir = os.path.abspath(out_dir)
    paths = {name: os.path.join(out_dir, name) for name in
             ("corpus", "annotations", "features", "runs", "eval", "export")}
    data_dir = os.path.join(paths["features"], "synthetic_000")
    stages = Stages(NUM_STAGES)
    corpus = stages.run("corpus", "synthetic corpus and its raters",
                        lambda: stage_corpus(out_dir, seed, size, regenerate, command))
    stages.run("annotate", "the corpus as a unified annotation table",
               lambda: stage_annotate(paths["corpus"], paths["annotations"]))
    stages.run("featurize", "eGeMAPS functionals + primary/secondary labels on Beam",
               lambda: stage_featurize(paths["annotations"], data_dir, workers))
    run_dirs = stages.run("train", " and ".join(EXPERIMENTS),
                          lambda: stage_train(data_dir, paths["runs"], smoke))
    stages.run("evaluate", "held-out test speakers",
               lambda: stage_evaluate(run_dirs, paths["eval"]))
    table = stages.run("compare", "MTL vs. Hard-label PE (tfser-compare)",
                       lambda: comparison(paths["eval"], os.path.join(out_dir, "compare")))
    lines = comparison_markdown(table, corpus)
    print("\n" + "\n".join(lines), flush=True)
    export_dir = stages.run("export", "SavedModel of 000_mtl", lambda: stage_export(
        run_dirs["000_mtl"], os.path.join(paths["export"], "000_mtl", "1")))
    wav = pick_test_wav(paths["annotations"], os.path.join(paths["eval"], "000_mtl"))
    predicted = stages.run("predict", "one test WAV through the SavedModel",
                           lambda: stage_predict(export_dir, wav,
                                                 os.path.join(out_dir, "predictions.csv")))
    total = round(time.perf_counter() - started, 1)
    summary = {"command": command, "total_seconds": total, "stage_seconds": stages.seconds,
               "corpus": corpus, "comparison": table, "prediction": predicted,
               "smoke": smoke}
    write_summary(summary, lines, out_dir)
    print(f"\nDemo finished in {total:.1f} s; summary: {os.path.join(out_dir, 'summary.md')}")
    return summary


def write_summary(summary: Dict[str, Any], table_lines: List[str], out_dir: str) -> None:
    """Writes ``summary.json`` and the Markdown ``summary.md`` into ``out_dir``."""
    atomic.write_text(os.path.join(out_dir, "summary.json"), json.dumps(summary, indent=2))
    stage_lines = [f"| {name} | {seconds:.1f} |"
                   for name, seconds in summary["stage_seconds"].items()]
    lines = ["# tfser demo: paper 000's MTL model against its Hard-label PE baseline", "",
             f"Reproduce: `{summary['command']}`", "",
             "Test speakers of the official split (session 5), primary emotion, 8 classes.",
             ""] + table_lines + ["", "| stage | seconds |", "|---|---|"] + stage_lines + [
             f"| total | {summary['total_seconds']:.1f} |", "",
             "Corpus and rater summary: [corpus_summary.md](corpus_summary.md); per-model "
             "reports: `eval/<experiment>/report.md`."]
    atomic.write_text(os.path.join(out_dir, "summary.md"), "\n".join(lines) + "\n")
