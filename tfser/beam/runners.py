"""Which Beam runner a featurization runs on, and the defaults tfser gives each.

* No ``runner``: Beam's local FnApiRunner (see :mod:`tfser.beam.pipeline`).
* ``DaskRunner`` (Beam's runner on a Dask cluster; ``--dask_client_address=HOST:PORT``
  names the scheduler, none starts a local cluster): Beam 2.77 does not register it by
  name, so the short name is resolved here to its class, which also registers its
  pipeline options (``--dask_*``). The elements are chunk files of at most 16 work
  items (:mod:`tfser.beam.item_chunks`); unless ``--dask_npartitions`` or
  ``--dask_partition_size`` (both counting chunks) is given, each chunk is one Dask
  partition (:data:`DASK_PARTITION_SIZE`): Beam's default of 128 elements would leave
  a corpus of a few thousand utterances on one or two workers, and a small partition
  is also what a lost worker costs to redo. Each partition is one bundle of
  :class:`tfser.beam.transforms.FeaturizeFn` (extractors are built once per partition).
* Any other runner (``FlinkRunner``, ``SparkRunner``, ``DataflowRunner``, ...) passes
  through to Beam unchanged (untested here).
"""

from __future__ import annotations

import importlib
from typing import Optional

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

LOCAL_RUNNER = "FnApiRunner"
DASK_RUNNER = "DaskRunner"
DASK_RUNNER_MODULE = "apache_beam.runners.dask.dask_runner"
DASK_RUNNER_CLASS = f"{DASK_RUNNER_MODULE}.{DASK_RUNNER}"
# Chunks (of up to item_chunks.MAX_CHUNK utterances) per Dask partition.
DASK_PARTITION_SIZE = 1


def register_runner_options() -> bool:
    """Imports the DaskRunner so that Beam parses its ``--dask_*`` options.

    Returns:
      Whether the DaskRunner is available (``dask`` and ``distributed`` installed).
    """
    try:
        importlib.import_module(DASK_RUNNER_MODULE)
    except ImportError:
        return False
    return True


def is_dask(runner: Optional[str]) -> bool:
    """Whether ``runner`` names Beam's DaskRunner (short or qualified name)."""
    return runner in (DASK_RUNNER, DASK_RUNNER_CLASS)


def is_local(options: PipelineOptions) -> bool:
    """Whether ``options`` (after :func:`configure_runner`) run on the local runner."""
    return options.view_as(StandardOptions).runner in (LOCAL_RUNNER, "DirectRunner")


def configure_runner(options: PipelineOptions,
                     partition_size: int = DASK_PARTITION_SIZE) -> PipelineOptions:
    """Sets the runner's tfser defaults on ``options`` (in place) and returns them.

    Args:
      options: Beam options.
      partition_size: Elements per Dask partition when the options give none (a
        pipeline whose elements are batches of files passes fewer).

    Raises:
      ValueError: The DaskRunner is asked for but ``dask``/``distributed`` are missing.
    """
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        # The local runner the DirectRunner ends up on: Beam 2.77's DirectRunner first
        # tries to download the Prism runner binary from GitHub at run time (fails
        # offline, and online runs a different runner than the one tested here).
        standard.runner = LOCAL_RUNNER
    if is_dask(standard.runner):
        if not register_runner_options():
            raise ValueError("the DaskRunner needs the dask and distributed packages; "
                             "install tfser with its pinned requirements (make venv)")
        standard.runner = DASK_RUNNER_CLASS
        # Imported here: registered only now, and only for Dask runs.
        from apache_beam.runners.dask.dask_runner import DaskOptions  # pylint: disable=import-outside-toplevel
        dask = options.view_as(DaskOptions)
        if dask.npartitions is None and dask.partition_size is None:
            dask.partition_size = int(partition_size)
    return options


class RunnerGaveUp(RuntimeError):
    """The cluster stopped retrying a bundle (Dask's ``KilledWorker``): the run failed."""


def run_to_completion(pipeline) -> None:
    """Runs ``pipeline`` and waits; a Dask run's client is closed afterwards.

    Raises:
      RunnerGaveUp: Dask gave up on a bundle whose workers kept dying under it
        (``distributed.scheduler.allowed-failures``); its message is Dask's.
    """
    result = pipeline.run()
    try:
        result.wait_until_finish()
    except Exception as error:
        # Matched by name: distributed is imported only by Dask runs.
        if type(error).__name__ != "KilledWorker":
            raise
        raise RunnerGaveUp(f"the Dask cluster gave up: {error}") from error
    finally:
        client = getattr(result, "client", None)
        if client is not None:
            client.close()
