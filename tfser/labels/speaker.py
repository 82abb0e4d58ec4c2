"""Speaker-id targets (paper 004): an integer index per speaker, with its vocabulary."""

from __future__ import annotations

import collections
from typing import Optional, Sequence, Tuple

import numpy as np

from tfser.labels import hard


def speaker_index(speaker_ids: Sequence[Optional[str]],
                  vocabulary: Optional[Sequence[str]] = None,
                  ) -> Tuple[np.ndarray, np.ndarray, Tuple[str, ...]]:
    """Maps speaker ids to integer indices.

    Args:
      speaker_ids: [N] speaker id per utterance (None when unknown).
      vocabulary: Fixed speaker order (e.g. the training speakers); ``None`` uses the
        sorted distinct speakers of ``speaker_ids``.

    Returns:
      ``(index, mask, vocabulary)``: int64 [N] (-1 for an unknown speaker or one not in
      the vocabulary), bool [N] mask and the vocabulary used.

    Raises:
      ValueError: When ``vocabulary`` has duplicates or empty names.
    """
    ids = [None if s is None or (isinstance(s, float) and np.isnan(s)) else str(s)
           for s in speaker_ids]
    if vocabulary is None:
        vocab = tuple(sorted({s for s in ids if s is not None}))
    else:
        vocab = tuple(vocabulary)
        if any(not isinstance(s, str) or not s for s in vocab):
            raise ValueError("speaker vocabulary entries must be non-empty strings")
        dup = sorted(s for s, n in collections.Counter(vocab).items() if n > 1)
        if dup:
            raise ValueError(f"speaker vocabulary has duplicates: {dup}")
    position = {s: i for i, s in enumerate(vocab)}
    index = np.array([position.get(s, hard.NO_LABEL) if s is not None else hard.NO_LABEL
                      for s in ids], dtype=np.int64)
    return index, index >= 0, vocab
