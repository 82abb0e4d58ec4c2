"""Process ids for tests of leftovers of killed processes."""

from __future__ import annotations

import subprocess
import sys


def dead_pid() -> int:
    """The id of a process that has exited and been reaped, so no process has it now.

    (Until the system reuses the number, which takes a full cycle of the pid space.)
    """
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
