"""The bundle commit protocol of FeaturizeFn (what makes a runner's retries harmless)."""

import os

import pytest
import tensorflow as tf

from tfser import beam as tfser_beam
from tfser.beam import dataset_info
from tfser.beam import item_chunks
from tfser.beam import shards
from tfser.beam import transforms

from tests.beam.helpers import config_path


def _bundle(fn, items, finish=True):
    fn.start_bundle()
    for item in items:
        chunk = item_chunks.write_chunks([item], os.path.join(fn.chunk_dir, item.utt_id), 1)[0]
        list(fn.process(chunk) or ())
    if finish:
        fn.finish_bundle()


def _featurize_fn(synth_table, tmp_path):
    """The plan, a set-up FeaturizeFn, and its (parts, work, examples) directories."""
    plan = tfser_beam.make_plan(tfser_beam.load_config(config_path("synthetic_000.yaml")),
                                synth_table)
    dirs = tuple(str(tmp_path / n) for n in ("parts", "work", "ex"))
    for directory in dirs:
        os.makedirs(directory)
    fn = transforms.FeaturizeFn(plan.settings, dirs[0])
    fn.setup()
    fn.chunk_dir = str(tmp_path / "items")  # each item in a chunk file of its own
    return plan, fn, dirs


def test_a_rerun_bundle_replaces_its_files_and_a_dead_attempt_is_ignored(
        synth_table, tmp_path):
    plan, fn, (parts_dir, work_dir, examples_dir) = _featurize_fn(synth_table, tmp_path)
    items = plan.items[:6]
    _bundle(fn, items[:3])
    _bundle(fn, items[3:4], finish=False)  # a worker died in this attempt
    _bundle(fn, items[:3])  # a retry of a finished bundle whose result was lost
    _bundle(fn, items[3:])  # the retry of the dead attempt
    names = os.listdir(parts_dir)
    assert any(n.startswith(transforms.TEMP_PREFIX) for n in names)  # dead attempt's part
    files = shards.merge_parts(parts_dir, examples_dir, plan.settings.num_shards)
    shards.gather_records(parts_dir, work_dir)
    assert not os.path.exists(parts_dir)
    written = dataset_info.read_work_file(work_dir, "written")
    rejects = dataset_info.read_work_file(work_dir, "rejects")
    outcomes = sorted(r["utt_id"] for r in written + rejects)
    assert outcomes == sorted(item.utt_id for item in items)  # each once
    examples = sum(1 for f in files for _ in tf.data.TFRecordDataset(
        os.path.join(examples_dir, f["file"])))
    assert examples == len(written) == sum(f["count"] for f in files)
    moments = dataset_info.read_work_file(work_dir, "moments")
    assert sum(m["count"] for m in moments) == len(written)  # functionals: one frame each


def test_parts_of_a_bundle_that_died_before_its_records_are_left_out(synth_table, tmp_path):
    # The attempt renamed its parts, then died before the records file (committed
    # last); its retry was bundled differently, so it wrote the same examples under
    # another token. Only the committed bundle's copies are merged.
    plan, fn, (parts_dir, work_dir, examples_dir) = _featurize_fn(synth_table, tmp_path)
    items = plan.items[:4]
    _bundle(fn, items[:2])
    orphan = [n for n in os.listdir(parts_dir) if n.startswith("records")]
    os.remove(os.path.join(parts_dir, orphan[0]))  # died between parts and records
    _bundle(fn, items)  # the retry, in one bigger bundle
    files = shards.merge_parts(parts_dir, examples_dir, plan.settings.num_shards)
    shards.gather_records(parts_dir, work_dir)
    written = dataset_info.read_work_file(work_dir, "written")
    rejects = dataset_info.read_work_file(work_dir, "rejects")
    assert sorted(r["utt_id"] for r in written + rejects) == sorted(i.utt_id for i in items)
    assert sum(f["count"] for f in files) == len(written)


def _example(utt_id: str, size: int) -> bytes:
    feature = {"utt_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[utt_id.encode()])),
               "x": tf.train.Feature(float_list=tf.train.FloatList(value=[0.5] * size))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_the_merge_copies_records_by_offset_in_utterance_order(tmp_path):
    # Two parts of one shard, each unsorted, records of different sizes. The merge
    # indexes them (no record kept) and must write what sorting every record in
    # memory wrote: the same bytes.
    parts_dir, examples_dir = tmp_path / "parts", tmp_path / "ex"
    parts_dir.mkdir()
    examples_dir.mkdir()
    contents = {"a": [("u3", 7), ("u1", 300)], "b": [("u4", 1), ("u0", 50), ("u2", 0)]}
    for token, examples in contents.items():
        with tf.io.TFRecordWriter(str(parts_dir / transforms.part_file_name("g", 0, token))) as w:
            for utt_id, size in examples:
                w.write(_example(utt_id, size))
        (parts_dir / transforms.records_file_name(token)).write_text("")
    part_a = str(parts_dir / transforms.part_file_name("g", 0, "a"))
    refs = list(shards.index_records(part_a))
    assert [r.utt_id for r in refs] == ["u3", "u1"]
    with tf.io.gfile.GFile(part_a, "rb") as handle:
        for ref, (utt_id, size) in zip(refs, contents["a"]):
            handle.seek(ref.offset)
            assert handle.read(ref.length) == _example(utt_id, size)

    files = shards.merge_parts(str(parts_dir), str(examples_dir), 1)
    assert files == [{"group": "g", "shard": 0, "file": "g-00000-of-00001.tfrecord",
                      "count": 5}]
    expected = tmp_path / "expected.tfrecord"
    with tf.io.TFRecordWriter(str(expected)) as writer:
        for utt_id, size in sorted(e for examples in contents.values() for e in examples):
            writer.write(_example(utt_id, size))
    assert (examples_dir / files[0]["file"]).read_bytes() == expected.read_bytes()


def test_a_truncated_part_is_refused(tmp_path):
    path = tmp_path / "part.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(_example("u0", 10))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated TFRecord"):
        list(shards.index_records(str(path)))
