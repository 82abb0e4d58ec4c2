"""Stage 1 of ``make demo``: the embedded synthetic corpus and what its raters say.

Generates the default synthetic corpus (or reuses one generated with the same seed
and size), derives the label views a multitask SER model trains on, and summarises
what a researcher checks before training: utterances per speaker and class, rater
agreement (Fleiss' kappa, Krippendorff's alpha), human performance by
leave-one-rater-out (paper 000), the share of utterances with no plurality winner,
label-view examples and the speaker-independent protocols. :func:`write_outputs`
writes it to ``corpus_summary.json`` / ``corpus_summary.md`` with the plot
``human_confusion.png``; :func:`corpus_stage` does all three steps, as ``tfser-demo``
runs it before training.

It writes a report with a plot (:mod:`tfser.evaluation.plots`), so it stands on the
evaluation floor; the figures it reports come from :mod:`tfser.labels` (agreement,
human performance) and :mod:`tfser.annotations.splits`.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, Tuple

import numpy as np
import pandas as pd

from tfser import annotations
from tfser import labels
from tfser import synthetic
from tfser.annotations import splits
from tfser.labels import agreement
from tfser.labels import human
from tfser.evaluation import plots
from tfser.fileio import atomic

# The label views of paper 000 (primary + secondary), 001 (soft a=0.75, existence)
# and 003 (dimensional), over the 8 primary classes; "other" is excluded.
DEMO_SPEC = {
    "class_mapping": "exclude_other",
    "views": [
        {"name": "primary", "kind": "hard", "params": {"method": "plurality"}},
        {"name": "primary_majority", "kind": "hard", "params": {"method": "majority"}},
        {"name": "soft", "kind": "soft", "params": {"a": 0.75}},
        {"name": "secondary", "kind": "secondary"},
        {"name": "existence", "kind": "existence"},
        {"name": "dims", "kind": "dimensional"},
        {"name": "speaker", "kind": "speaker"},
    ],
}


def prepare_corpus(out_dir: str, seed: int, size: str, regenerate: bool):
    """Generates (or reuses) the corpus; returns (table, seconds spent generating or None)."""
    corpus_dir = os.path.join(out_dir, "corpus")
    stamp = os.path.join(corpus_dir, "demo_stamp.json")
    wanted = {"seed": seed, "size": size, "schema_version": annotations.SCHEMA_VERSION}
    if not regenerate and os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as handle:
            if json.load(handle) == wanted:
                print(f"Reusing the corpus in {corpus_dir} (seed {seed}, size {size}); "
                      "--regenerate to rebuild it.")
                return annotations.load_table(corpus_dir), None
    started = time.perf_counter()
    synthetic.generate(corpus_dir, seed=seed, size=size, progress=True)
    seconds = time.perf_counter() - started
    atomic.write_text(stamp, json.dumps(wanted))
    return annotations.load_table(corpus_dir), seconds


def rated_part(table: annotations.AnnotationTable) -> annotations.AnnotationTable:
    """The categorical part of the corpus (continuous recordings have traces only)."""
    rated = set(table.ratings["utt_id"])
    utts = table.utterances[table.utterances["utt_id"].isin(rated)].reset_index(drop=True)
    return annotations.AnnotationTable(table.meta, utts, table.ratings,
                                       table.traces.iloc[0:0], table.root)


def speaker_class_table(table, derived) -> pd.DataFrame:
    """Utterances per speaker (rows) and plurality class (columns)."""
    view = derived["primary"]
    names = np.array(list(view.classes) + ["(no label)"])
    label_names = names[np.where(view.values >= 0, view.values, len(view.classes))]
    frame = pd.DataFrame({"speaker": table.utterances["speaker_id"].to_numpy(),
                          "label": label_names})
    counts = pd.crosstab(frame["speaker"], frame["label"])
    counts = counts.reindex(columns=[c for c in names if c in counts.columns])
    counts["total"] = counts.sum(axis=1)
    counts.loc["total"] = counts.sum(axis=0)
    return counts


def agreement_figures(table, classes) -> dict:
    figures = {
        "fleiss_kappa": agreement.table_fleiss_kappa(table, classes),
        "krippendorff_alpha_nominal": agreement.table_krippendorff_alpha(table, classes),
    }
    for dim in table.dimensions:
        figures[f"krippendorff_alpha_interval_{dim}"] = agreement.table_dimension_alpha(
            table, dim)
    return figures


def label_examples(table, derived, count: int = 3) -> list:
    """A few utterances with their raw votes and every derived view."""
    status = derived["primary"].status
    # One clear case, one tie, one blend: the differences between views show best there.
    picks = []
    for wanted in ("ok", "tie"):
        hits = np.flatnonzero(status == wanted)
        if len(hits):
            picks.append(int(hits[0]))
    blended = [i for i, e in enumerate(table.utterances["extra"]) if e.get("blended")]
    picks += [i for i in blended if i not in picks][: max(0, count - len(picks))]
    classes = list(derived.classes)
    examples = []
    for i in picks:
        utt_id = derived.utt_ids[i]
        rows = table.ratings[table.ratings["utt_id"] == utt_id]
        hard = derived["primary"]
        examples.append({
            "utt_id": utt_id,
            "simulated": table.utterances["extra"].iloc[i].get("dominant"),
            "votes": [r.primary + (f" (+{', '.join(r.secondary)})" if len(r.secondary) else "")
                      for r in rows.itertuples()],
            "hard": classes[hard.values[i]] if hard.values[i] >= 0 else None,
            "hard_status": str(hard.status[i]),
            "soft_a0.75": {c: round(float(v), 3) for c, v in zip(classes, derived["soft"].values[i])},
            "secondary": [c for c, v in zip(classes, derived["secondary"].values[i]) if v > 0],
            "existence": [c for c, v in zip(classes, derived["existence"].values[i]) if v > 0],
            "dims_[-1,1]": {d: round(float(v), 3) for d, v in
                            zip(derived["dims"].metadata.get("attributes", table.dimensions),
                                derived["dims"].values[i])},
        })
    return examples


def protocol_sizes(utts: pd.DataFrame) -> dict:
    """Fold sizes of the speaker-independent protocols (every one is leak-checked)."""
    sizes = {}
    for name in ("loso", "loso_session", "official"):
        protocol = splits.build_split(utts, name)
        first = protocol.folds[0]
        sizes[name] = {
            "folds": len(protocol.folds),
            "first_fold": {part: {"speakers": len(first.speakers(part)),
                                  "utterances": len(first.part(part))}
                           for part in ("train", "dev", "test")},
        }
    return sizes


def summarise(table, generation_seconds) -> dict:
    """All figures of the demo, as one JSON-ready dict."""
    rated = rated_part(table)
    spec = labels.LabelSpec.from_dict(DEMO_SPEC)
    derived = labels.derive(rated, spec)
    classes = list(derived.classes)
    status = pd.Series(derived["primary"].status).value_counts().to_dict()
    perf = human.human_performance(rated, classes, class_mapping="exclude_other", seed=0)
    n = len(rated.utterances)
    return {
        "corpus": table.summary(),
        "generation_seconds": None if generation_seconds is None else round(generation_seconds, 1),
        "classes": classes,
        "plurality_status": {k: int(v) for k, v in status.items()},
        "no_plurality_share": round(status.get("tie", 0) / n, 4),
        "no_majority_share": round(float((derived["primary_majority"].values < 0).mean()), 4),
        "agreement": {k: round(float(v), 4) for k, v in agreement_figures(rated, classes).items()},
        "human_performance": {k: (round(v, 4) if isinstance(v, float) else v)
                              for k, v in perf.to_dict().items()
                              if k not in ("report",)},
        "speaker_class": speaker_class_table(rated, derived),
        "examples": label_examples(rated, derived),
        "protocols": protocol_sizes(rated.utterances),
        "human_confusion": np.asarray(perf.report["confusion"]),
    }


def render_markdown(summary: dict, command: str) -> str:
    hp = summary["human_performance"]
    lines = [
        "# tfser demo, stage 1: the synthetic corpus and its raters",
        "",
        f"Reproduce: `{command}`",
        "",
        "## Corpus",
        "",
        "| " + " | ".join(summary["corpus"]) + " |",
        "|" + "---|" * len(summary["corpus"]),
        "| " + " | ".join(str(v) for v in summary["corpus"].values()) + " |",
        "",
        f"Generation time: {summary['generation_seconds']} s (None = reused).",
        "",
        "## Utterances per speaker and plurality class",
        "",
        _markdown_table(summary["speaker_class"]),
        "",
        "## Rater agreement",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.3f} |" for k, v in summary["agreement"].items()]
    lines += [
        "",
        f"No plurality winner (ties): {summary['no_plurality_share']:.1%} of rated utterances; "
        f"no strict majority: {summary['no_majority_share']:.1%}.",
        "",
        "## Human performance (leave one rater out against the plurality of the rest, 000)",
        "",
        "| UA | WA | mean P | mean R | F1 (000) | comparisons | skipped |",
        "|---|---|---|---|---|---|---|",
        f"| {hp['ua']:.3f} | {hp['wa']:.3f} | {hp['mean_precision']:.3f} | "
        f"{hp['mean_recall']:.3f} | {hp['f1']:.3f} | {hp['num_comparisons']} | "
        f"{hp['num_skipped']} |",
        "",
        "## Label views of three utterances (a clear case, a tie, a blend)",
        "",
        "| utterance | simulated | primary votes (+secondary) | hard | soft a=0.75 (top 3) "
        "| secondary (000) | existence (001) | dims in [-1, 1] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for ex in summary["examples"]:
        top = sorted(ex["soft_a0.75"].items(), key=lambda kv: -kv[1])[:3]
        lines.append(
            f"| {ex['utt_id']} | {ex['simulated']} | {'; '.join(ex['votes'])} | "
            f"{ex['hard']} ({ex['hard_status']}) | "
            f"{', '.join(f'{c} {v:.2f}' for c, v in top)} | {', '.join(ex['secondary'])} | "
            f"{', '.join(ex['existence'])} | "
            f"{', '.join(f'{d} {v:+.2f}' for d, v in ex['dims_[-1,1]'].items())} |")
    lines += [
        "",
        "## Speaker-independent protocols (first fold; every fold is checked for speaker leaks)",
        "",
        "| protocol | folds | train spk/utt | dev spk/utt | test spk/utt |",
        "|---|---|---|---|---|",
    ]
    for name, info in summary["protocols"].items():
        parts = info["first_fold"]
        lines.append(f"| {name} | {info['folds']} | " + " | ".join(
            f"{parts[p]['speakers']}/{parts[p]['utterances']}"
            for p in ("train", "dev", "test")) + " |")
    return "\n".join(lines) + "\n"


def _markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join([frame.index.name or ""] + [str(c) for c in frame.columns]) + " |"
    rule = "|" + "---|" * (len(frame.columns) + 1)
    rows = ["| " + " | ".join([str(index)] + [str(v) for v in row]) + " |"
            for index, row in zip(frame.index, frame.to_numpy())]
    return "\n".join([header, rule] + rows)


def write_outputs(summary: dict, out_dir: str, command: str) -> dict:
    """Writes corpus_summary.json, corpus_summary.md and the PNG plot; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {
        "json": os.path.join(out_dir, "corpus_summary.json"),
        "markdown": os.path.join(out_dir, "corpus_summary.md"),
        "human_confusion": os.path.join(out_dir, "human_confusion.png"),
    }
    plots.plot_confusion_matrix(summary["human_confusion"], summary["classes"],
                                paths["human_confusion"],
                                title="Held-out rater vs. consensus of the rest")
    serialisable = {k: v for k, v in summary.items()
                    if k not in ("speaker_class", "human_confusion")}
    serialisable["speaker_class"] = summary["speaker_class"].to_dict(orient="index")
    serialisable["command"] = command
    atomic.write_text(paths["json"], json.dumps(serialisable, indent=2, default=str))
    atomic.write_text(paths["markdown"], render_markdown(summary, command))
    return paths


def corpus_stage(out_dir: str, seed: int, size: str, regenerate: bool,
                 command: str) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Stage 1 of the demo: generates (or reuses) the corpus, summarises and writes it.

    Args:
      out_dir: The demo folder (the corpus goes to ``<out_dir>/corpus``).
      seed: Seed of the synthetic corpus.
      size: Its size name (``small``, ...).
      regenerate: Rebuild the corpus even when one with the same seed and size exists.
      command: The command line that reproduces the demo (written into the reports).

    Returns:
      ``(summary, paths)``: the figures of :func:`summarise` and the files of
      :func:`write_outputs`.
    """
    table, seconds = prepare_corpus(out_dir, seed, size, regenerate)
    summary = summarise(table, seconds)
    return summary, write_outputs(summary, out_dir, command)
