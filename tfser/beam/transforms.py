"""Beam shells around the pure featurization core (:mod:`tfser.beam.work`).

* :class:`FeaturizeFn` - builds the extractors once per worker (``setup``); each
  element is a chunk file of work items written by the driver
  (:mod:`tfser.beam.item_chunks`), whose items it runs through
  :func:`~tfser.beam.work.featurize_item`. It writes everything a bundle produces to
  files of its own: each encoded example to a part file of its (shard group, shard),
  and the bundle's records (one summary per written example, the rejects, and the
  normalisation moments summed per speaker) to one JSON-lines file, each record as it
  comes. It emits nothing.
  It also reports progress with an ETA.
* :class:`Featurize` - the composite: chunk paths in, bundle files out, read back by the
  driver, which merges the parts of each shard into ``<group>-SSSSS-of-NNNNN.tfrecord``
  sorted by utterance id (:func:`tfser.beam.shards.merge_parts`) and gathers the
  records (:func:`tfser.beam.shards.gather_records`).

Why files written by the DoFn and not a ``GroupByKey`` of examples (or
``WriteToTFRecord``): a grouping shuffle holds every encoded example in memory on the
DirectRunner (8 GB for 1,800 spectrogram examples, measured), while part files stream to
disk as they are made, and the driver then merges them one record at a time.
``WriteToTFRecord`` would need one sink per speaker in the graph.

Why the graph is a single ``ParDo`` with no outputs (no tagged outputs, combine or text
sink): Beam 2.77's DaskRunner hands every tagged output of a ``ParDo`` to each consumer
of any one of them, computes only the last transform of the graph, and runs a file sink's
finalisation as a nested Dask computation; ``Create -> ParDo`` is what every runner runs.

Commit protocol (what makes a retried bundle harmless): a bundle writes under temporary
names and, in ``finish_bundle``, renames each file to a name derived from the utterance
ids it processed, records last. A bundle re-run by the runner (a worker died, or its
result was lost with its worker) processes the same items, produces the same bytes and
replaces the same files, so nothing is counted twice; files of an attempt that died
before its renames keep their temporary names and are ignored. Sorting in the merge
makes the shards byte-identical whatever the runner, the number of workers or the
bundling.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from typing import Any, Dict, List, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from tfser.beam import item_chunks
from tfser.beam import stats as stats_lib
from tfser.beam import work

_LOG = logging.getLogger("tfser.beam")
NAMESPACE = "tfser.featurize"
TFRECORD_SUFFIX = ".tfrecord"
RECORDS_SUFFIX = ".jsonl"
# Record kinds of a bundle's records file.
WRITTEN, REJECTED, MOMENTS = "written", "rejected", "moments"
# Prefix of a file a bundle is still writing (renamed away when the bundle commits).
TEMP_PREFIX = "_inprogress-"


def shard_file_name(group: str, shard: int, num_shards: int) -> str:
    """``synthetic_S01F-00000-of-00001.tfrecord``."""
    return f"{group}-{shard:05d}-of-{num_shards:05d}{TFRECORD_SUFFIX}"


PART_SEPARATOR = "__part-"


def part_file_name(group: str, shard: int, token: str) -> str:
    """A part of one shard written by one bundle: ``<group>-SSSSS__part-<token>``."""
    return f"{group}-{shard:05d}{PART_SEPARATOR}{token}{TFRECORD_SUFFIX}"


def records_file_name(token: str) -> str:
    """The records of one bundle: ``records__part-<token>.jsonl``."""
    return f"records{PART_SEPARATOR}{token}{RECORDS_SUFFIX}"


def is_committed(name: str) -> bool:
    """Whether a file in the parts directory belongs to a bundle that finished."""
    return PART_SEPARATOR in name and not name.startswith(TEMP_PREFIX)


def bundle_token(utt_ids: List[str]) -> str:
    """The name of a bundle's files: a digest of the utterances it processed, in order."""
    return hashlib.sha256("\n".join(utt_ids).encode("utf-8")).hexdigest()[:32]


def shard_pattern(group: str) -> str:
    """Glob matching every shard of one group (and of no other group)."""
    return f"{group}-?????-of-?????{TFRECORD_SUFFIX}"


class RecordsFile:
    """A bundle's JSON-lines records file: appended as records come, committed by rename.

    Written under a temporary name (``_inprogress-<attempt>-...``); :meth:`commit`
    renames it to ``records__part-<token>.jsonl``. The rename is the bundle's commit:
    the driver reads only committed records files
    (:func:`tfser.beam.shards.committed_files`), and a re-run of the same items replaces
    the file of the same name. Nothing is held in memory but the open file.

    Args:
      parts_dir: The bundles' directory (any ``tf.io.gfile`` path every worker reaches).
      attempt: This bundle attempt's id (names its temporary files).
    """

    def __init__(self, parts_dir: str, attempt: str):
        self.parts_dir = parts_dir
        self.temp = os.path.join(parts_dir, f"{TEMP_PREFIX}{attempt}-{records_file_name('')}")
        self._handle = None

    def add(self, record: Dict[str, Any]) -> None:
        """Appends one JSON-ready record (keys sorted)."""
        if self._handle is None:
            import tensorflow as tf  # pylint: disable=import-outside-toplevel
            self._handle = tf.io.gfile.GFile(self.temp, "w")
        self._handle.write(json.dumps(record, sort_keys=True) + "\n")

    def commit(self, token: str) -> str:
        """Closes the file and renames it to its final name; returns the final path."""
        import tensorflow as tf  # pylint: disable=import-outside-toplevel
        if self._handle is None:
            self._handle = tf.io.gfile.GFile(self.temp, "w")
        self._handle.close()
        final = os.path.join(self.parts_dir, records_file_name(token))
        tf.io.gfile.rename(self.temp, final, overwrite=True)
        return final


class _Bundle:
    """What one bundle has written so far: temporary files, records, summed moments.

    Records go to the temporary records file as they come (a bundle of the local runner
    holds thousands of utterances); only the moments, summed per speaker, wait in
    memory for the commit.
    """

    def __init__(self, parts_dir: str):
        self.parts_dir = parts_dir
        self.attempt = uuid.uuid4().hex
        self.writers: Dict[Tuple[str, int], Any] = {}
        self.utt_ids: List[str] = []
        self.moments: Dict[Tuple[str, str, str], stats_lib.Moments] = {}
        self.records = RecordsFile(parts_dir, self.attempt)

    def _temp(self, name: str) -> str:
        return os.path.join(self.parts_dir, f"{TEMP_PREFIX}{self.attempt}-{name}")

    def writer(self, key: Tuple[str, int]):
        if key not in self.writers:
            import tensorflow as tf  # pylint: disable=import-outside-toplevel
            group, shard = key
            self.writers[key] = tf.io.TFRecordWriter(
                self._temp(part_file_name(group, shard, "")))
        return self.writers[key]

    def add_moments(self, key: Tuple[str, str, str], moments: stats_lib.Moments) -> None:
        stats_lib.accumulate(self.moments, key, moments)

    def commit(self) -> None:
        """Closes the parts and renames every file to its final, content-derived name."""
        import tensorflow as tf  # pylint: disable=import-outside-toplevel
        for writer in self.writers.values():
            writer.close()
        if not self.utt_ids:
            return
        token = bundle_token(self.utt_ids)
        for group, shard in sorted(self.writers):
            tf.io.gfile.rename(self._temp(part_file_name(group, shard, "")),
                               os.path.join(self.parts_dir, part_file_name(group, shard, token)),
                               overwrite=True)
        for record in stats_lib.moments_records(self.moments):
            self.records.add({"kind": MOMENTS, **record})
        # Last: a records file present means the bundle's parts are all in place.
        self.records.commit(token)


class FeaturizeFn(beam.DoFn):
    """Featurizes work items into bundle files; see the module docstring."""

    def __init__(self, settings: work.WorkSettings, parts_dir: str, log_every: int = 50,
                 expected_per_worker: int = 0):
        super().__init__()
        self._settings = settings
        self._parts_dir = parts_dir
        self._bundle = None
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
        self._bundle = _Bundle(self._parts_dir)

    def finish_bundle(self):
        self._bundle.commit()
        self._bundle = None

    def process(self, chunk_path: str):
        """Featurizes every work item of one chunk file (:mod:`tfser.beam.item_chunks`)."""
        for item in item_chunks.read_chunk(chunk_path):
            self._featurize(item)
        return ()

    def _featurize(self, item: work.WorkItem) -> None:
        bundle = self._bundle
        bundle.utt_ids.append(item.utt_id)
        for outcome in work.featurize_item(item, self._extractors, self._settings):
            if isinstance(outcome, work.Rejected):
                self._rejects.inc()
                bundle.records.add({"kind": REJECTED, **outcome.record()})
                continue
            self._examples.inc()
            bundle.writer((outcome.group, outcome.shard)).write(outcome.serialized)
            bundle.records.add({"kind": WRITTEN, **outcome.record()})
            for name, moments in outcome.moments.items():
                bundle.add_moments((outcome.speaker_id, item.stats_part, name), moments)
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


class Featurize(beam.PTransform):
    """Work-item chunk files -> committed bundle files in ``parts_dir`` (see the module
    docstring)."""

    def __init__(self, settings: work.WorkSettings, parts_dir: str, log_every: int = 50,
                 expected_per_worker: int = 0):
        super().__init__()
        self._settings = settings
        self._parts_dir = parts_dir
        self._log_every = log_every
        self._expected = expected_per_worker

    def expand(self, items):
        return items | "Featurize" >> beam.ParDo(
            FeaturizeFn(self._settings, self._parts_dir, self._log_every, self._expected))
