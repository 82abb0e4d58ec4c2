"""build_pipeline(): annotation table + FeaturizeConfig -> sharded TFRecords + dataset_info.

Steps (the first and last in the driver, the middle on Beam):

1. Load the table, select utterances, derive the label views, build the split
   protocol and one work item per utterance (:mod:`tfser.beam.plan`; pure, fails fast).
2. The work items go to chunk files under ``_work/items`` and the driver drops them
   (:mod:`tfser.beam.item_chunks`); Beam: ``Create(chunk paths) -> Featurize``
   (:mod:`tfser.beam.transforms`): audio reading, feature extraction, encoding,
   per-speaker shard files, rejects and normalisation moments.
3. Reconcile (``in = written + rejected``), compute per-fold TRAIN-only statistics and
   write ``dataset_info.json``, ``rejects.csv`` and ``config.yaml``
   (:mod:`tfser.beam.dataset_info`).

Output replacement is atomic: everything is written into ``<out>.tmp-<pid>`` beside
the output directory, which is then renamed into place (an existing directory, only
with ``overwrite``, is first renamed aside and deleted after the swap), so a reader
never sees a mix of old and new shards, and a failed run leaves the old output intact.
A run killed outright (SIGKILL) cannot clean up; the next run of the same output
removes every ``<out>.tmp-<pid>`` whose process is gone and logs it
(:mod:`tfser.fileio.stale`).
The output directory must be on a file system the driver can rename in (local disk or
a shared mount reachable by every worker): workers read their work items from
``<out>.tmp-<pid>/_work/items`` and write their bundle files into
``<out>.tmp-<pid>/_work/parts``, and the driver reads them from there, so on a cluster
of several machines ``--out`` (and the corpus audio, named by absolute paths in the
work items) must be on a file system every worker mounts at the same path.

Runner: Beam's local FnApiRunner by default (what the DirectRunner runs these
transforms on, without its attempt to download the Prism runner from GitHub first);
it reads the DirectRunner's options. ``direct_num_workers > 1`` switches it to the
``multi_threading`` mode unless ``direct_running_mode`` is given: openSMILE and
TensorFlow release the GIL while they compute, so threads scale (measured 1.9x with 2
threads on 2 cores for eGeMAPS functionals, ``benchmarks/featurize.py``), whereas every
``multi_processing`` worker first imports TensorFlow (~5 s) and receives its input
through gRPC, which made 2 processes no faster than 1 on the 2-core machines here.
``--direct_running_mode=multi_processing`` still selects processes (for Python-heavy
user front-ends on many cores). ``--runner=DaskRunner`` runs on a Dask cluster
(:mod:`tfser.beam.runners`); any other Beam option (``--runner``, ``--flink_master``,
...) passes through unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from tfser import annotations
from tfser.beam import dataset_info
from tfser.beam import item_chunks
from tfser.beam import plan as plan_lib
from tfser.beam import runners
from tfser.beam import shards
from tfser.beam import transforms
from tfser.beam import work
from tfser.beam.config import FeaturizeConfig
from tfser.fileio import atomic
from tfser.fileio import stale
from tfser.fileio.atomic import replace_dir  # noqa: F401  (also the old public name here)

_LOG = logging.getLogger("tfser.beam")
WORK_DIR = "_work"
ITEMS_DIR = "items"
DEFAULT_PARALLEL_MODE = "multi_threading"
OptionsLike = Union[None, PipelineOptions, Sequence[str], Mapping[str, Any]]


@dataclasses.dataclass(frozen=True)
class FeaturizeResult:
    """What a run produced.

    Attributes:
      out_dir: The featurized directory.
      info: Its dataset_info.
      seconds: Wall-clock time of the whole run (planning, Beam, finalisation).
    """

    out_dir: str
    info: Mapping[str, Any]
    seconds: float

    @property
    def counts(self) -> Mapping[str, Any]:
        return self.info["counts"]

    @property
    def utterances_per_second(self) -> float:
        return self.counts["in"] / max(self.seconds, 1e-9)

    @property
    def real_time_factor(self) -> float:
        """Processing time per second of (written, original) audio; < 1 is faster."""
        audio = self.counts["audio_seconds"]
        return self.seconds / audio if audio else float("nan")

    def summary_lines(self) -> List[str]:
        counts = self.counts
        augmented = counts["augmented"]
        lines = [
            f"featurized into {self.out_dir}",
            f"in {counts['in']} = written {counts['written']} + rejected {counts['rejected']}"
            f" (not selected: {counts['not_selected']['count']} of "
            f"{counts['table_utterances']} table rows)",
        ]
        if augmented["in"]:
            lines.append(f"augmented in {augmented['in']} = written {augmented['written']} + "
                         f"rejected {augmented['rejected']}")
        for reason, number in counts["rejected_by_reason"].items():
            lines.append(f"  rejected, {reason}: {number}")
        lines.extend(audio_check_lines(counts))
        speed = 1.0 / self.real_time_factor if self.real_time_factor else float("nan")
        lines.append(f"{self.seconds:.1f} s, {self.utterances_per_second:.2f} utt/s, "
                     f"{counts['audio_seconds']:.1f} s of audio, real-time factor "
                     f"{self.real_time_factor:.4f} ({speed:.1f}x real time)")
        return lines


def audio_check_lines(counts: Mapping[str, Any], shown: int = 5) -> List[str]:
    """What the summary says about utterances the audio checks flagged but kept."""
    checks = counts.get("audio_checks") or {}
    flagged = checks.get("written_with_problems", 0)
    if not flagged:
        return []
    kinds = ", ".join(f"{reason} {number}" for reason, number in checks["by_problem"].items())
    lines = [f"WARNING: {flagged} written utterance(s) failed the audio checks ({kinds}); "
             f"kept because audio_checks.policy is {checks['policy']} (set it to reject "
             "to leave them out)"]
    for entry in checks["utterances"][:shown]:
        lines.append(f"  {entry['utt_id']}: {'; '.join(entry['problems'])}")
    if flagged > shown:
        lines.append(f"  ... {flagged - shown} more in dataset_info.json "
                     "(counts.audio_checks)")
    return lines


def make_pipeline_options(options: OptionsLike = None,
                          partition_size: int = runners.DASK_PARTITION_SIZE
                          ) -> PipelineOptions:
    """PipelineOptions from options, an argv list or a dict.

    ``direct_num_workers`` other than 1 selects the local runner's ``multi_threading``
    mode unless ``direct_running_mode`` is given (see the module docstring for why
    threads, not processes).

    Args:
      options: The options.
      partition_size: Elements per Dask partition unless the options give a
        partitioning (:func:`tfser.beam.runners.configure_runner`).
    """
    if options is None:
        options = PipelineOptions([])
    elif isinstance(options, PipelineOptions):
        pass
    elif isinstance(options, Mapping):
        options = PipelineOptions.from_dictionary(dict(options))
    else:
        options = PipelineOptions(list(options))
    runners.configure_runner(options, partition_size)
    direct = options.view_as(DirectOptions)
    explicit = options.get_all_options(drop_default=True)
    if direct.direct_num_workers != 1 and "direct_running_mode" not in explicit:
        direct.direct_running_mode = DEFAULT_PARALLEL_MODE
    return options


def check_output_dir(out_dir: str, overwrite: bool) -> None:
    """Refuses an existing output directory unless ``overwrite``.

    Raises:
      FileExistsError: ``out_dir`` exists and ``overwrite`` is False.
    """
    if os.path.lexists(out_dir) and not overwrite:
        raise FileExistsError(f"output directory {out_dir} exists; pass overwrite=True "
                              "(--overwrite) to replace it")


def _run_beam(plan: plan_lib.Plan, chunks: List[str], tmp_dir: str,
              options: PipelineOptions, log_every: int) -> None:
    examples_dir = os.path.join(tmp_dir, dataset_info.EXAMPLES_DIR)
    work_dir = os.path.join(tmp_dir, WORK_DIR)
    parts_dir = os.path.join(work_dir, "parts")
    os.makedirs(examples_dir, exist_ok=True)
    os.makedirs(parts_dir, exist_ok=True)
    workers = max(1, int(options.view_as(DirectOptions).direct_num_workers or 1))
    # A worker's share (for its ETA) is known only on the local runner.
    total = sum(1 for e in plan.expected if e.variant == work.ORIGINAL)
    expected = -(-total // workers) if runners.is_local(options) else 0
    pipeline = beam.Pipeline(options=options)
    _ = (pipeline
         | "WorkItemChunks" >> beam.Create(chunks)
         | "Featurize" >> transforms.Featurize(plan.settings, parts_dir, log_every, expected))
    with shards.CommittedProgress(parts_dir, total, _original_outcome, "utterances",
                                  enabled=not runners.is_local(options)):
        runners.run_to_completion(pipeline)
    records = shards.merge_parts(parts_dir, examples_dir, plan.settings.num_shards)
    shards.write_files_record(work_dir, records)
    shards.gather_records(parts_dir, work_dir)


def _original_outcome(record: Mapping[str, Any]) -> int:
    """1 for a bundle record that accounts for an utterance (its original written or
    rejected), else 0 (augmented copies, moments)."""
    return int(record.get("kind") in (transforms.WRITTEN, transforms.REJECTED)
               and record.get("variant") == work.ORIGINAL)


def _write_items(plan: plan_lib.Plan, tmp_dir: str) -> Tuple[plan_lib.Plan, List[str]]:
    """Writes the work items into chunk files; returns the plan without them and the
    chunk paths (see :mod:`tfser.beam.item_chunks` for why)."""
    directory = os.path.join(tmp_dir, WORK_DIR, ITEMS_DIR)
    chunks = item_chunks.write_chunks(plan.items, directory,
                                      item_chunks.chunk_size(len(plan.items)))
    return plan.without_items(), chunks


def _finalise(plan: plan_lib.Plan, tmp_dir: str, table_dir: str, created_by: str) -> Dict:
    work_dir = os.path.join(tmp_dir, WORK_DIR)
    info, rejects = dataset_info.build_info(
        plan, work_dir, os.path.join(tmp_dir, dataset_info.EXAMPLES_DIR), table_dir,
        created_by)
    dataset_info.write_rejects(os.path.join(tmp_dir, dataset_info.REJECTS_FILE), rejects)
    dataset_info.write_info(os.path.join(tmp_dir, dataset_info.DATASET_INFO_FILE), info)
    with open(os.path.join(tmp_dir, dataset_info.CONFIG_FILE), "w", encoding="utf-8") as handle:
        handle.write(f"# {created_by}\n")
        handle.write(plan.config.to_yaml())
    shutil.rmtree(work_dir)
    return info


def build_pipeline(config: FeaturizeConfig, table_dir: str, out_dir: str,
                   pipeline_options: OptionsLike = None, overwrite: bool = False,
                   created_by: Optional[str] = None, log_every: int = 50) -> FeaturizeResult:
    """Featurizes a table into ``out_dir`` (plans, runs the Beam pipeline, finalises).

    Args:
      config: The validated configuration.
      table_dir: Annotation table directory (``tfser.annotations.save_table`` layout).
      out_dir: Output directory (must not exist unless ``overwrite``).
      pipeline_options: Beam options (object, argv list or dict); local FnApiRunner default.
      overwrite: Replace an existing ``out_dir`` atomically.
      created_by: The command recorded in dataset_info.json and config.yaml.
      log_every: Progress line per worker every this many utterances.

    Returns:
      The :class:`FeaturizeResult`.

    Raises:
      FileExistsError: ``out_dir`` exists and ``overwrite`` is False.
      ValueError: Bad config for this table (nothing to featurize, bad labels/split).
      dataset_info.ReconciliationError: Examples lost or duplicated by the runner.
    """
    started = time.perf_counter()
    out_dir = os.path.abspath(out_dir)
    check_output_dir(out_dir, overwrite)
    created_by = created_by or "tfser.beam.build_pipeline (Python API)"
    # Only the plan outlives this line: the table is not kept during the run.
    plan = plan_lib.make_plan(config, annotations.load_table(table_dir))
    options = make_pipeline_options(pipeline_options)
    # Runs killed with SIGKILL leave their <out>.tmp-<pid> behind; this one's own
    # name is among them when an earlier run had the same pid.
    stale.remove_stale_temps(out_dir, _LOG)
    tmp_dir = atomic.temp_sibling(out_dir)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    _LOG.info("featurizing %d utterances (%d not selected) with %s into %s",
              len(plan.items), len(plan.not_selected), list(config.all_features), out_dir)
    try:
        plan, chunks = _write_items(plan, tmp_dir)
        _run_beam(plan, chunks, tmp_dir, options, log_every)
        info = _finalise(plan, tmp_dir, table_dir, created_by)
        check_output_dir(out_dir, overwrite)  # someone may have created it meanwhile
        replace_dir(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    for line in audio_check_lines(info["counts"]):
        _LOG.warning("%s", line)
    return FeaturizeResult(out_dir=out_dir, info=info, seconds=time.perf_counter() - started)
