"""Loader of a synthetic corpus directory written by ``tfser-synth``.

The generator already writes the unified table, so loading reads and validates it.
An utterance whose audio file is missing (e.g. a partly copied directory) is set
aside as a reject, together with its ratings and traces.
"""

from __future__ import annotations

import dataclasses
import os
import warnings

from tfser import annotations
from tfser.corpora.base import LoadResult, Reject, finish
from tfser.corpora.options import REQUIRE_AUDIO

CORPUS = "synthetic"
# The keyword options of load(), read by tfser.corpora.load_corpus to check user input.
OPTIONS = (REQUIRE_AUDIO.with_default(True, "Reject utterances whose WAV file is missing."),)
LOOKED_FOR = "a table written by tfser-synth (meta.json, utterances.parquet)"


def load(root: str, require_audio: bool = True, **options) -> LoadResult:
    """Loads the synthetic corpus generated into ``root``.

    Args:
      root: Directory given as ``--out`` to ``tfser-synth``.
      require_audio: Reject utterances whose WAV file is missing.
      **options: Only ``check_audio``, the deprecated name of ``require_audio``; any
        other is an error.

    Returns:
      The table (validated), the rejects and ``items_found`` = utterances in the
      table on disk.

    Raises:
      TypeError: Unknown option.
      FileNotFoundError: ``root`` holds no table.
      ValueError: The table is not a synthetic corpus.
    """
    if "check_audio" in options:
        warnings.warn("synthetic.load(check_audio=...) is renamed require_audio; the old "
                      "name goes away in the next release", DeprecationWarning, stacklevel=2)
        require_audio = options.pop("check_audio")
    if options:
        raise TypeError(f"synthetic loader got unknown options {sorted(options)}; "
                        "supported: require_audio")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"synthetic corpus directory not found: {root} "
                                "(generate one with `tfser-synth --out DIR`)")
    table = annotations.load_table(root)
    if table.meta.corpus != CORPUS:
        raise ValueError(f"{root} holds corpus '{table.meta.corpus}', not '{CORPUS}'")
    if not table.meta.audio_root:
        # The table is written elsewhere (tfser-annotate --out): its relative audio
        # paths must keep resolving against the generated corpus.
        table = annotations.AnnotationTable(
            meta=dataclasses.replace(table.meta, audio_root=os.path.abspath(root)),
            utterances=table.utterances, ratings=table.ratings, traces=table.traces,
            root=table.root)
    found = len(table.utterances)
    rejects = []
    if require_audio:
        keep = []
        for row in table.utterances.itertuples(index=False):
            path = table.resolve_audio(row.audio_path)
            present = os.path.isfile(path)
            keep.append(present)
            if not present:
                rejects.append(Reject(row.utt_id, f"audio file missing: {path}",
                                      os.path.join(root, "utterances.parquet")))
        if rejects:
            kept = table.utterances[keep].reset_index(drop=True)
            ids = set(kept["utt_id"])
            table = annotations.AnnotationTable(
                meta=table.meta, utterances=kept,
                ratings=table.ratings[table.ratings["utt_id"].isin(ids)].reset_index(drop=True),
                traces=table.traces[table.traces["utt_id"].isin(ids)].reset_index(drop=True),
                root=table.root)
    return finish(table, rejects, found, root=root, looked_for=LOOKED_FOR)
