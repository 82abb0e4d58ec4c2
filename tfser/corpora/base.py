"""What every corpus loader returns, the one way a loader ends, and rejected items.

Each corpus module exposes ``load(root: str, **options) -> LoadResult`` and declares
its options in ``OPTIONS`` (see :mod:`tfser.corpora.options`). The table holds facts
only (raw votes, the corpus's own label strings, speakers, sessions, official splits);
label policy is applied later by :mod:`tfser.labels`. Anything a loader cannot use is
recorded as a :class:`Reject` with a reason, so that ``items_found == utterances
written + items rejected`` always holds. Every loader ends with :func:`finish`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Iterator, List, Tuple

import pandas as pd

from tfser.annotations import schema
from tfser.annotations import validation
from tfser.config.errors import UserError


class NothingFoundError(UserError, FileNotFoundError):
    """A corpus folder holds no candidate utterance at all (wrong folder or layout)."""


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


def finish(table: schema.AnnotationTable, rejects: List[Reject], items_found: int, *,
           root: str, looked_for: str) -> LoadResult:
    """The shared ending of every loader: checks, validates and wraps the table.

    Args:
      table: The assembled table (``schema.build_table``).
      rejects: Items set aside, with reasons.
      items_found: Candidate utterances seen.
      root: The folder the user gave (named in the error when nothing was found).
      looked_for: What the loader searched for, in words a user can check against the
        folder (e.g. ``"WAV files named like 03a01Fa.wav in wav/ or the folder itself"``).

    Returns:
      The result, its counts reconciled.

    Raises:
      NothingFoundError: No candidate item at all: an empty table is never a success.
      AnnotationValidationError: The table breaks the schema (a loader bug).
      RuntimeError: found != written + rejected (a loader bug).
    """
    if items_found == 0:
        raise NothingFoundError(f"{table.meta.corpus}: no utterances found in {root} (looked "
                                f"for {looked_for}); check that it is the corpus folder")
    validation.validate(table)
    result = LoadResult(table=table, rejects=list(rejects), items_found=items_found)
    result.check_counts()
    return result


def iter_wav_files(root: str, directory: str, recursive: bool = False,
                   corpus: str = "") -> Iterator[Tuple[str, str, str]]:
    """Candidate audio files of a corpus in a stable order.

    Yields ``(path, rel, stem)`` for every ``.wav`` file under ``directory`` (sorted,
    sub-folders too when ``recursive``), ``rel`` being the path relative to ``root``
    with forward slashes. macOS ``._*`` metadata files are not audio and are skipped
    with a log line, so they are neither items nor rejects.
    """
    if recursive:
        walk = os.walk(directory)
    else:
        walk = [(directory, [], os.listdir(directory))]
    for folder, dirs, files in walk:
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if not name.lower().endswith(".wav") or not os.path.isfile(path):
                continue
            if name.startswith("._"):
                logging.getLogger("tfser.corpora").info(
                    "%s: skipping macOS metadata file %s", corpus or "corpus", path)
                continue
            yield path, os.path.relpath(path, root).replace(os.sep, "/"), name[:-4]
