"""Driver-side merge of the workers' part files into the final per-speaker shards.

Workers append examples to part files as they go (one per bundle and shard; see
:mod:`tfser.beam.transforms`). Here the parts of each (group, shard) are read, sorted
by utterance id and written as ``<group>-SSSSS-of-NNNNN.tfrecord``, one shard in
memory at a time; the parts are then deleted. Sorting makes the files byte-identical
whatever the number of workers or the way the runner bundled the work.
"""

from __future__ import annotations

import collections
import json
import os
from typing import Dict, List, Tuple

import tensorflow as tf

from tfser.beam import transforms
from tfser.features import example_codec

FILES_WORK_FILE = "files-00000-of-00001.jsonl"


def _parse_part_name(name: str) -> Tuple[str, int]:
    stem = name[:name.index(transforms.PART_SEPARATOR)]
    group, shard = stem.rsplit("-", 1)
    return group, int(shard)


def merge_parts(parts_dir: str, examples_dir: str, num_shards: int) -> List[Dict]:
    """Merges every shard's parts; returns one record per file written.

    Args:
      parts_dir: Directory of the workers' part files (removed afterwards).
      examples_dir: Where the final shard files go.
      num_shards: Shards per group (the ``-of-NNNNN`` of the names).

    Returns:
      ``[{"group", "shard", "file", "count"}]`` sorted by file name.
    """
    parts: Dict[Tuple[str, int], List[str]] = collections.defaultdict(list)
    for name in tf.io.gfile.listdir(parts_dir) if tf.io.gfile.exists(parts_dir) else []:
        if transforms.PART_SEPARATOR in name:
            parts[_parse_part_name(name)].append(os.path.join(parts_dir, name))
    records = []
    for (group, shard), paths in sorted(parts.items()):
        examples = []
        for path in sorted(paths):
            for raw in tf.data.TFRecordDataset(path).as_numpy_iterator():
                examples.append((example_codec.example_utt_id(raw), raw))
        examples.sort(key=lambda pair: pair[0])
        name = transforms.shard_file_name(group, shard, num_shards)
        with tf.io.TFRecordWriter(os.path.join(examples_dir, name)) as writer:
            for _, raw in examples:
                writer.write(raw)
        for path in paths:
            tf.io.gfile.remove(path)
        records.append({"group": group, "shard": shard, "file": name, "count": len(examples)})
    if tf.io.gfile.exists(parts_dir):
        tf.io.gfile.rmtree(parts_dir)
    return records


def write_files_record(work_dir: str, records: List[Dict]) -> str:
    """Writes the merge result as the ``files`` work file read by dataset_info."""
    path = os.path.join(work_dir, FILES_WORK_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    return path
