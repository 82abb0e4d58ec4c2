"""Leftovers of killed writers: ``<path>.tmp-<pid>`` siblings whose process is gone.

Writers build their output under a temporary sibling named after their process id
(:func:`tfser.fileio.atomic.temp_sibling`) and rename it into place at the end. A
writer killed with SIGKILL (or by the out-of-memory killer) never reaches its cleanup,
so the sibling stays behind, possibly gigabytes of half-written shards. The next writer
of the same path calls :func:`remove_stale_temps`, which deletes the siblings whose
process no longer exists and keeps those of live processes (another run writing the
same output right now).

A pid can be reused by an unrelated process after the writer died; such a sibling is
then kept (wrongly, but safely) until that process ends too.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
from typing import List, Optional

_LOG = logging.getLogger("tfser.fileio")
TEMP_MARKER = ".tmp-"


def pid_alive(pid: int) -> bool:
    """True when a process with id ``pid`` exists (it may belong to another user).

    Signal 0 checks existence and permissions without delivering anything: ``ESRCH``
    means no such process, ``EPERM`` means it exists but is not ours.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    return True


def temp_siblings(path: str) -> List[tuple]:
    """``(sibling path, pid)`` of every ``<path>.tmp-<pid>`` beside ``path``, sorted."""
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    if not os.path.isdir(parent):
        return []
    pattern = re.compile(re.escape(name + TEMP_MARKER) + r"(\d+)$")
    found = []
    for entry in sorted(os.listdir(parent)):
        match = pattern.match(entry)
        if match:
            found.append((os.path.join(parent, entry), int(match.group(1))))
    return found


def remove_stale_temps(path: str, logger: Optional[logging.Logger] = None) -> List[str]:
    """Deletes the ``<path>.tmp-<pid>`` siblings of processes that no longer run.

    The calling process's own sibling counts as stale (a previous run that had the
    same pid crashed; this run is about to create it afresh).

    Args:
      path: The output path the temporaries were meant to replace.
      logger: Where to say what was removed (``tfser.fileio`` by default).

    Returns:
      The removed paths.
    """
    logger = logger or _LOG
    removed = []
    for sibling, pid in temp_siblings(path):
        if pid != os.getpid() and pid_alive(pid):
            logger.info("keeping %s: process %d is still running", sibling, pid)
            continue
        if os.path.isdir(sibling) and not os.path.islink(sibling):
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            try:
                os.remove(sibling)
            except FileNotFoundError:
                pass  # removed meanwhile by another cleaner
        who = ("an earlier run with this process id" if pid == os.getpid()
               else f"process {pid}, which no longer runs")
        logger.warning("removed %s, left behind by %s", sibling, who)
        removed.append(sibling)
    return removed
