"""Parallel workers change nothing in the output (slow: processes import TensorFlow)."""

import os

import pytest
import tensorflow as tf

from tfser import beam as tfser_beam

from tests.beam.helpers import config_path


def _examples(out_dir):
    """File name -> parsed examples; compared as protos because map order may differ."""
    examples = {}
    for name in sorted(os.listdir(os.path.join(out_dir, "examples"))):
        path = os.path.join(out_dir, "examples", name)
        examples[name] = [tf.train.Example.FromString(r.numpy())
                          for r in tf.data.TFRecordDataset(path)]
    return examples


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["multi_threading", "multi_processing"])
def test_two_workers_write_the_same_dataset(mode, synth_dir, tmp_path):
    config = tfser_beam.load_config(config_path("synthetic_000.yaml"))
    one = tfser_beam.build_pipeline(config, synth_dir, str(tmp_path / "one"))
    two = tfser_beam.build_pipeline(config, synth_dir, str(tmp_path / "two"),
                                    pipeline_options=["--direct_num_workers=2",
                                                      f"--direct_running_mode={mode}"])
    assert _examples(one.out_dir) == _examples(two.out_dir)
    for key in ("counts", "groups", "split", "normalisation"):
        assert one.info[key] == two.info[key], key
