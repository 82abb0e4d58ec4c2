"""tfser-featurize on a real Dask cluster (Beam's DaskRunner) on 127.0.0.1.

Each test starts `dask scheduler` and two `dask worker` processes
(:class:`tfser.testing.dask_cluster.LocalDaskCluster`, stopped when the test ends) and
compares the run with the local runner's on the same small corpus and config: the shard
files must be byte-identical, dataset_info.json equal but for the command recorded, and
``in = written + rejected``.
"""

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tfser import beam as tfser_beam
from tfser.beam import runners
from tfser.features import registry
from tfser.testing import faults
from tfser.testing.dask_cluster import LocalDaskCluster

from tests.beam.helpers import config_path, subset_table

BIN_DIR = os.path.dirname(sys.executable)
CONFIG = config_path("synthetic_000.yaml")
RUN_TIMEOUT_S = 600  # a hang guard, not a timing check


@pytest.fixture(scope="module")
def small_table(synth_table, tmp_path_factory):
    """40 utterances of the 10 speakers (a few have no label and are rejected): 20
    work-item chunks of 2, each a Dask partition (so a worker is killed on its second
    utterance of a partition, ``after=2``)."""
    directory = tmp_path_factory.mktemp("dask_table") / "table"
    return subset_table(synth_table, directory, utterances_per_speaker=4, speakers=10)


@pytest.fixture
def cluster(tmp_path):
    with LocalDaskCluster(2, str(tmp_path / "cluster")) as running:
        yield running


def _directory_bytes(out_dir):
    """Relative path -> bytes of every file of a featurized directory."""
    files = {}
    for root, _, names in os.walk(out_dir):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, out_dir)] = handle.read()
    return files


def _assert_same_output(local_dir, dask_dir):
    local, dask = _directory_bytes(local_dir), _directory_bytes(dask_dir)
    assert sorted(local) == sorted(dask)
    shards = [name for name in local if name.startswith(tfser_beam.EXAMPLES_DIR + os.sep)]
    assert len(shards) == 10  # one per speaker
    for name in shards + [tfser_beam.REJECTS_FILE]:
        assert local[name] == dask[name], name
    info_local, info_dask = (tfser_beam.read_info(d) for d in (local_dir, dask_dir))
    for key in info_local:
        if key != "created_by":  # the command line differs, nothing else
            assert info_local[key] == info_dask[key], key
    counts = info_dask["counts"]
    assert counts["in"] == counts["written"] + counts["rejected"] == 40
    assert counts["rejected"] > 0  # the reconciliation covers rejects too
    siblings = os.listdir(os.path.dirname(dask_dir))
    assert not [n for n in siblings if ".tmp-" in n]


def test_featurize_command_on_a_dask_cluster_matches_the_local_runner(
        small_table, cluster, tmp_path):
    local = tfser_beam.build_pipeline(tfser_beam.load_config(CONFIG), small_table,
                                      str(tmp_path / "local"), log_every=1000)
    out = tmp_path / "dask"
    done = subprocess.run(
        [os.path.join(BIN_DIR, "tfser-featurize"), f"--config={CONFIG}",
         f"--table={small_table}", f"--out={out}", "--runner=DaskRunner",
         f"--dask_client_address={cluster.address}"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-3000:] + cluster.log("worker0")[-2000:]
    found = re.search(r"^in (\d+) = written (\d+) \+ rejected (\d+)", done.stdout, re.M)
    assert found, done.stdout
    total, written, rejected = map(int, found.groups())
    assert total == written + rejected == 40
    _assert_same_output(local.out_dir, str(out))
    for index in range(2):
        assert "Compute Failed" not in cluster.log(f"worker{index}")


def test_a_worker_killed_mid_run_is_replaced_and_the_output_is_the_same(
        small_table, cluster, tmp_path):
    marker = tmp_path / "killed"
    reference_marker = tmp_path / "reference"
    reference_marker.touch()  # already claimed: the local run never kills
    overrides = [f"feature_sets=[egemaps_functionals, {faults.KILL_ONCE_FEATURE}]"]
    registry.register(faults.kill_once_definition(str(reference_marker)))
    try:
        config = tfser_beam.load_config(CONFIG, overrides)
        local = tfser_beam.build_pipeline(config, small_table, str(tmp_path / "local"),
                                          log_every=1000)
        registry.register(faults.kill_once_definition(str(marker), after=2), replace=True)
        result = tfser_beam.build_pipeline(
            config, small_table, str(tmp_path / "dask"), log_every=1000,
            pipeline_options=["--runner=DaskRunner",
                              f"--dask_client_address={cluster.address}"])
    finally:
        registry.unregister(faults.KILL_ONCE_FEATURE)
    # One worker died by SIGKILL in the middle of a bundle ...
    assert marker.exists()
    codes = [process.poll() for process in cluster.worker_processes]
    assert sorted(codes, key=str) == [-signal.SIGKILL, None], codes
    # ... Dask ran its bundle again on the other worker, whose files replaced the
    # dead attempt's: nothing lost, nothing counted twice, the same bytes.
    _assert_same_output(local.out_dir, result.out_dir)
    assert not os.path.exists(os.path.join(result.out_dir, "_work"))
    with open(os.path.join(result.out_dir, tfser_beam.DATASET_INFO_FILE),
              encoding="utf-8") as handle:
        assert json.load(handle)["counts"]["written"] == result.counts["written"]


def test_when_dask_gives_up_the_run_fails_and_the_old_output_stays(small_table, tmp_path):
    """``allowed-failures`` 0: the first worker death fails its task for good (Dask's
    ``KilledWorker``); the run fails and an existing output is left as it was."""
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    marker = tmp_path / "killed"
    config = tfser_beam.load_config(CONFIG)
    out = tmp_path / "out"
    old = tfser_beam.build_pipeline(config, small_table, str(out), log_every=1000)
    before = _directory_bytes(old.out_dir)
    overrides = [f"feature_sets=[egemaps_functionals, {faults.KILL_ONCE_FEATURE}]"]
    registry.register(faults.kill_once_definition(str(marker), after=2))
    try:
        with LocalDaskCluster(2, str(tmp_path / "cluster"), env=env) as cluster:
            with pytest.raises(runners.RunnerGaveUp, match="KilledWorker|workers died"):
                tfser_beam.build_pipeline(
                    tfser_beam.load_config(CONFIG, overrides), small_table, str(out),
                    overwrite=True, log_every=1000,
                    pipeline_options=["--runner=DaskRunner",
                                      f"--dask_client_address={cluster.address}"])
            codes = [process.poll() for process in cluster.worker_processes]
    finally:
        registry.unregister(faults.KILL_ONCE_FEATURE)
    assert marker.exists()
    assert sorted(codes, key=str) == [-signal.SIGKILL, None], codes
    assert _directory_bytes(str(out)) == before
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]
