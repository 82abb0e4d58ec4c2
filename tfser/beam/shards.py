"""Driver-side gathering of the bundles' files into the final shards and work files.

Workers write, per bundle, one part file per (group, shard) and one records file (see
:mod:`tfser.beam.transforms`). Here, reading only committed files:

* :func:`merge_parts`: the parts of each (group, shard) are indexed (utterance id,
  file, byte offset of each record), the index is sorted by utterance id and the
  records are copied in that order into ``<group>-SSSSS-of-NNNNN.tfrecord``. Only the
  index and one record are in memory at a time, so a shard of thousands of
  spectrograms (GBs) merges in a few MB. Sorting makes the files byte-identical
  whatever the runner, the number of workers or the way the runner bundled the work.
* :func:`gather_records`: the records become the JSON-lines work files that
  :mod:`tfser.beam.dataset_info` reads (``written``, ``rejects``, ``moments`` summed per
  speaker, and ``files`` from the merge).

The parts directory is removed at the end, with any file of a bundle attempt that died
before committing.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import struct
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

import tensorflow as tf

from tfser.beam import stats as stats_lib
from tfser.beam import transforms
from tfser.features import example_codec

FILES_WORK_FILE = "files-00000-of-00001.jsonl"
# Work file of each record kind (read by dataset_info.read_work_file).
RECORD_WORK_FILES = {transforms.WRITTEN: "written", transforms.REJECTED: "rejects",
                     transforms.MOMENTS: "moments"}


def _parse_part_name(name: str) -> Tuple[str, int]:
    stem = name[:name.index(transforms.PART_SEPARATOR)]
    group, shard = stem.rsplit("-", 1)
    return group, int(shard)


def committed_files(parts_dir: str, suffix: str) -> List[str]:
    """Sorted names of the files ending in ``suffix`` of the bundles that committed.

    A bundle commits its records file last: parts renamed by an attempt that died
    before that (and whose retry was bundled differently, so got another token) are
    left out, or their examples would be counted twice.
    """
    if not tf.io.gfile.exists(parts_dir):
        return []
    names = [name for name in tf.io.gfile.listdir(parts_dir) if transforms.is_committed(name)]
    tokens = {_token(name) for name in names if name.endswith(transforms.RECORDS_SUFFIX)}
    return sorted(name for name in names
                  if name.endswith(suffix) and _token(name) in tokens)


def _token(name: str) -> str:
    """The bundle token of a committed file name (``...__part-<token>.<suffix>``)."""
    return name.split(transforms.PART_SEPARATOR, 1)[1].split(".", 1)[0]


# TFRecord framing: uint64 length, uint32 CRC of the length, data, uint32 CRC of the data.
_LENGTH = struct.Struct("<Q")
_HEADER_BYTES = _LENGTH.size + 4
_FOOTER_BYTES = 4


class RecordRef(NamedTuple):
    """Where one record of a TFRecord file lies: its sort key, file, offset and size."""

    utt_id: str
    path: str
    offset: int
    length: int


def index_records(path: str) -> Iterator[RecordRef]:
    """Yields a :class:`RecordRef` per record of an uncompressed TFRecord file, in order.

    Reads one record at a time (to get its utterance id). The CRCs are not checked:
    the parts were just written by the bundles, and the final shards get fresh ones.

    Raises:
      ValueError: The file ends in the middle of a record.
    """
    with tf.io.gfile.GFile(path, "rb") as handle:
        offset = 0
        while True:
            header = handle.read(_HEADER_BYTES)
            if not header:
                return
            if len(header) < _HEADER_BYTES:
                raise ValueError(f"{path}: truncated TFRecord header at byte {offset}")
            (length,) = _LENGTH.unpack_from(header)
            data = handle.read(length)
            if len(data) < length or len(handle.read(_FOOTER_BYTES)) < _FOOTER_BYTES:
                raise ValueError(f"{path}: truncated TFRecord at byte {offset}")
            yield RecordRef(example_codec.example_utt_id(data), path,
                            offset + _HEADER_BYTES, length)
            offset += _HEADER_BYTES + length + _FOOTER_BYTES


def _copy_sorted(refs: List[RecordRef], out_path: str) -> None:
    """Writes the records of ``refs`` into a new TFRecord file in utterance id order."""
    refs = sorted(refs, key=lambda ref: ref.utt_id)
    handles: Dict[str, object] = {}
    try:
        with tf.io.TFRecordWriter(out_path) as writer:
            for ref in refs:
                if ref.path not in handles:
                    handles[ref.path] = tf.io.gfile.GFile(ref.path, "rb")
                handle = handles[ref.path]
                handle.seek(ref.offset)
                writer.write(handle.read(ref.length))
    finally:
        for handle in handles.values():
            handle.close()


def merge_parts(parts_dir: str, examples_dir: str, num_shards: int) -> List[Dict]:
    """Merges every shard's committed parts; returns one record per file written.

    Args:
      parts_dir: Directory of the workers' bundle files.
      examples_dir: Where the final shard files go.
      num_shards: Shards per group (the ``-of-NNNNN`` of the names).

    Returns:
      ``[{"group", "shard", "file", "count"}]`` sorted by file name.
    """
    parts: Dict[Tuple[str, int], List[str]] = collections.defaultdict(list)
    for name in committed_files(parts_dir, transforms.TFRECORD_SUFFIX):
        parts[_parse_part_name(name)].append(os.path.join(parts_dir, name))
    records = []
    for (group, shard), paths in sorted(parts.items()):
        refs = [ref for path in paths for ref in index_records(path)]
        name = transforms.shard_file_name(group, shard, num_shards)
        _copy_sorted(refs, os.path.join(examples_dir, name))
        for path in paths:
            tf.io.gfile.remove(path)
        records.append({"group": group, "shard": shard, "file": name, "count": len(refs)})
    return records


def _read_records(parts_dir: str) -> Iterator[Dict]:
    for name in committed_files(parts_dir, transforms.RECORDS_SUFFIX):
        with tf.io.gfile.GFile(os.path.join(parts_dir, name)) as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def _write_jsonl(path: str, records: Iterable[Dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def gather_records(parts_dir: str, work_dir: str) -> None:
    """Writes the bundles' records as the work files and removes ``parts_dir``.

    Moments are summed per (speaker, part, feature set) in the bundles' name order, so
    the same bundles always give the same sums.
    """
    by_kind: Dict[str, List[Dict]] = {kind: [] for kind in RECORD_WORK_FILES}
    moments: Dict[Tuple[str, str, str], stats_lib.Moments] = {}
    for record in _read_records(parts_dir):
        kind = record.pop("kind")
        if kind != transforms.MOMENTS:
            by_kind[kind].append(record)
            continue
        stats_lib.accumulate(moments, (record["speaker_id"], record["stats_part"],
                                       record["feature"]), stats_lib.Moments.from_json(record))
    by_kind[transforms.MOMENTS] = stats_lib.moments_records(moments)
    for kind, records in by_kind.items():
        records.sort(key=lambda r: (r.get("utt_id", ""), r.get("variant", "")))
        _write_jsonl(os.path.join(work_dir, f"{RECORD_WORK_FILES[kind]}-00000-of-00001.jsonl"),
                     records)
    if tf.io.gfile.exists(parts_dir):
        tf.io.gfile.rmtree(parts_dir)


def write_files_record(work_dir: str, records: List[Dict]) -> str:
    """Writes the merge result as the ``files`` work file read by dataset_info."""
    path = os.path.join(work_dir, FILES_WORK_FILE)
    _write_jsonl(path, records)
    return path


# Seconds between the driver's progress lines on a cluster.
PROGRESS_EVERY_S = 30.0


class CommittedProgress:
    """The driver's progress line during a cluster run, from the committed bundles.

    On a cluster the workers log to their own logs and the driver would be silent until
    the end. Used as a context manager around the run, this polls ``parts_dir`` every
    ``every_s`` seconds, reads each newly committed records file once (a bundle's, or a
    prediction part's) and logs ``done/total <unit>, rate, ETA``. ``count(record)``
    says how many units one record accounts for. A bundle re-run after a lost worker
    replaces its file under the same name and is not counted again.

    Args:
      parts_dir: The bundles' directory.
      total: Units the run will account for.
      count: Units per record (e.g. 1 for a featurized original, 0 for moments).
      unit: What is counted (``utterances``, ``files``).
      enabled: False makes the block a no-op (the local runner commits only at the
        end of its large bundles, and its workers print their own ETA).
      every_s: Seconds between lines.
      log: The logger.
    """

    def __init__(self, parts_dir: str, total: int, count: Callable[[Dict[str, Any]], int],
                 unit: str, enabled: bool = True, every_s: float = PROGRESS_EVERY_S,
                 log: Optional[logging.Logger] = None):
        self.parts_dir, self.total, self.count, self.unit = parts_dir, int(total), count, unit
        self.enabled, self.every_s = enabled, float(every_s)
        self.log = log or logging.getLogger("tfser.beam")
        self.done = 0
        self._seen: set = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tfser-progress", daemon=True)
        self._started = 0.0

    def poll(self) -> int:
        """Counts the records of the files committed since the last poll; returns the
        units done so far."""
        for name in committed_files(self.parts_dir, transforms.RECORDS_SUFFIX):
            if name in self._seen:
                continue
            self._seen.add(name)
            with tf.io.gfile.GFile(os.path.join(self.parts_dir, name)) as handle:
                self.done += sum(self.count(json.loads(line)) for line in handle
                                 if line.strip())
        return self.done

    def line(self, elapsed_s: float) -> str:
        """``done/total unit in committed bundles, rate, ETA`` after ``elapsed_s``."""
        # A retried bundle cut differently commits its files under another name.
        done = min(self.done, self.total)
        rate = done / max(elapsed_s, 1e-9)
        eta = (f", ETA {(self.total - done) / rate:.0f} s"
               if rate > 0 and self.total > done else "")
        return (f"driver: {done}/{self.total} {self.unit} in committed bundles, "
                f"{rate:.1f} {self.unit}/s{eta}")

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.poll()
            except (OSError, ValueError) as error:  # a file renamed under us: next time
                self.log.debug("progress poll: %s", error)
                continue
            self.log.info("%s", self.line(time.perf_counter() - self._started))

    def __enter__(self) -> "CommittedProgress":
        if self.enabled:
            self._started = time.perf_counter()
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
