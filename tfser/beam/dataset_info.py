"""dataset_info.json: the sidecar that makes a featurized directory self-describing.

Written by the driver after the Beam run from the work files of
:class:`tfser.beam.transforms.Featurize`. Layout of a featurized directory::

    dataset_info.json   everything below, plus counts, specs, folds, statistics, hashes
    config.yaml         the resolved configuration (first line: the command that ran)
    rejects.csv         utt_id, variant, speaker_id, reason, detail (always written)
    examples/<speaker>-SSSSS-of-NNNNN.tfrecord            original examples
    examples/<speaker>.<variant>-SSSSS-of-NNNNN.tfrecord  augmented TRAIN copies (001)

Keys of dataset_info.json: ``format``, ``version``, ``tfser_version``,
``created_by``, ``config`` (+ ``config_sha256``), ``table`` (directory, corpus and the
sha256 of each table file), ``features`` (FeatureSpec dicts) and ``feature_details``,
``labels`` (LabelFieldSpec dicts) and ``label_metadata`` (vocabularies), ``variants``,
``groups`` (every shard group: speaker, variant, files, count), ``split`` (protocol and
per fold and part: speakers, utterance and example counts, files, patterns, augmented
files), ``counts`` and ``normalisation`` (``method``: what the config asks the reader
to apply per feature set; ``stats_frames``: which frames the statistics pool;
``global``: per fold, the count/mean/std of each feature set over the fold's TRAIN
speakers' original examples; ``per_speaker``: each speaker's own).

Every original example is accounted for: ``counts.in == counts.written +
counts.rejected``; augmented variants are counted apart under ``counts.augmented``.
"""

from __future__ import annotations

import collections
import csv
import glob
import hashlib
import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import tfser
from tfser.annotations import io as table_io
from tfser.beam import stats as stats_lib
from tfser.beam import transforms
from tfser.beam import work
from tfser.beam.plan import Plan
from tfser.features import example_codec
# The on-disk contract (file names, format, reader) lives beside the TFRecord codec, so
# training and serving read a featurized directory without importing Beam.
from tfser.features.dataset_info import (  # noqa: F401  (re-exported)
    CONFIG_FILE, DATASET_INFO_FILE, EXAMPLES_DIR, FORMAT, REJECTS_FILE, VERSION, feature_specs,
    fold_files, label_specs, read_info)

REJECT_COLUMNS = ("utt_id", "variant", "speaker_id", "reason", "detail")
TABLE_FILES = (table_io.META_FILE, table_io.UTTERANCES_FILE, table_io.RATINGS_FILE,
               table_io.TRACES_FILE)


class ReconciliationError(RuntimeError):
    """The run lost or duplicated examples (a pipeline bug, never bad input)."""


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_work_file(work_dir: str, name: str) -> List[Dict[str, Any]]:
    """Records of one JSON-lines work file (all of its shards)."""
    records = []
    for path in sorted(glob.glob(os.path.join(work_dir, f"{name}-*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def reconcile(plan: Plan, written: List[dict], rejects: List[dict]) -> None:
    """Checks that each expected example was written or rejected exactly once.

    Raises:
      ReconciliationError: Naming missing, duplicated or unexpected examples.
    """
    seen = collections.Counter((r["utt_id"], r["variant"]) for r in written + rejects)
    expected = {(utt, variant) for utt, variant, _ in plan.expected}
    missing = sorted(expected - set(seen))
    duplicated = sorted(k for k, n in seen.items() if n > 1)
    unexpected = sorted(set(seen) - expected)
    if missing or duplicated or unexpected:
        raise ReconciliationError(
            f"featurization lost or duplicated examples: missing {missing[:10]} "
            f"({len(missing)}), duplicated {duplicated[:10]} ({len(duplicated)}), unexpected "
            f"{unexpected[:10]} ({len(unexpected)})")


def _in_written_rejected(expected, written, rejects) -> Dict[str, int]:
    return {"in": expected, "written": written, "rejected": rejects}


def count_outcomes(plan: Plan, written: List[dict], rejects: List[dict]) -> Dict[str, Any]:
    """The ``counts`` block (see the module docstring)."""
    expected = plan.expected
    by_variant: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_speaker: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for _, variant, speaker in expected:
        by_variant[variant]["in"] += 1
        by_speaker[speaker]["in" if variant == work.ORIGINAL else "augmented_in"] += 1
    for outcome, records in (("written", written), ("rejected", rejects)):
        for record in records:
            by_variant[record["variant"]][outcome] += 1
            prefix = "" if record["variant"] == work.ORIGINAL else "augmented_"
            by_speaker[record["speaker_id"]][prefix + outcome] += 1
    original = by_variant[work.ORIGINAL]
    augmented = collections.Counter()
    for variant, counter in by_variant.items():
        if variant != work.ORIGINAL:
            augmented.update(counter)
    reasons = collections.Counter(r["reason"] for r in rejects if r["variant"] == work.ORIGINAL)
    flagged = [{"utt_id": r["utt_id"], "problems": r["audio_problems"]} for r in written
               if r["variant"] == work.ORIGINAL and r.get("audio_problems")]
    kinds = collections.Counter(work.audio_check_reason(p) for f in flagged
                                for p in f["problems"])
    not_selected = collections.Counter(reason for _, reason in plan.not_selected)
    return {
        "table_utterances": plan.table_utterances,
        "not_selected": {"count": len(plan.not_selected), "reasons": dict(not_selected)},
        "in": original["in"], "written": original["written"], "rejected": original["rejected"],
        "rejected_by_reason": dict(sorted(reasons.items())),
        "augmented": _in_written_rejected(augmented["in"], augmented["written"],
                                          augmented["rejected"]),
        "per_variant": {v: _in_written_rejected(c["in"], c["written"], c["rejected"])
                        for v, c in sorted(by_variant.items())},
        "per_speaker": {s: {k: c[k] for k in ("in", "written", "rejected", "augmented_in",
                                              "augmented_written", "augmented_rejected")}
                        for s, c in sorted(by_speaker.items())},
        "audio_seconds": round(sum(r["audio_s"] for r in written
                                   if r["variant"] == work.ORIGINAL), 3),
        # Utterances the audio checks flagged but kept (policy warn); with policy
        # reject they are in rejected_by_reason instead.
        "audio_checks": {"policy": plan.config.audio_checks.policy,
                         "written_with_problems": len(flagged),
                         "by_problem": dict(sorted(kinds.items())),
                         "utterances": sorted(flagged, key=lambda f: f["utt_id"])},
    }


def group_files(plan: Plan, file_records: List[dict], examples_dir: str) -> Dict[str, dict]:
    """Every shard group with its files; missing shards are created empty.

    A group with fewer examples than shards (or whose examples were all rejected)
    still gets all ``num_shards`` files, so ``-of-NNNNN`` names are always complete.
    """
    num_shards = plan.config.num_shards
    written = {(r["group"], r["shard"]): r["count"] for r in file_records}
    augmented_speakers = plan.augmented_speakers
    groups = {}
    for speaker, safe in sorted(plan.groups.items()):
        variants = [work.ORIGINAL] + (list(plan.config.variants)
                                      if speaker in augmented_speakers else [])
        for variant in variants:
            group = work.variant_group(safe, variant)
            files = []
            for shard in range(num_shards):
                name = transforms.shard_file_name(group, shard, num_shards)
                if (group, shard) not in written:
                    with open(os.path.join(examples_dir, name), "wb"):
                        pass  # an empty file is a valid TFRecord file with no records
                files.append(f"{EXAMPLES_DIR}/{name}")
            groups[group] = {"speaker_id": speaker, "variant": variant, "files": files,
                             "pattern": f"{EXAMPLES_DIR}/{transforms.shard_pattern(group)}",
                             "count": sum(written.get((group, s), 0) for s in range(num_shards))}
    return groups


def _part(speakers: Iterable[str], utts: Iterable[str], groups: Mapping[str, dict],
          written_by_utt: Mapping[Tuple[str, str], int], augment: bool,
          list_utterances: bool = False) -> Dict[str, Any]:
    speakers, utts = list(speakers), list(utts)
    originals = [g for g in groups.values()
                 if g["variant"] == work.ORIGINAL and g["speaker_id"] in speakers]
    part = {"speakers": speakers, "utterances": len(utts),
            "written": sum(written_by_utt.get((u, work.ORIGINAL), 0) for u in utts),
            "files": [f for g in originals for f in g["files"]],
            "file_patterns": [g["pattern"] for g in originals]}
    part["rejected"] = part["utterances"] - part["written"]
    if list_utterances:
        # Parts share speakers (and so shard files): the reader keeps these utterances.
        part["utt_ids"] = sorted(utts)
    if augment:
        extra = [g for g in groups.values()
                 if g["variant"] != work.ORIGINAL and g["speaker_id"] in speakers]
        part["augmented"] = {"written": sum(g["count"] for g in extra),
                             "files": [f for g in extra for f in g["files"]],
                             "file_patterns": [g["pattern"] for g in extra]}
    return part


def describe_folds(plan: Plan, groups: Mapping[str, dict], written: List[dict]
                   ) -> Dict[str, Any]:
    """The ``split`` block: every fold's parts as speakers, counts and files."""
    written_by_utt = collections.Counter((r["utt_id"], r["variant"]) for r in written)
    folds = []
    for fold in plan.protocol:
        entry = {"name": fold.name, "speaker_independent": fold.speaker_independent}
        for part in ("train", "dev", "test"):
            entry[part] = _part(fold.speakers(part), fold.part(part), groups, written_by_utt,
                                augment=part == "train",
                                list_utterances=not fold.speaker_independent)
        folds.append(entry)
    return {"protocol": plan.protocol.protocol, "params": dict(plan.protocol.params),
            "speaker_independent": plan.protocol.speaker_independent, "folds": folds}


def normalisation(plan: Plan, moment_records: List[dict]) -> Dict[str, Any]:
    """The ``normalisation`` block: train-only statistics per fold, and per speaker."""
    # A speaker's own statistics pool all its utterances; a fold's training statistics
    # only its training utterances (they differ when parts share speakers).
    per_speaker: Dict[str, Dict[str, stats_lib.Moments]] = collections.defaultdict(dict)
    training: Dict[str, Dict[str, stats_lib.Moments]] = collections.defaultdict(dict)
    for record in moment_records:
        moments = stats_lib.Moments.from_json(record)
        targets = [per_speaker]
        if record.get("stats_part", "") in ("", "train"):
            targets.append(training)
        for target in targets:
            known = target[record["speaker_id"]].get(record["feature"])
            target[record["speaker_id"]][record["feature"]] = \
                moments if known is None else known + moments
    sources = {d.name: d.stats_source for d in plan.settings.definitions}
    sources.update({s.name: "the stored frames" for s in plan.settings.trace_feature_specs})
    return {
        "method": dict(plan.config.normalisation),
        "stats_frames": sources,
        "global": {fold.name: stats_lib.fold_statistics(training, fold.train_speakers)
                   for fold in plan.protocol},
        "per_speaker": {speaker: {name: m.summary() for name, m in sorted(features.items())}
                        for speaker, features in sorted(per_speaker.items())},
    }


def build_info(plan: Plan, work_dir: str, examples_dir: str, table_dir: str,
               created_by: str) -> Tuple[Dict[str, Any], List[dict]]:
    """Reads the work files, reconciles and assembles dataset_info (and the rejects).

    Raises:
      ReconciliationError: An example was lost or duplicated.
    """
    written = read_work_file(work_dir, "written")
    rejects = read_work_file(work_dir, "rejects")
    reconcile(plan, written, rejects)
    groups = group_files(plan, read_work_file(work_dir, "files"), examples_dir)
    details = {d.name: {"description": d.description, "source": "audio"}
               for d in plan.settings.definitions}
    details.update({s.name: {"description": "frame-feature trace from the annotation table",
                             "source": "table trace"}
                    for s in plan.settings.trace_feature_specs})
    info = {
        "format": FORMAT, "version": VERSION, "tfser_version": tfser.__version__,
        "created_by": created_by,
        "config": plan.config.to_dict(), "config_sha256": plan.config.sha256(),
        "table": {"dir": os.path.abspath(table_dir), "corpus": plan.corpus,
                  "sha256": {name: sha256_file(os.path.join(table_dir, name))
                             for name in TABLE_FILES
                             if os.path.exists(os.path.join(table_dir, name))}},
        "features": [spec.to_dict() for spec in plan.feature_specs],
        "feature_details": details,
        "labels": [spec.to_dict() for spec in plan.label_specs],
        "label_metadata": plan.label_metadata,
        "variants": [work.ORIGINAL] + list(plan.config.variants),
        "groups": groups,
        "split": describe_folds(plan, groups, written),
        "counts": count_outcomes(plan, written, rejects),
        "normalisation": normalisation(plan, read_work_file(work_dir, "moments")),
    }
    rejects = sorted(rejects, key=lambda r: (r["utt_id"], r["variant"]))
    return info, rejects


def write_rejects(path: str, rejects: List[dict]) -> None:
    """``rejects.csv`` with a header even when empty."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(REJECT_COLUMNS))
        writer.writeheader()
        for record in rejects:
            writer.writerow({k: record.get(k, "") for k in REJECT_COLUMNS})


def write_info(path: str, info: Mapping[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
