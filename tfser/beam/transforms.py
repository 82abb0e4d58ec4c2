"""Beam shells around the pure featurization core (:mod:`tfser.beam.work`).

* :class:`FeaturizeFn` - builds the extractors once per worker (``setup``), runs
  :func:`~tfser.beam.work.featurize_item`, appends each encoded example to a part
  file of its (shard group, shard) opened for the current bundle, and routes the
  other outcomes: rejects, per-example summaries, per-speaker normalisation moments
  and the part files written (tagged outputs). It also reports progress with an ETA.
* :class:`Featurize` - the composite: work items in, part files and JSON-lines work
  files (summaries, rejects, moments, parts) out, read back by the driver, which
  merges the parts of each shard into ``<group>-SSSSS-of-NNNNN.tfrecord`` sorted by
  utterance id (:func:`tfser.beam.shards.merge_parts`).

Why part files and not a ``GroupByKey`` of examples (or ``WriteToTFRecord``): a
grouping shuffle holds every encoded example in memory on the DirectRunner (8 GB for
1,800 spectrogram examples, measured), while part files stream to disk as they are
made, and the driver then holds one shard at a time. ``WriteToTFRecord`` would need
one sink per speaker in the graph. Sorting in the merge gives byte-identical files
whatever the number of workers or the bundling.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from typing import Any, Dict, Tuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics

from tfser.beam import stats as stats_lib
from tfser.beam import work

_LOG = logging.getLogger("tfser.beam")
NAMESPACE = "tfser.featurize"
TFRECORD_SUFFIX = ".tfrecord"


def shard_file_name(group: str, shard: int, num_shards: int) -> str:
    """``synthetic_S01F-00000-of-00001.tfrecord``."""
    return f"{group}-{shard:05d}-of-{num_shards:05d}{TFRECORD_SUFFIX}"


PART_SEPARATOR = "__part-"


def part_file_name(group: str, shard: int, token: str) -> str:
    """A part of one shard written by one bundle: ``<group>-SSSSS__part-<token>``."""
    return f"{group}-{shard:05d}{PART_SEPARATOR}{token}{TFRECORD_SUFFIX}"


def shard_pattern(group: str) -> str:
    """Glob matching every shard of one group (and of no other group)."""
    return f"{group}-?????-of-?????{TFRECORD_SUFFIX}"


class FeaturizeFn(beam.DoFn):
    """Featurizes work items; see the module docstring for the outputs."""

    REJECTS = "rejects"
    WRITTEN = "written"
    MOMENTS = "moments"

    def __init__(self, settings: work.WorkSettings, parts_dir: str, log_every: int = 50,
                 expected_per_worker: int = 0):
        super().__init__()
        self._settings = settings
        self._parts_dir = parts_dir
        self._writers: Dict[Tuple[str, int], Any] = {}
        self._log_every = max(1, int(log_every))
        # Work items this worker is expected to see (total / workers); 0 = unknown,
        # then no ETA is printed.
        self._expected = max(0, int(expected_per_worker))
        self._extractors = None
        self._utterances = Metrics.counter(NAMESPACE, "utterances")
        self._examples = Metrics.counter(NAMESPACE, "examples_written")
        self._rejects = Metrics.counter(NAMESPACE, "examples_rejected")
        self._audio_ms = Metrics.counter(NAMESPACE, "audio_ms")

    def setup(self):
        # Imported here so that unpickling the DoFn does not build openSMILE objects;
        # setup() runs once per DoFn instance on the worker.
        from tfser.features import registry  # pylint: disable=import-outside-toplevel
        self._extractors = [registry.FeatureExtractor(d, self._settings.sample_rate).setup()
                            for d in self._settings.definitions]
        self._started = time.perf_counter()
        self._done = 0
        self._audio_s = 0.0

    def start_bundle(self):
        self._writers = {}

    def _writer(self, key: Tuple[str, int]):
        if key not in self._writers:
            import tensorflow as tf  # pylint: disable=import-outside-toplevel
            group, shard = key
            # A fresh token per bundle: a retried bundle writes new parts, and the
            # driver's reconciliation then catches any duplicated example.
            name = part_file_name(group, shard, uuid.uuid4().hex)
            self._writers[key] = tf.io.TFRecordWriter(os.path.join(self._parts_dir, name))
        return self._writers[key]

    def finish_bundle(self):
        # The driver finds the parts by listing the parts directory, so nothing is
        # emitted here (finish_bundle outputs would need an explicit window).
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def process(self, item: work.WorkItem):
        for outcome in work.featurize_item(item, self._extractors, self._settings):
            if isinstance(outcome, work.Rejected):
                self._rejects.inc()
                yield pvalue.TaggedOutput(self.REJECTS, outcome.record())
                continue
            self._examples.inc()
            key = (outcome.group, outcome.shard)
            self._writer(key).write(outcome.serialized)
            yield pvalue.TaggedOutput(self.WRITTEN, outcome.record())
            for name, moments in outcome.moments.items():
                yield pvalue.TaggedOutput(
                    self.MOMENTS, ((outcome.speaker_id, item.stats_part, name), moments))
            if outcome.variant == work.ORIGINAL:
                self._audio_s += outcome.audio_s
                self._audio_ms.inc(int(round(1000 * outcome.audio_s)))
        self._utterances.inc()
        self._done += 1
        if self._done % self._log_every == 0:
            self._log_progress()

    def _log_progress(self):
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = self._done / elapsed
        eta = ""
        if self._expected > self._done:
            eta = f", ETA {(self._expected - self._done) / rate:.0f} s"
        _LOG.info("featurize worker %d/%s: %d%s utterances, %.1f utt/s, %.1fx real time%s",
                  os.getpid(), threading.current_thread().name, self._done,
                  f"/~{self._expected}" if self._expected else "", rate,
                  self._audio_s / elapsed, eta)


def _to_json(record: Dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def _moments_json(element) -> str:
    (speaker, stats_part, name), moments = element
    return json.dumps({"speaker_id": speaker, "stats_part": stats_part, "feature": name,
                       **moments.to_json()}, sort_keys=True)


class Featurize(beam.PTransform):
    """Work items -> shard files in ``examples_dir`` + JSON-lines files in ``work_dir``.

    Work files (each a set of ``<name>-SSSSS-of-NNNNN.jsonl`` shards): ``written``
    (one summary per example), ``rejects``, ``moments`` (per speaker and feature set,
    original examples only) and ``files`` (one line per shard file written).
    """

    WORK_FILES = ("written", "rejects", "moments", "files")

    def __init__(self, settings: work.WorkSettings, parts_dir: str, work_dir: str,
                 log_every: int = 50, expected_per_worker: int = 0):
        super().__init__()
        self._settings = settings
        self._parts_dir = parts_dir
        self._work_dir = work_dir
        self._log_every = log_every
        self._expected = expected_per_worker

    def _write(self, pcoll, name: str):
        return pcoll | f"Write{name.title()}" >> beam.io.WriteToText(
            os.path.join(self._work_dir, name), file_name_suffix=".jsonl")

    def expand(self, items):
        outputs = items | "Featurize" >> beam.ParDo(
            FeaturizeFn(self._settings, self._parts_dir, self._log_every,
                        self._expected)).with_outputs(
                FeaturizeFn.REJECTS, FeaturizeFn.WRITTEN, FeaturizeFn.MOMENTS,
                main="unused")
        moments = (outputs[FeaturizeFn.MOMENTS]
                   | "SumMoments" >> beam.CombinePerKey(stats_lib.MomentsCombineFn())
                   | "MomentsJson" >> beam.Map(_moments_json))
        self._write(outputs[FeaturizeFn.WRITTEN] | "WrittenJson" >> beam.Map(_to_json),
                    "written")
        self._write(outputs[FeaturizeFn.REJECTS] | "RejectsJson" >> beam.Map(_to_json),
                    "rejects")
        return self._write(moments, "moments")
