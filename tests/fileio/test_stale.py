"""Leftover ``<path>.tmp-<pid>`` siblings of killed writers are removed, live ones kept."""

import logging
import os

from tfser.fileio import stale
from tfser.testing.processes import dead_pid


def test_only_the_dead_process_s_temp_folder_is_removed(tmp_path, caplog):
    out = tmp_path / "features"
    dead = out.parent / f"features.tmp-{dead_pid()}"
    live_parent = out.parent / f"features.tmp-{os.getppid()}"  # a live process (not ours)
    for folder in (dead, live_parent):
        (folder / "examples").mkdir(parents=True)
        (folder / "examples" / "half.tfrecord").write_bytes(b"x")
    unrelated = tmp_path / "features.tmp-notapid"
    unrelated.mkdir()
    with caplog.at_level(logging.INFO, logger="tfser.fileio"):
        removed = stale.remove_stale_temps(str(out))
    assert removed == [str(dead)]
    assert not dead.exists() and live_parent.exists() and unrelated.exists()
    assert f"removed {dead}" in caplog.text and "no longer runs" in caplog.text
    assert f"keeping {live_parent}" in caplog.text


def test_own_pid_counts_as_stale_and_a_stale_file_is_removed(tmp_path):
    own = tmp_path / f"a.json.tmp-{os.getpid()}"
    own.write_text("half")
    dead = tmp_path / f"a.json.tmp-{dead_pid()}"
    dead.write_text("half")
    assert sorted(stale.remove_stale_temps(str(tmp_path / "a.json"))) == sorted(
        [str(own), str(dead)])
    assert os.listdir(tmp_path) == []


def test_pid_alive():
    assert stale.pid_alive(os.getpid())
    assert not stale.pid_alive(dead_pid())
    assert not stale.pid_alive(0)
    assert stale.temp_siblings("/nonexistent/dir/x") == []
