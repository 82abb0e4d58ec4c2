"""What every corpus loader returns, and the shared bookkeeping of rejected items.

Each corpus module exposes ``load(root: str, **options) -> LoadResult``. The table
holds facts only (raw votes, the corpus's own label strings, speakers, sessions,
official splits); label policy is applied later by :mod:`tfser.labels`. Anything a
loader cannot use is recorded as a :class:`Reject` with a reason, so that
``items_found == utterances written + items rejected`` always holds.
"""

from __future__ import annotations

import dataclasses
import os
from typing import List

import pandas as pd

from tfser.annotations import schema


@dataclasses.dataclass(frozen=True)
class Reject:
    """One item a loader could not use.

    Attributes:
      item: The file path, row number or utterance id that was set aside.
      reason: Why, in words a user can act on.
      source: The file the item came from.
    """

    item: str
    reason: str
    source: str = ""


@dataclasses.dataclass
class LoadResult:
    """A loader's output: the (validated) table, the rejects and the item count.

    Attributes:
      table: The unified table.
      rejects: Items set aside, with reasons.
      items_found: How many candidate utterances the loader saw; equals
        ``len(table.utterances) + len(rejects)``.
    """

    table: schema.AnnotationTable
    rejects: List[Reject]
    items_found: int

    def check_counts(self) -> None:
        """Raises when found != written + rejected (a loader bug, never silent)."""
        written = len(self.table.utterances)
        if self.items_found != written + len(self.rejects):
            raise RuntimeError(
                f"{self.table.meta.corpus}: {self.items_found} items found but {written} written "
                f"+ {len(self.rejects)} rejected = {written + len(self.rejects)}")

    def rejects_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dataclasses.asdict(r) for r in self.rejects],
                            columns=["item", "reason", "source"])

    def write_rejects(self, directory: str) -> str:
        """Writes ``rejects.csv`` (always, possibly empty) and returns its path."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "rejects.csv")
        self.rejects_frame().to_csv(path, index=False)
        return path
