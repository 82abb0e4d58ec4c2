"""Numbered stages of a long procedure, each printed as it starts and ends with its time."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict


class Stages:
    """Numbered stages with their time, printed as they start and end."""

    def __init__(self, total: int):
        self.total = total
        self.index = 0
        self.seconds: Dict[str, float] = {}

    def run(self, name: str, what: str, step: Callable[[], Any]) -> Any:
        self.index += 1
        print(f"\n[{self.index}/{self.total}] {name}: {what}", flush=True)
        started = time.perf_counter()
        result = step()
        self.seconds[name] = round(time.perf_counter() - started, 1)
        print(f"[{self.index}/{self.total}] {name} done in {self.seconds[name]:.1f} s",
              flush=True)
        return result
