"""Atomic file writes: a temporary sibling, then one ``os.replace``.

A rename within one directory is atomic on POSIX filesystems, so a reader sees either
the old file or the complete new one. The temporary name carries the writer's process id
(``<name>.tmp-<pid>``), so two processes never share one and a leftover from a killed
process can be told apart from a live writer's. A whole directory is replaced the same
way: built beside its target, then swapped in by :func:`replace_dir`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from typing import Any, Iterator


def temp_sibling(path: str) -> str:
    """The temporary name this process uses for ``path``."""
    return f"{path}.tmp-{os.getpid()}"


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path to write; on success it replaces ``path`` in one rename.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    tmp = temp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_text(path: str, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)


def write_json(path: str, data: Any, indent: int = 1) -> None:
    """Writes ``data`` as JSON (UTF-8, trailing newline) to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def replace_dir(new_dir: str, out_dir: str) -> None:
    """Moves ``new_dir`` to ``out_dir``; an existing ``out_dir`` is swapped out first.

    Two renames inside one parent directory: readers see the old or the new directory,
    never a mix (the window between them shows no directory at all). Should the second
    rename fail, the previous ``out_dir`` is put back.
    """
    old = f"{out_dir}.old-{os.getpid()}"
    if os.path.lexists(out_dir):
        os.rename(out_dir, old)
    try:
        os.rename(new_dir, out_dir)
    except OSError:
        if os.path.lexists(old):
            os.rename(old, out_dir)  # put the previous output back
        raise
    if os.path.lexists(old):
        shutil.rmtree(old)
