"""A real Dask cluster on 127.0.0.1 for tests and benchmarks: `dask scheduler` + workers.

Each process is started with the ``dask`` command of this Python environment, logs to a
file in ``work_dir`` and is stopped when the :class:`LocalDaskCluster` block ends,
whatever happened inside it. The scheduler picks a free port itself and writes its
address to a scheduler file, so no port is guessed. Workers run without a nanny, so a
worker that dies stays dead (a nanny would restart it) and one thread each, so two
workers are two processes featurizing side by side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import List, Optional

# Hang guards (never asserted on): how long a cluster may take to come up or stop.
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


def dask_command() -> List[str]:
    """The ``dask`` command of the running interpreter's environment."""
    script = os.path.join(os.path.dirname(sys.executable), "dask")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "dask"]


class LocalDaskCluster:
    """``with LocalDaskCluster(2, tmp) as cluster: ... cluster.address ...``.

    Attributes:
      workers: Number of worker processes.
      work_dir: Where the scheduler file, the logs and the workers' scratch space go.
      address: ``127.0.0.1:PORT`` of the scheduler (set once started).
      processes: The scheduler's process, then the workers'.
    """

    def __init__(self, workers: int, work_dir: str, env: Optional[dict] = None):
        self.workers = int(workers)
        self.work_dir = os.path.abspath(work_dir)
        self.env = dict(os.environ if env is None else env)
        # TensorFlow's C++ start-up chatter would fill the worker logs.
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.address = ""
        self.processes: List[subprocess.Popen] = []
        self._logs = []

    def _start(self, name: str, args: List[str]) -> subprocess.Popen:
        log = open(os.path.join(self.work_dir, f"{name}.log"), "w", encoding="utf-8")
        self._logs.append(log)
        process = subprocess.Popen(dask_command() + args, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=self.work_dir,
                                   start_new_session=True)  # its own group, stopped as one
        self.processes.append(process)
        return process

    def _wait_for_scheduler(self, scheduler_file: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not os.path.exists(scheduler_file) or not os.path.getsize(scheduler_file):
            if self.processes[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dask scheduler did not start: {self.log('scheduler')}")
            time.sleep(0.1)
        with open(scheduler_file, encoding="utf-8") as handle:
            self.address = json.load(handle)["address"].replace("tcp://", "")

    def start(self) -> "LocalDaskCluster":
        """Starts the scheduler and the workers and waits until all workers joined."""
        os.makedirs(self.work_dir, exist_ok=True)
        scheduler_file = os.path.join(self.work_dir, "scheduler.json")
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", scheduler_file])
        self._wait_for_scheduler(scheduler_file)
        for index in range(self.workers):
            self._start(f"worker{index}", [
                "worker", f"tcp://{self.address}", "--host", "127.0.0.1", "--nthreads", "1",
                "--no-nanny", "--no-dashboard", "--name", f"worker{index}",
                "--local-directory", os.path.join(self.work_dir, f"worker{index}")])
        # Imported here: only a started cluster needs the client library.
        from distributed import Client  # pylint: disable=import-outside-toplevel
        with Client(self.address, timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(self.workers, timeout=START_TIMEOUT_S)
        return self

    @property
    def worker_processes(self) -> List[subprocess.Popen]:
        return self.processes[1:]

    def log(self, name: str) -> str:
        """The log of ``scheduler`` or ``worker<i>`` so far."""
        path = os.path.join(self.work_dir, f"{name}.log")
        if not os.path.exists(path):
            return ""
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def stop(self) -> None:
        """Stops every process of the cluster (workers first), each by its own id."""
        # Workers first, each waited for, so that none is left retrying a scheduler
        # that has already gone.
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self._logs:
            log.close()
        self._logs = []

    def __enter__(self) -> "LocalDaskCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()
