"""tfser-demo (``make demo``): the whole tool end to end on the embedded synthetic corpus.

Usage::

    tfser-demo --out=build/demo [--seed=0] [--size=default] [--regenerate] [--smoke]

Stages (each prints its progress and time; every artefact stays under ``--out``)::

    1 corpus     generate the synthetic corpus (reused when seed and size match) and
                 summarise its raters            -> corpus/, corpus_summary.md
    2 annotate   load it as a corpus into the unified table   -> annotations/
    3 featurize  paper 000's eGeMAPS functionals + primary/secondary labels on
                 Beam, official split (sessions 1-3 train, 4 dev, 5 test)
                                                              -> features/synthetic_000/
    4 train      000's MTL model (primary + secondary) and its Hard-label PE baseline
                                                              -> runs/<experiment>/
    5 evaluate   both on the held-out test speakers          -> eval/<experiment>/
    6 compare    the comparison table (UA, WA, F1, z-test)    -> summary.md
    7 export     the MTL model as a SavedModel (version 1, as TF Serving expects)
                                                              -> export/000_mtl/1/
    8 predict    tfser-predict on one test WAV, then the same WAV through the
                 SavedModel in a fresh process that imports only openSMILE and
                 TensorFlow (examples/plain_tf_predict.py)    -> predictions.csv

``--smoke`` shrinks training to seconds (for tests); the table is then meaningless.
Every number printed is also in ``summary.json``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List

from absl import app
from absl import flags

from pipelines import cli

FLAGS = flags.FLAGS
_DEFINED = False

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FEATURIZE_CONFIG = os.path.join(REPO, "configs", "featurize", "synthetic_000.yaml")
PLAIN_TF_SCRIPT = os.path.join(REPO, "examples", "plain_tf_predict.py")
EXPERIMENTS = ("000_mtl", "000_hard_pe")
LABELS = {"000_mtl": "MTL (primary + secondary)", "000_hard_pe": "Hard-label PE"}
MAIN_HEAD = "emotion"
NUM_STAGES = 8


def define_flags() -> None:
    """Defines the flags (at run time, so pipelines can be imported side by side)."""
    global _DEFINED
    if _DEFINED:
        return
    from tfser import synthetic  # pylint: disable=import-outside-toplevel
    flags.DEFINE_string("out", "build/demo", "Output directory.")
    flags.DEFINE_integer("seed", 0, "Seed of the synthetic corpus.", lower_bound=0)
    flags.DEFINE_enum("size", "default", list(synthetic.SIZES), "Corpus size.")
    flags.DEFINE_boolean("regenerate", False, "Generate the corpus even if it exists.")
    flags.DEFINE_boolean("smoke", False, "Train for seconds only (tests).")
    flags.DEFINE_integer("direct_num_workers", 2, "Beam DirectRunner workers.",
                         lower_bound=1)
    _DEFINED = True


class Stages:
    """Runs the numbered stages, printing ``[i/N] name`` and each one's time."""

    def __init__(self, total: int):
        self.total = total
        self.index = 0
        self.seconds: Dict[str, float] = {}

    def run(self, name: str, what: str, step: Callable[[], Any]) -> Any:
        self.index += 1
        print(f"\n[{self.index}/{self.total}] {name}: {what}", flush=True)
        started = time.perf_counter()
        result = step()
        self.seconds[name] = round(time.perf_counter() - started, 1)
        print(f"[{self.index}/{self.total}] {name} done in {self.seconds[name]:.1f} s",
              flush=True)
        return result


def stage_corpus(out_dir: str, seed: int, size: str, regenerate: bool) -> Dict[str, Any]:
    from pipelines import corpus_summary  # pylint: disable=import-outside-toplevel
    table, seconds = corpus_summary.prepare_corpus(out_dir, seed, size, regenerate)
    summary = corpus_summary.summarise(table, seconds)
    command = f"tfser-demo --out={out_dir} --seed={seed} --size={size}"
    paths = corpus_summary.write_outputs(summary, out_dir, command)
    agreement, hp = summary["agreement"], summary["human_performance"]
    print(f"  {summary['corpus']['utterances']} utterances, {summary['corpus']['speakers']} "
          f"speakers; Fleiss' kappa {agreement['fleiss_kappa']:.3f}; ties "
          f"{summary['no_plurality_share']:.1%}; human UA {hp['ua']:.3f} / F1 {hp['f1']:.3f}")
    print(f"  rater summary: {paths['markdown']}")
    return {"fleiss_kappa": agreement["fleiss_kappa"], "no_plurality_share":
            summary["no_plurality_share"], "human_ua": hp["ua"], "human_f1": hp["f1"],
            "utterances": summary["corpus"]["utterances"]}


def stage_annotate(corpus_dir: str, out_dir: str) -> str:
    import io  # pylint: disable=import-outside-toplevel
    from pipelines import build_annotations  # pylint: disable=import-outside-toplevel
    log = io.StringIO()
    status = build_annotations.annotate("synthetic", corpus_dir, out_dir, out=log)
    last = log.getvalue().strip().splitlines()[-1]
    print(f"  {last}")
    if status:
        raise RuntimeError(f"tfser-annotate failed (status {status}):\n{log.getvalue()}")
    return out_dir


def stage_featurize(table_dir: str, out_dir: str, workers: int) -> str:
    from pipelines import featurize  # pylint: disable=import-outside-toplevel
    status = featurize.featurize(FEATURIZE_CONFIG, table_dir, out_dir, overwrite=True,
                                 direct_num_workers=workers, log_every=100,
                                 created_by=f"tfser-featurize --config={FEATURIZE_CONFIG} "
                                            f"--table={table_dir} --out={out_dir} "
                                            "--overwrite")
    if status:
        raise RuntimeError(f"tfser-featurize failed with status {status}")
    return out_dir


def stage_train(data_dir: str, runs_dir: str, smoke: bool) -> Dict[str, str]:
    from pipelines import train  # pylint: disable=import-outside-toplevel
    from tfser import training  # pylint: disable=import-outside-toplevel
    run_dirs = {}
    for experiment in EXPERIMENTS:
        run_dir = os.path.join(runs_dir, experiment)
        # A fresh run each time: the demo measures a whole training, not a resume.
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"  training {experiment} -> {run_dir}", flush=True)
        started = time.perf_counter()
        train.train(experiment, run_dir, data_dir=data_dir, smoke=smoke)
        history = training.read_history(run_dir)
        best = min(history, key=lambda entry: entry["val_loss"])
        print(f"  {experiment}: {len(history)} epochs in {time.perf_counter() - started:.1f} s; "
              f"best val_loss {best['val_loss']:.4f} at epoch {best['epoch'] + 1}", flush=True)
        run_dirs[experiment] = run_dir
    return run_dirs


def stage_evaluate(run_dirs: Dict[str, str], eval_dir: str) -> Dict[str, Dict[str, Any]]:
    from tfser import evaluation  # pylint: disable=import-outside-toplevel
    results = {}
    for experiment, run_dir in run_dirs.items():
        out = os.path.join(eval_dir, experiment)
        command = f"tfser-evaluate --model_dir={run_dir} --out={out} --part=test"
        results[experiment] = evaluation.evaluate_run(run_dir, out, part="test",
                                                      command=command)
        print(f"  {experiment}: report {os.path.join(out, 'report.md')}")
    return results


def head_scores(metrics: Dict[str, Any], head: str = MAIN_HEAD) -> Dict[str, float]:
    """The pooled test scores of one head from an ``evaluate_run`` result."""
    scores = metrics["heads"][head]["pooled"]
    return {"ua": scores["ua"], "wa": scores["wa"], "f1": scores["f1"],
            "macro_f1": scores["macro_f1"], "count": scores["num_samples"]}


def comparison(results: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """UA / WA / F1 of both models on the test speakers and 000's z-test on WA."""
    from tfser import evaluation  # pylint: disable=import-outside-toplevel
    rows = {experiment: head_scores(metrics) for experiment, metrics in results.items()}
    mtl, pe = rows["000_mtl"], rows["000_hard_pe"]
    test = evaluation.two_proportion_ztest(mtl["wa"], pe["wa"], int(mtl["count"]),
                                           int(pe["count"]))
    # NaN (both always right or always wrong) is not JSON: stored as None.
    return {"rows": rows, "ztest_wa": {
        "z": None if math.isnan(test.z) else test.z,
        "p_value": None if math.isnan(test.p_value) else test.p_value}}


def comparison_markdown(table: Dict[str, Any], human: Dict[str, Any]) -> List[str]:
    lines = ["| model | UA | WA | F1 (000) | macro F1 | test utterances |",
             "|---|---|---|---|---|---|"]
    for experiment, row in table["rows"].items():
        lines.append(f"| {LABELS[experiment]} (`{experiment}`) | {row['ua']:.3f} | "
                     f"{row['wa']:.3f} | {row['f1']:.3f} | {row['macro_f1']:.3f} | "
                     f"{int(row['count'])} |")
    lines.append(f"| human raters (leave one out, whole corpus) | {human['human_ua']:.3f} | "
                 f"- | {human['human_f1']:.3f} | - | - |")
    z = {key: math.nan if value is None else value
         for key, value in table["ztest_wa"].items()}
    lines += ["", f"One-tailed two-proportion z-test (paper 000) that MTL's WA is higher "
                  f"than PE's: z = {z['z']:.2f}, p = {z['p_value']:.3f}."]
    return lines


def stage_export(run_dir: str, export_dir: str) -> str:
    from tfser import export  # pylint: disable=import-outside-toplevel
    path = export.export_saved_model(run_dir, export_dir, overwrite=True)
    print(f"  SavedModel: {path}  (inspect: saved_model_cli show --dir {path} --all)")
    return path


def pick_test_wav(table_dir: str, eval_dir: str) -> str:
    """The audio of the first utterance the evaluation scored (a featurized test file)."""
    import pandas as pd  # pylint: disable=import-outside-toplevel
    from tfser import annotations  # pylint: disable=import-outside-toplevel
    scored = pd.read_parquet(os.path.join(eval_dir, "predictions.parquet"),
                             columns=["utt_id"])
    table = annotations.load_table(table_dir)
    utts = table.utterances.set_index("utt_id")
    return table.resolve_audio(utts.loc[scored["utt_id"].iloc[0], "audio_path"])


def stage_predict(export_dir: str, wav: str, out_path: str) -> Dict[str, Any]:
    import pandas as pd  # pylint: disable=import-outside-toplevel
    from tfser import export  # pylint: disable=import-outside-toplevel
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
                        lambda: stage_corpus(out_dir, seed, size, regenerate))
    stages.run("annotate", "the corpus as a unified annotation table",
               lambda: stage_annotate(paths["corpus"], paths["annotations"]))
    stages.run("featurize", "eGeMAPS functionals + primary/secondary labels on Beam",
               lambda: stage_featurize(paths["annotations"], data_dir, workers))
    run_dirs = stages.run("train", " and ".join(EXPERIMENTS),
                          lambda: stage_train(data_dir, paths["runs"], smoke))
    results = stages.run("evaluate", "held-out test speakers",
                         lambda: stage_evaluate(run_dirs, paths["eval"]))
    table = stages.run("compare", "MTL vs. Hard-label PE", lambda: comparison(results))
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
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    stage_lines = [f"| {name} | {seconds:.1f} |"
                   for name, seconds in summary["stage_seconds"].items()]
    lines = ["# tfser demo: paper 000's MTL model against its Hard-label PE baseline", "",
             f"Reproduce: `{summary['command']}`", "",
             "Test speakers of the official split (session 5), primary emotion, 8 classes.",
             ""] + table_lines + ["", "| stage | seconds |", "|---|---|"] + stage_lines + [
             f"| total | {summary['total_seconds']:.1f} |", "",
             "Corpus and rater summary: [corpus_summary.md](corpus_summary.md); per-model "
             "reports: `eval/<experiment>/report.md`."]
    with open(os.path.join(out_dir, "summary.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    cli.quiet_logs("tfser")
    run_demo(FLAGS.out, FLAGS.seed, FLAGS.size, FLAGS.regenerate, FLAGS.smoke,
             FLAGS.direct_num_workers)


def run() -> None:
    """Console-script entry point (``tfser-demo``)."""
    cli.start(define_flags, main)


if __name__ == "__main__":
    run()
