"""The reader's memory budget: what may be cached and how many examples buffered.

An input pipeline holds examples in three places: an in-memory cache (a whole part),
the shuffle buffer, and tf.data's autotuned buffers (parallel reads, maps, prefetch).
Counting them in examples is not enough: 1,024 functionals take 0.4 MB, 1,024
spectrograms of 5 s several hundred MB. :func:`plan_memory` turns a byte budget and
the part's measured size per example (its shard files' bytes over their records)
into the cache decision and the shuffle buffer; tf.data's autotuned buffers get the
budget as their ``autotune.ram_budget``.

Pure functions of numbers, so the rules are tested without reading data.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Iterable, Mapping, Optional, Sequence, Union

_LOG = logging.getLogger("tfser.data")

MIB = 2 ** 20
# What the reader's buffers may hold together by default (cache or shuffle buffer, and
# tf.data's own buffers); the training process (TensorFlow, model) comes on top. At
# 2 GiB the default shuffle buffer (1,024 examples) stays whole for examples up to
# ~1 MB (spectrograms of ~6 s: every shipped recipe trains as before the budget) and
# shrinks for longer ones; pass a smaller memory_budget on a small machine.
DEFAULT_MEMORY_BUDGET = 2048 * MIB
# Parsed tensors carry targets, weights and meta strings besides the features.
PER_EXAMPLE_OVERHEAD = 1024
# The shuffle buffer of an uncached part may use this share of the budget; the rest is
# left to tf.data's read-ahead, parsing and prefetching.
SHUFFLE_SHARE = 0.5


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    """How one part is read within the budget.

    Attributes:
      cache: What ``tf.data.Dataset.cache`` gets: False (no cache), True (in memory)
        or a file path (on disk, outside the budget).
      shuffle_buffer: Examples in the shuffle buffer.
      ram_budget: Bytes for tf.data's autotuned buffers.
      example_bytes: The estimated bytes of one example.
      note: Why a requested in-memory cache was refused ("" when it was not).
      requested_shuffle_buffer: The shuffle buffer asked for (more than
        ``shuffle_buffer`` when the budget capped it).
    """

    cache: Union[bool, str]
    shuffle_buffer: int
    ram_budget: int
    example_bytes: int
    note: str = ""
    requested_shuffle_buffer: int = 0


def check_budget(budget: int) -> int:
    """The budget as an int; raises ValueError unless it is a positive number of bytes."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
        raise ValueError(f"memory_budget must be a positive number of bytes, got {budget!r}")
    return int(budget)


def plan_memory(count: int, record_bytes: float, cache: Union[bool, str],
                shuffle_buffer: int, budget: int = DEFAULT_MEMORY_BUDGET,
                whole_part_shuffle: bool = False) -> MemoryPlan:
    """The cache and shuffle buffer of a part of ``count`` examples within ``budget``.

    Args:
      count: Examples in the part (the sidecar's count; 0 when unknown).
      record_bytes: Mean serialised bytes of one example (float32 features are 4 bytes
        per value both serialised and parsed).
      cache: The requested cache (see ``build_dataset``): True in memory is refused,
        and the part streamed instead, when the part would exceed the budget.
      shuffle_buffer: The requested shuffle buffer, in examples.
      budget: Bytes the reader's buffers may hold.
      whole_part_shuffle: A part cached in memory is reshuffled whole each epoch
        (the buffer then holds references to the cached tensors, no copies).

    Returns:
      The :class:`MemoryPlan`.
    """
    budget = check_budget(budget)
    example_bytes = int(round(record_bytes)) + PER_EXAMPLE_OVERHEAD
    note = ""
    if cache is True and count * example_bytes > budget:
        note = (f"cache=True would hold ~{count * example_bytes / MIB:.0f} MB "
                f"({count} examples of ~{example_bytes / 1024:.0f} KB), over the reader's "
                f"memory budget of {budget / MIB:.0f} MB: streaming from the TFRecords "
                "instead (pass cache=<file path> to cache on disk, or a larger "
                "memory_budget)")
        cache = False
    if cache is True:
        buffer = max(shuffle_buffer, count) if whole_part_shuffle else shuffle_buffer
    else:
        fits = max(1, int(budget * SHUFFLE_SHARE) // example_bytes)
        buffer = min(shuffle_buffer, fits)
    return MemoryPlan(cache=cache, shuffle_buffer=buffer, ram_budget=budget,
                      example_bytes=example_bytes, note=note,
                      requested_shuffle_buffer=shuffle_buffer)


def mean_record_bytes(files: Sequence[str], groups: Mapping[str, Mapping],
                      data_dir: str, fallback_count: Optional[int]) -> float:
    """Mean bytes per record of ``files``: their sizes over the records they hold.

    Args:
      files: Absolute shard paths of the part.
      groups: The sidecar's ``groups`` (each with ``files``, relative, and ``count``).
      data_dir: The featurized directory (root of the relative paths).
      fallback_count: Records to divide by when no group lists the files (older
        sidecars): the part's own count.
    """
    wanted = {os.path.normpath(f) for f in files}
    total_bytes = sum(os.path.getsize(f) for f in wanted)
    records = sum(int(g.get("count", 0)) for g in groups.values()
                  if _any_in(g.get("files", ()), data_dir, wanted))
    records = records or int(fallback_count or 0)
    return total_bytes / records if records else 0.0


def _any_in(relative: Iterable[str], data_dir: str, wanted: set) -> bool:
    return any(os.path.normpath(os.path.join(data_dir, f)) in wanted for f in relative)


def log_plan(plan: MemoryPlan, where: str) -> None:
    """Logs what the budget changed: a refused cache (warning), a capped shuffle (info)."""
    if plan.note:
        _LOG.warning("%s: %s", where, plan.note)
    if plan.shuffle_buffer < plan.requested_shuffle_buffer:
        _LOG.info("%s: shuffle buffer capped at %d examples of ~%.0f KB (asked %d; %.0f%% of "
                  "the %.0f MB memory budget)", where, plan.shuffle_buffer,
                  plan.example_bytes / 1024, plan.requested_shuffle_buffer,
                  100 * SHUFFLE_SHARE, plan.ram_budget / MIB)
