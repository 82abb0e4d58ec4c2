"""The reader's memory budget (tfser.data.memory): pure rules, then build_dataset."""

import logging
import os

import numpy as np
import pytest

from tfser import data
from tfser.data import memory
from tests.data import builders

MIB = memory.MIB
SPECTROGRAM = 500 * 1024  # ~5 s of a 001 spectrogram, float32
FUNCTIONALS = 88 * 4 + 200


def test_spectrograms_of_a_large_corpus_stream_with_a_bounded_shuffle_buffer():
    plan = memory.plan_memory(20000, SPECTROGRAM, cache=True, shuffle_buffer=1024,
                              budget=512 * MIB, whole_part_shuffle=True)
    assert plan.cache is False
    assert "memory budget of 512 MB" in plan.note and "cache=<file path>" in plan.note
    # Half the budget over ~0.5 MB examples: 511, not the 1,024 asked (~0.5 GB).
    assert plan.shuffle_buffer == (256 * MIB) // (SPECTROGRAM + memory.PER_EXAMPLE_OVERHEAD)
    assert plan.shuffle_buffer * plan.example_bytes <= 256 * MIB
    assert plan.ram_budget == 512 * MIB


def test_functionals_of_the_same_corpus_are_still_cached_and_shuffled_whole():
    plan = memory.plan_memory(20000, FUNCTIONALS, cache=True, shuffle_buffer=1024,
                              budget=512 * MIB, whole_part_shuffle=True)
    assert plan.cache is True and plan.note == ""
    assert plan.shuffle_buffer == 20000


def test_the_buffer_is_never_below_one_example_and_never_above_the_request():
    huge = memory.plan_memory(10, 4 * 1024 * MIB, cache=False, shuffle_buffer=64,
                              budget=MIB)
    assert huge.shuffle_buffer == 1
    small = memory.plan_memory(10, 100, cache=False, shuffle_buffer=64, budget=MIB)
    assert small.shuffle_buffer == 64


def test_a_disk_cache_is_kept_but_its_shuffle_buffer_is_budgeted():
    plan = memory.plan_memory(20000, SPECTROGRAM, cache="/tmp/cache", shuffle_buffer=1024,
                              budget=64 * MIB, whole_part_shuffle=True)
    assert plan.cache == "/tmp/cache" and plan.note == ""
    assert plan.shuffle_buffer * plan.example_bytes <= 32 * MIB


@pytest.mark.parametrize("budget", [0, -1, True, "1GB"])
def test_a_bad_budget_is_refused(budget):
    with pytest.raises(ValueError, match="memory_budget must be a positive number"):
        memory.check_budget(budget)


def test_mean_record_bytes_divides_the_files_by_their_records(tmp_path):
    for name, size in (("a.tfrecord", 1000), ("b.tfrecord", 3000), ("c.tfrecord", 50)):
        (tmp_path / name).write_bytes(b"x" * size)
    groups = {"A": {"files": ["a.tfrecord"], "count": 2},
              "B": {"files": ["b.tfrecord"], "count": 2},
              "C": {"files": ["c.tfrecord"], "count": 1}}
    files = [str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")]
    assert memory.mean_record_bytes(files, groups, str(tmp_path), None) == 1000.0
    # A sidecar without groups: the part's own count.
    assert memory.mean_record_bytes(files, {}, str(tmp_path), 8) == 500.0
    assert memory.mean_record_bytes(files, {}, str(tmp_path), None) == 0.0


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return builders.write_fake_data_dir(str(tmp_path_factory.mktemp("features")))


def test_build_dataset_streams_instead_of_caching_over_the_budget(fake, caplog):
    plain = list(data.build_dataset(fake.root, 0, "dev", batch_size=3).as_numpy_iterator())
    with caplog.at_level(logging.WARNING, logger="tfser.data"):
        dataset = data.build_dataset(fake.root, 0, "dev", batch_size=3, cache=True,
                                     memory_budget=1024)
    assert "over the reader's memory budget" in caplog.text
    assert dataset.options().autotune.ram_budget == 1024
    for a, b in zip(plain, dataset.as_numpy_iterator()):
        np.testing.assert_array_equal(a[0]["spec"], b[0]["spec"])


def test_build_dataset_caches_quietly_within_the_budget(fake, caplog):
    with caplog.at_level(logging.WARNING, logger="tfser.data"):
        dataset = data.build_dataset(fake.root, 0, "train", batch_size=3, cache=True,
                                     memory_budget=64 * MIB)
    assert caplog.text == ""
    assert dataset.options().autotune.ram_budget == 64 * MIB
