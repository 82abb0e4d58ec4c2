"""The bundle commit protocol of FeaturizeFn (what makes a runner's retries harmless)."""

import os

import tensorflow as tf

from tfser import beam as tfser_beam
from tfser.beam import dataset_info
from tfser.beam import shards
from tfser.beam import transforms

from tests.beam.helpers import config_path


def _bundle(fn, items, finish=True):
    fn.start_bundle()
    for item in items:
        list(fn.process(item) or ())
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
