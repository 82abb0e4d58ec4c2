"""Work items on disk: the driver writes them in chunks, Beam carries only the chunk names.

Why: ``beam.Create(items)`` keeps several copies of every encoded work item (the list
it encodes, the pickled closure in the pipeline graph, its copy on the worker side and
the ``Reshuffle`` buffer of the local runner): about 29 KB per utterance of driver
memory, measured at 20,000 utterances. Here the driver pickles the items into files of
at most :data:`MAX_CHUNK` utterances under ``_work/items`` as it plans them, and the
pipeline creates one element per file (a path); a worker loads a chunk when it
processes it. Memory for work items is then one chunk per worker, whatever the corpus
size. The files go through ``tf.io.gfile`` like the bundles' parts, in the output's
temporary directory, which every worker must reach anyway.

Chunk size: ``ceil(n / 32)`` clamped to ``[1, MAX_CHUNK]``, so a small corpus still
gives the runner a few dozen elements to spread over its workers, and a large one
gives DaskRunner partitions of :data:`MAX_CHUNK` utterances (one chunk each: see
:mod:`tfser.beam.runners`).
"""

from __future__ import annotations

import math
import os
import pickle
from typing import Iterable, Iterator, List

from tfser.beam import work

MAX_CHUNK = 16
# Chunks a small corpus is cut into (at least), for the runner to spread.
MIN_CHUNKS = 32
FILE_PATTERN = "items-{:06d}.pkl"


def chunk_size(total: int) -> int:
    """Utterances per chunk file for a run of ``total`` work items."""
    return min(MAX_CHUNK, max(1, math.ceil(total / MIN_CHUNKS)))


def write_chunks(items: Iterable[work.WorkItem], directory: str, size: int) -> List[str]:
    """Pickles ``items`` into files of ``size`` items each; returns their paths, in order.

    ``items`` may be a generator: at most one chunk is held at a time.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    tf.io.gfile.makedirs(directory)
    paths: List[str] = []
    chunk: List[work.WorkItem] = []

    def flush() -> None:
        path = os.path.join(directory, FILE_PATTERN.format(len(paths)))
        with tf.io.gfile.GFile(path, "wb") as handle:
            pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)
        paths.append(path)
        chunk.clear()

    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            flush()
    if chunk:
        flush()
    return paths


def read_chunk(path: str) -> Iterator[work.WorkItem]:
    """The work items of one chunk file, in the order they were planned."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    with tf.io.gfile.GFile(path, "rb") as handle:
        items = pickle.load(handle)
    yield from items
