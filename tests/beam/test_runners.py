"""Runner selection, the DaskRunner defaults and its give-up error (no cluster needed)."""

import pytest
from apache_beam.options.pipeline_options import StandardOptions

from tfser import beam as tfser_beam
from tfser.beam import runners


def test_the_local_runner_is_the_default():
    options = tfser_beam.make_pipeline_options([])
    assert options.view_as(StandardOptions).runner == runners.LOCAL_RUNNER
    assert runners.is_local(options)


def test_dask_runner_by_its_short_name_with_small_partitions():
    options = tfser_beam.make_pipeline_options(
        ["--runner=DaskRunner", "--dask_client_address=127.0.0.1:1"])
    assert options.view_as(StandardOptions).runner == runners.DASK_RUNNER_CLASS
    assert not runners.is_local(options)
    from apache_beam.runners.dask.dask_runner import DaskOptions
    dask = options.view_as(DaskOptions).get_all_options(drop_default=True, current_only=True)
    assert dask == {"address": "127.0.0.1:1", "partition_size": runners.DASK_PARTITION_SIZE}
    # A partitioning the user chose is kept.
    options = tfser_beam.make_pipeline_options(["--runner=DaskRunner", "--dask_npartitions=3"])
    dask = options.view_as(DaskOptions)
    assert (dask.npartitions, dask.partition_size) == (3, None)


class KilledWorker(Exception):
    """Named like distributed's exception (matched by name: no dask import needed)."""


class _Result:
    def __init__(self, error):
        self.error = error

    def wait_until_finish(self):
        raise self.error


class _Pipeline:
    def __init__(self, error):
        self.error = error

    def run(self):
        return _Result(self.error)


def test_dask_giving_up_becomes_runner_gave_up_and_other_errors_pass():
    with pytest.raises(runners.RunnerGaveUp, match="^the Dask cluster gave up: task t died$"):
        runners.run_to_completion(_Pipeline(KilledWorker("task t died")))
    with pytest.raises(ValueError, match="bug"):
        runners.run_to_completion(_Pipeline(ValueError("bug")))
