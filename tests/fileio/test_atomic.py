import os

import pytest

from tfser.fileio import atomic


def test_write_text_replaces_and_leaves_no_temp(tmp_path):
    path = str(tmp_path / "a.txt")
    atomic.write_text(path, "old")
    atomic.write_text(path, "new")
    assert open(path, encoding="utf-8").read() == "new"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = str(tmp_path / "a.json")
    atomic.write_json(path, {"k": 1})
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(path) as tmp:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write("half")
            raise RuntimeError("killed mid-write")
    assert open(path, encoding="utf-8").read() == '{\n "k": 1\n}\n'
    assert os.listdir(tmp_path) == ["a.json"]


def test_temp_name_names_the_process(tmp_path):
    assert atomic.temp_sibling(str(tmp_path / "x")).endswith(f"x.tmp-{os.getpid()}")
