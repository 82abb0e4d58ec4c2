"""The driver's progress line during cluster runs (tfser.beam.shards.CommittedProgress)."""

import logging
import threading

from tfser.beam import shards
from tfser.beam import transforms


def _commit(parts_dir, token, records):
    records_file = transforms.RecordsFile(str(parts_dir), f"attempt-{token}")
    for record in records:
        records_file.add(record)
    return records_file.commit(token)


def _count_originals(record):
    return int(record.get("variant") == "original")


def test_poll_counts_each_committed_file_once_and_ignores_unfinished_ones(tmp_path):
    progress = shards.CommittedProgress(str(tmp_path), 10, _count_originals, "utterances")
    assert progress.poll() == 0
    _commit(tmp_path, "a", [{"variant": "original"}, {"variant": "speed0.9"},
                            {"variant": "original"}, {"kind": "moments"}])
    unfinished = transforms.RecordsFile(str(tmp_path), "dying")
    unfinished.add({"variant": "original"})  # never committed: a worker died
    assert progress.poll() == 2
    assert progress.poll() == 2  # the same file is not read twice
    # A bundle re-run by the runner replaces its file under the same name.
    _commit(tmp_path, "a", [{"variant": "original"}, {"variant": "original"}])
    _commit(tmp_path, "b", [{"variant": "original"}])
    assert progress.poll() == 3


def test_the_line_gives_the_rate_and_time_left():
    progress = shards.CommittedProgress("unused", 100, _count_originals, "files")
    progress.done = 25
    assert progress.line(10.0) == ("driver: 25/100 files in committed bundles, 2.5 files/s, "
                                   "ETA 30 s")
    progress.done = 130  # a retried bundle cut differently: never more than the total
    assert progress.line(10.0) == "driver: 100/100 files in committed bundles, 10.0 files/s"
    progress.done = 0
    assert progress.line(10.0) == "driver: 0/100 files in committed bundles, 0.0 files/s"


def test_the_block_logs_while_the_run_goes_on_and_stops_with_it(tmp_path):
    seen = threading.Event()

    class Handler(logging.Handler):
        def emit(self, record):
            if "1/4 utterances" in record.getMessage():
                seen.set()

    log = logging.getLogger("tfser.test.progress")
    log.setLevel(logging.INFO)
    log.addHandler(Handler())
    progress = shards.CommittedProgress(str(tmp_path), 4, _count_originals, "utterances",
                                        every_s=0.01, log=log)
    with progress:
        _commit(tmp_path, "a", [{"variant": "original"}])
        assert seen.wait(60)  # a hang guard, not a timing check
    assert not progress._thread.is_alive()


def test_disabled_it_starts_nothing(tmp_path):
    progress = shards.CommittedProgress(str(tmp_path), 4, _count_originals, "utterances",
                                        enabled=False)
    with progress:
        pass
    assert not progress._thread.is_alive() and progress.done == 0
