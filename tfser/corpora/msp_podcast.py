"""MSP-Podcast (UT Dallas MSP Lab): consensus labels plus every worker's rating.

Layout (release 1.12; older releases differ, see below)::

    MSP-PODCAST-Publish-1.12/          <- pass this folder as root
      Audios/MSP-PODCAST_<PPPP>_<SSSS>.wav   16 kHz mono speaking turns
      Labels/labels_consensus.csv      one row per file: FileName, EmoClass, EmoAct, EmoVal,
                                       EmoDom, SpkrID, Gender, Split_Set
      Labels/labels_detailed.csv       per-worker ratings (three schemas, below)
      Labels/labels_consensus.json, labels_detailed.json, labels.txt   (same facts)
      Partition.txt, Speaker_ids.txt   (used only when the consensus lacks those columns)

Release differences detected at run time, never assumed from a version number:

* label folder ``Labels/``, ``labels/`` or ``label/``; consensus file
  ``labels_consensus.*`` or the old spelling ``labels_concensus.*`` (CSV preferred,
  then JSON); audio folder ``Audios/`` or ``Audio/``.
* ``labels_detailed.csv`` by its columns: 1.6 ``FileName, Workers, EmoClass_Major,
  EmoClass_Second, EmoAct, EmoVal, EmoDom``; 1.7-1.12 ``FileName, EmoDetail`` where
  ``EmoDetail`` packs ``WORKER<n>; <Primary>; <secondary,list>; A:<x>; V:<y>; D:<z>;``
  (the secondary part may be absent); 2.0 like 1.6 with ``WorkerID``. Without a CSV the
  loader reads ``labels_detailed.json`` (file -> worker -> fields), then ``labels.txt``.
* ``Split_Set``: ``Train`` -> train; ``Validation`` (1.6/1.8) and ``Development``
  (1.11+) -> dev; ``Test1``/``Test2``/``Test3`` -> test. The raw name is kept in
  ``extra["split_raw"]`` (Test1 and Test2 are different protocols).

What the loader records:

* One utterance per consensus row, ``utt_id`` = file name without ``.wav``,
  ``duration_s`` from the WAV header (a missing or unreadable WAV is a reject unless
  ``require_audio=False``, which keeps the row with a NaN duration), ``session_id`` =
  the podcast number ``PPPP``, ``speaker_id`` = ``msp:<SpkrID>`` or None when the
  corpus says ``Unknown`` (such utterances cannot enter speaker-independent splits;
  their official split is still usable), gender from ``Gender``.
* Consensus facts in ``extra``: ``cons_label_raw`` (``EmoClass``), ``cons_label``
  (canonical; None for ``X``), ``cons_no_agreement`` (``X`` = no plurality, a vote
  outcome that never appears as a rater label), ``cons_arousal``/``cons_valence``/
  ``cons_dominance`` (means, 1-7).
* One ``crowd`` rating per worker and file, ``rater_id`` = ``msp:<worker id>``:
  ``primary`` canonical (``O``/``Other``/``Other-<text>`` -> ``other``), ``primary_raw``
  as written, ``secondary`` mapped to the primary names plus the secondary-only names of
  :data:`tfser.annotations.vocabulary.SECONDARY_EXTRA` (``Dissapointed`` is read as
  ``disappointed``; ``Other-<text>`` and unknown free words -> ``other``). When a
  worker's secondary list cannot be rebuilt from the canonical names (free text,
  misspellings) the raw list is kept in ``extra["secondary_raw"][rater_id]``.
  Arousal/valence/dominance are the worker's 1-7 values.

Obtaining it: apply to the UT Dallas MSP Lab under its academic or commercial licence,
https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Podcast.html ; the corpus may
not be redistributed, and tfser never downloads it. Tests use
:mod:`tfser.testing.fixtures.msp_podcast`.

Pitfalls handled: the misspelled ``concensus`` file and case-varying folders; three
detailed-label schemas; A, V, D order in ``EmoDetail``/``labels.txt`` versus the
Act, Val, Dom column order; ``X`` versus ``O``; missing secondary lists; ``Other-*``
free text; ``FileName`` includes ``.wav``; UTF-8 BOM and CRLF line ends. A row the
loader cannot use (unknown code or split, a worker labelled ``X``, a value off the 1-7
scale, the same worker twice, ratings for a file without a consensus row) is a reject
naming the file and line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tfser.corpora import textio
from tfser.annotations import schema
from tfser.annotations import vocabulary as voc
from tfser.corpora.options import REQUIRE_AUDIO, Option
from tfser.corpora.base import LoadResult, Reject, finish
from tfser.audio.audio_io import AudioError, probe

CORPUS = "msp_podcast"
# The keyword options of load(), read by tfser.corpora.load_corpus to check user input.
OPTIONS = (
    Option("consensus", "choice", "auto", "Consensus label file format (auto: CSV, else "
           "JSON).", choices=("auto", "csv", "json")),
    Option("detailed", "choice", "auto", "Per-worker label source (auto: CSV, else JSON, "
           "else labels.txt; none: consensus only).",
           choices=("auto", "csv", "json", "txt", "none")),
    REQUIRE_AUDIO.with_default(True, "Reject rows whose WAV is missing or unreadable; false "
                                     "keeps them with a NaN duration."),
    Option("split_map", "mapping", None,
           "Extra Split_Set names (case-insensitive) -> train/dev/test."),
)
LOOKED_FOR = "rows of the consensus label file (labels_consensus.csv or .json)"
RATER_PREFIX = "msp"

CATEGORIES = (voc.ANGRY, voc.SAD, voc.HAPPY, voc.SURPRISE, voc.FEAR, voc.DISGUST,
              voc.CONTEMPT, voc.NEUTRAL, voc.OTHER)
SECONDARY_CATEGORIES = tuple(voc.SECONDARY_EXTRA)
# Alphabetical: meta.json is written with sorted keys (see tfser.annotations.io).
DIMENSIONS = {"arousal": [1.0, 7.0], "dominance": [1.0, 7.0], "valence": [1.0, 7.0]}

CODES = {"A": voc.ANGRY, "S": voc.SAD, "H": voc.HAPPY, "U": voc.SURPRISE, "F": voc.FEAR,
         "D": voc.DISGUST, "C": voc.CONTEMPT, "N": voc.NEUTRAL, "O": voc.OTHER}
NO_AGREEMENT = "X"
PRIMARY_WORDS = {"angry": voc.ANGRY, "sad": voc.SAD, "happy": voc.HAPPY,
                 "surprise": voc.SURPRISE, "fear": voc.FEAR, "disgust": voc.DISGUST,
                 "contempt": voc.CONTEMPT, "neutral": voc.NEUTRAL, "other": voc.OTHER}
SECONDARY_WORDS = dict(PRIMARY_WORDS, **{name: name for name in SECONDARY_CATEGORIES},
                       dissapointed="disappointed")
SPLITS = {"train": "train", "validation": "dev", "development": "dev", "dev": "dev",
          "test": "test", "test1": "test", "test2": "test", "test3": "test"}
UNKNOWN_VALUES = ("", "unknown", "nan", "none", "na", "n/a")

_LABEL_DIRS = ("Labels", "labels", "label", "Label")
_AUDIO_DIRS = ("Audios", "Audio", "audios", "audio")
_DIM_COLUMNS = (("EmoAct", "arousal"), ("EmoVal", "valence"), ("EmoDom", "dominance"))
_DIM_PREFIX = {"A": "arousal", "V": "valence", "D": "dominance"}
_PACKED_DIM = re.compile(r"^([AVD])\s*:\s*(.*)$")
_FILE_NAME = re.compile(r"^MSP-PODCAST_(\d+)_(\d+)$")

_log = logging.getLogger(__name__)


class RowError(ValueError):
    """A row or field that cannot be used; the message names file and line."""


# ----------------------------------------------------------------------------- reading




def _csv_rows(path: str
              ) -> Tuple[List[str], Iterator[Tuple[int, Dict[str, str], Optional[str]]]]:
    """Header and ``(line number, row dict, error)`` of a CSV with BOM/CRLF tolerated.

    A row whose field count does not match the header comes back with only its first
    cell (as ``FileName``) and an error message, so the caller can reject that item.
    """
    reader = csv.reader(io.StringIO(textio.read_text(path), newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ValueError(f"MSP-Podcast: {path} is empty (no header row)") from None

    def rows():
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            # A trailing separator adds empty cells; anything else is a broken row.
            while len(row) > len(header) and not row[-1].strip():
                row = row[:-1]
            if len(row) != len(header):
                yield reader.line_num, {"FileName": row[0].strip() if row else ""}, (
                    f"{len(row)} fields where the header has {len(header)}")
                continue
            yield reader.line_num, {k: v.strip() for k, v in zip(header, row)}, None

    return header, rows()


def _find(root: str, folders: Sequence[str], names: Sequence[str]) -> Optional[str]:
    for folder in folders:
        for name in names:
            path = os.path.join(root, folder, name)
            if os.path.isfile(path):
                return path
    return None


def _strip_wav(name: str) -> str:
    return name[:-4] if name.lower().endswith(".wav") else name


def _float(text, where: str, field: str) -> Optional[float]:
    if text is None or (isinstance(text, str) and text.strip().lower() in UNKNOWN_VALUES):
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise RowError(f"{where}: {field} '{text}' is not a number") from None
    return None if np.isnan(value) else value


# ----------------------------------------------------------------------------- consensus


def _consensus_records(path: str) -> Iterator[Tuple[str, Dict[str, str], Optional[str]]]:
    """Yields ``(where, fields, error)`` of the consensus CSV or JSON."""
    if path.lower().endswith(".json"):
        data = json.loads(textio.read_text(path))
        if not isinstance(data, dict):
            raise ValueError(f"MSP-Podcast: {path}: expected an object keyed by file name")
        for name, fields in data.items():
            if isinstance(fields, list):
                raise ValueError(f"MSP-Podcast: {path}: entry '{name}' is a list; this looks "
                                 "like the MSP-Face JSON layout, not MSP-Podcast")
            if not isinstance(fields, dict):
                raise ValueError(f"MSP-Podcast: {path}: entry '{name}' is not an object")
            row = {k: ("" if v is None else str(v)).strip() for k, v in fields.items()}
            row["FileName"] = name
            yield f"{os.path.basename(path)}[{name}]", row, None
        return
    header, rows = _csv_rows(path)
    if "FileName" not in header or "EmoClass" not in header:
        raise ValueError(f"MSP-Podcast: {path}: not a consensus file (columns {header}; "
                         "need FileName and EmoClass)")
    for line, row, error in rows:
        yield f"{os.path.basename(path)}:{line}", row, error


# ----------------------------------------------------------------------------- detailed


def _detailed_layout(header: Sequence[str], path: str) -> str:
    columns = set(header)
    if {"FileName", "EmoDetail"} <= columns:
        return "packed"
    for worker in ("Workers", "WorkerID"):
        if {"FileName", worker, "EmoClass_Major"} <= columns:
            return worker
    raise ValueError(f"MSP-Podcast: {path}: unknown labels_detailed layout, columns {header} "
                     "(expected FileName+EmoDetail, or FileName+Workers/WorkerID+"
                     "EmoClass_Major+EmoClass_Second+EmoAct+EmoVal+EmoDom)")


def _unpack_detail(text: str, where: str) -> Dict[str, object]:
    """Splits ``WORKER; Primary; sec,list; A:x; V:y; D:z;`` into fields."""
    parts = [p.strip() for p in text.split(";")]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        raise RowError(f"{where}: cannot read worker detail {text!r}")
    fields: Dict[str, object] = {"worker": parts[0], "primary": parts[1], "secondary": None}
    free = []
    for part in parts[2:]:
        match = _PACKED_DIM.match(part)
        if match:
            name = _DIM_PREFIX[match.group(1)]
            if name in fields:
                raise RowError(f"{where}: {match.group(1)}: given twice in {text!r}")
            fields[name] = match.group(2)
        else:
            free.append(part)
    if free:
        # Free text may itself contain ';'; rejoin what is not an A/V/D item.
        fields["secondary"] = ";".join(free)
    return fields


def _detailed_records(path: str) -> Iterator[Tuple[str, str, object]]:
    """Yields ``(where, file name, worker fields)`` from any detailed-label source.

    ``worker fields`` is a :class:`RowError` instead when the CSV row itself is broken,
    so that only the file it names is rejected.
    """
    base = os.path.basename(path)
    if base.lower().endswith(".json"):
        data = json.loads(textio.read_text(path))
        if not isinstance(data, dict):
            raise ValueError(f"MSP-Podcast: {path}: expected an object keyed by file name")
        for name, workers in data.items():
            if not isinstance(workers, dict):
                raise ValueError(f"MSP-Podcast: {path}: entry '{name}' is not an object keyed "
                                 "by worker (MSP-Face layout?)")
            for worker, fields in workers.items():
                if not isinstance(fields, dict):
                    raise ValueError(f"MSP-Podcast: {path}: {name}/{worker} is not an object")
                yield f"{base}[{name}][{worker}]", name, {
                    "worker": worker, "primary": fields.get("EmoClass_Major"),
                    "secondary": fields.get("EmoClass_Second"),
                    "arousal": fields.get("EmoAct"), "valence": fields.get("EmoVal"),
                    "dominance": fields.get("EmoDom")}
        return
    if base.lower().endswith(".txt"):
        current = None
        for number, raw in enumerate(textio.read_text(path).splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            head = line.split(";", 1)[0].strip()
            if head.lower().endswith(".wav"):
                current = head
            elif head.upper().startswith("WORKER"):
                if current is None:
                    raise ValueError(f"MSP-Podcast: {path}:{number}: worker line before any "
                                     "file line")
                yield f"{base}:{number}", current, _unpack_detail(line, f"{base}:{number}")
            # Other lines (titles, separators) carry no rating.
        return
    header, rows = _csv_rows(path)
    layout = _detailed_layout(header, path)
    for line, row, error in rows:
        where = f"{base}:{line}"
        if error:
            if not row["FileName"]:
                raise ValueError(f"MSP-Podcast: {path}:{line}: {error}")
            yield where, row["FileName"], RowError(f"{where}: {error}")
            continue
        if layout == "packed":
            yield where, row["FileName"], _unpack_detail(row["EmoDetail"], where)
        else:
            yield where, row["FileName"], {
                "worker": row[layout], "primary": row.get("EmoClass_Major"),
                "secondary": row.get("EmoClass_Second"), "arousal": row.get("EmoAct"),
                "valence": row.get("EmoVal"), "dominance": row.get("EmoDom")}


def _map_primary(raw, where: str) -> Tuple[Optional[str], Optional[str]]:
    if raw is None or str(raw).strip() == "":
        return None, None
    raw = str(raw).strip()
    key = raw.lower()
    if raw.upper() == NO_AGREEMENT:
        raise RowError(f"{where}: worker primary '{raw}' is the consensus 'no agreement' "
                       "outcome, not a rater label")
    if key in PRIMARY_WORDS:
        return PRIMARY_WORDS[key], raw
    if raw.upper() in CODES and len(raw) == 1:
        return CODES[raw.upper()], raw
    if key.startswith("other"):
        return voc.OTHER, raw
    raise RowError(f"{where}: unknown primary emotion '{raw}' (known: "
                   f"{sorted(PRIMARY_WORDS)}, Other-<text>, codes {sorted(CODES)})")


def _map_secondary(raw) -> Tuple[List[str], bool]:
    """Canonical secondary names, and whether the raw list is needed to rebuild them."""
    if raw is None:
        return [], False
    if isinstance(raw, (list, tuple)):
        words = [str(w).strip() for w in raw]
    else:
        words = [w.strip() for w in str(raw).split(",")]
    names: List[str] = []
    lossy = False
    for word in words:
        if not word or word.lower() in ("nan", "none"):
            continue
        name = SECONDARY_WORDS.get(word.lower())
        if name is None or word.lower() == "dissapointed":
            # Free text and misspellings: the name we keep cannot give back the word.
            lossy = True
            name = name or voc.OTHER
        if name not in names:
            names.append(name)
    return names, lossy


def _worker_rating(utt_id: str, fields: Mapping[str, object], where: str
                   ) -> Tuple[schema.Rating, Optional[str]]:
    worker = str(fields.get("worker") or "").strip()
    if not worker:
        raise RowError(f"{where}: empty worker id")
    primary, primary_raw = _map_primary(fields.get("primary"), where)
    secondary, lossy = _map_secondary(fields.get("secondary"))
    dims = {}
    for name, (low, high) in DIMENSIONS.items():
        value = _float(fields.get(name), where, name)
        if value is None:
            continue
        if not low <= value <= high:
            raise RowError(f"{where}: {name} {value:g} is outside the {low:g}-{high:g} scale")
        dims[name] = value
    if primary is None and not secondary and not dims:
        raise RowError(f"{where}: worker '{worker}' gave no label and no value")
    raw_secondary = fields.get("secondary")
    if isinstance(raw_secondary, (list, tuple)):
        raw_secondary = ",".join(str(w) for w in raw_secondary)
    rating = schema.Rating(utt_id=utt_id, rater_id=f"{RATER_PREFIX}:{worker}",
                           rater_type="crowd", primary=primary, primary_raw=primary_raw,
                           secondary=tuple(secondary), dims=dims)
    return rating, (str(raw_secondary) if lossy else None)


# ----------------------------------------------------------------------------- side files


def _partition_file(root: str) -> Dict[str, str]:
    path = _find(root, ("",), ("Partition.txt", "Partitions.txt", "partition.txt"))
    if path is None:
        return {}
    splits, skipped = {}, 0
    for line in textio.read_text(path).splitlines():
        parts = [p.strip() for p in line.split(";")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            skipped += 1
            continue
        splits[_strip_wav(parts[1])] = parts[0]
    if skipped:
        _log.info("MSP-Podcast: %s: %d line(s) without '<Set>; <file>' skipped", path, skipped)
    return splits


def _speaker_file(root: str) -> Tuple[Dict[str, str], Dict[str, str]]:
    """(file -> speaker id, speaker id -> gender) from ``Speaker_ids.txt``."""
    path = _find(root, ("",), ("Speaker_ids.txt", "Speaker_IDs.txt", "speaker_ids.txt"))
    by_file, gender = {}, {}
    if path is None:
        return by_file, gender
    for line in textio.read_text(path).splitlines():
        parts = [p.strip() for p in line.split(";")]
        if len(parts) < 2 or not parts[0]:
            continue
        if parts[0].lower().startswith("speaker_"):
            gender[parts[0].split("_", 1)[1]] = parts[1]
        elif parts[0].lower().endswith(".wav"):
            by_file[_strip_wav(parts[0])] = parts[1]
    return by_file, gender


# ----------------------------------------------------------------------------- load


def _pick_consensus(root: str, which: str) -> str:
    names = {"csv": ("labels_consensus.csv", "labels_concensus.csv"),
             "json": ("labels_consensus.json", "labels_concensus.json")}
    order = ("csv", "json") if which == "auto" else (which,)
    for kind in order:
        path = _find(root, _LABEL_DIRS + ("",), names[kind])
        if path:
            return path
    raise FileNotFoundError(
        f"MSP-Podcast: no consensus label file ({' or '.join(n for k in order for n in names[k])})"
        f" in {root}/{{{','.join(_LABEL_DIRS)}}}/; point root at the release folder")


def _pick_detailed(root: str, which: str) -> Optional[str]:
    names = {"csv": ("labels_detailed.csv",), "json": ("labels_detailed.json",),
             "txt": ("labels.txt",)}
    if which == "none":
        return None
    order = ("csv", "json", "txt") if which == "auto" else (which,)
    for kind in order:
        path = _find(root, _LABEL_DIRS + ("",), names[kind])
        if path:
            return path
    if which != "auto":
        raise FileNotFoundError(f"MSP-Podcast: detailed={which!r} but {names[which][0]} is not "
                                f"in {root}/{{{','.join(_LABEL_DIRS)}}}/")
    return None


def load(root: str, *, consensus: str = "auto", detailed: str = "auto",
         require_audio: bool = True, split_map: Optional[Mapping[str, str]] = None
         ) -> LoadResult:
    """Loads an MSP-Podcast release (any of the documented layouts).

    Args:
      root: The release folder (holding ``Labels/`` or ``label/`` and ``Audios/``).
      consensus: ``"auto"`` (CSV, else JSON), ``"csv"`` or ``"json"``.
      detailed: Per-worker source: ``"auto"`` (CSV, else JSON, else ``labels.txt``),
        ``"csv"``, ``"json"``, ``"txt"`` or ``"none"`` (consensus only, no ratings).
      require_audio: Reject rows whose WAV is missing or unreadable (default). With
        False they are kept with a NaN duration (annotation-only use).
      split_map: Extra ``Split_Set`` names (case-insensitive) -> ``train``/``dev``/
        ``test``, for releases with names not known here.

    Returns:
      The validated table, the rejects and the number of candidate files (consensus rows
      plus files that only the detailed labels mention).

    Raises:
      FileNotFoundError: when no consensus label file is found.
      ValueError: on an unknown file layout or option.
    """
    if consensus not in ("auto", "csv", "json"):
        raise ValueError(f"consensus must be 'auto', 'csv' or 'json', got {consensus!r}")
    if detailed not in ("auto", "csv", "json", "txt", "none"):
        raise ValueError(f"detailed must be auto/csv/json/txt/none, got {detailed!r}")
    splits = dict(SPLITS)
    for name, split in (split_map or {}).items():
        if split not in schema.SPLIT_NAMES:
            raise ValueError(f"split_map['{name}'] = '{split}' is not one of "
                             f"{schema.SPLIT_NAMES}")
        splits[name.lower()] = split

    consensus_path = _pick_consensus(root, consensus)
    detailed_path = _pick_detailed(root, detailed)
    audio_dir = next((d for d in _AUDIO_DIRS if os.path.isdir(os.path.join(root, d))),
                     _AUDIO_DIRS[0])
    partition = _partition_file(root)
    speaker_by_file, speaker_gender = _speaker_file(root)

    # --- consensus rows: one candidate utterance each
    rows: Dict[str, Tuple[str, Dict[str, str]]] = {}
    order: List[str] = []
    rejects: List[Reject] = []
    problems: Dict[str, List[str]] = {}
    found = 0
    consensus_name = os.path.relpath(consensus_path, root)
    for where, row, error in _consensus_records(consensus_path):
        found += 1
        utt_id = _strip_wav(row.get("FileName", ""))
        if error or not utt_id:
            rejects.append(Reject(item=utt_id or where, source=consensus_name,
                                  reason=f"{where}: {error or 'empty FileName'}"))
            continue
        if utt_id in rows:
            rejects.append(Reject(item=utt_id, source=consensus_name,
                                  reason=f"{where}: duplicate row, first at {rows[utt_id][0]}"))
            continue
        rows[utt_id] = (where, row)
        order.append(utt_id)

    # --- per-worker ratings
    ratings: Dict[str, List[schema.Rating]] = {}
    secondary_raw: Dict[str, Dict[str, str]] = {}
    orphans: Dict[str, str] = {}
    detailed_name = os.path.relpath(detailed_path, root) if detailed_path else None
    if detailed_path:
        for where, name, fields in _detailed_records(detailed_path):
            utt_id = _strip_wav(str(name).strip())
            if utt_id not in rows:
                orphans.setdefault(utt_id, where)
                continue
            try:
                if isinstance(fields, RowError):
                    raise fields
                rating, raw = _worker_rating(utt_id, fields, where)
            except RowError as error:
                problems.setdefault(utt_id, []).append(str(error))
                continue
            utt_ratings = ratings.setdefault(utt_id, [])
            if any(r.rater_id == rating.rater_id for r in utt_ratings):
                problems.setdefault(utt_id, []).append(
                    f"{where}: worker '{rating.rater_id}' rates this file twice")
                continue
            utt_ratings.append(rating)
            if raw is not None:
                secondary_raw.setdefault(utt_id, {})[rating.rater_id] = raw
    for utt_id, where in orphans.items():
        found += 1
        rejects.append(Reject(item=utt_id, source=detailed_name,
                              reason=f"{where}: ratings for a file that has no row in "
                                     f"{consensus_name}"))

    # --- utterances
    utterances: List[schema.Utterance] = []
    all_ratings: List[schema.Rating] = []
    for utt_id in order:
        where, row = rows[utt_id]
        try:
            utterance = _utterance(root, utt_id, where, row, audio_dir, splits, partition,
                                   speaker_by_file, speaker_gender, require_audio)
        except RowError as error:
            problems.setdefault(utt_id, []).insert(0, str(error))
            utterance = None
        if utt_id in problems:
            rejects.append(Reject(item=utt_id, reason="; ".join(problems[utt_id]),
                                  source=consensus_name))
            continue
        if utt_id in secondary_raw:
            utterance.extra["secondary_raw"] = secondary_raw[utt_id]
        utterances.append(utterance)
        all_ratings.extend(ratings.get(utt_id, []))

    meta = schema.TableMeta(
        corpus=CORPUS, categories=list(CATEGORIES),
        secondary_categories=list(SECONDARY_CATEGORIES),
        dimensions={k: list(v) for k, v in DIMENSIONS.items()},
        audio_root=os.path.abspath(root),
        description=f"MSP-Podcast; consensus from {consensus_name}; worker ratings from "
                    f"{detailed_name or 'none'}.")
    return finish(schema.build_table(meta, utterances, all_ratings), rejects, found,
                  root=root, looked_for=LOOKED_FOR)


def _utterance(root, utt_id, where, row, audio_dir, splits, partition, speaker_by_file,
               speaker_gender, require_audio) -> schema.Utterance:
    """Builds one utterance from its consensus row (raises RowError)."""
    code = row.get("EmoClass", "").strip()
    if code.upper() != NO_AGREEMENT and code.upper() not in CODES:
        raise RowError(f"{where}: unknown EmoClass '{code}' (known: {sorted(CODES)} and "
                       f"'{NO_AGREEMENT}' for no agreement)")
    split_raw = row["Split_Set"] if "Split_Set" in row else partition.get(utt_id, "")
    split = None
    if split_raw.strip():
        split = splits.get(split_raw.strip().lower())
        if split is None:
            raise RowError(f"{where}: unknown Split_Set '{split_raw}' (known: "
                           f"{sorted(splits)}; extend with split_map)")
    speaker_raw = row["SpkrID"] if "SpkrID" in row else speaker_by_file.get(utt_id, "")
    speaker = None if speaker_raw.strip().lower() in UNKNOWN_VALUES else speaker_raw.strip()
    gender_raw = row["Gender"] if "Gender" in row else speaker_gender.get(speaker or "", "")
    gender_key = gender_raw.strip().lower()
    if gender_key in ("male", "m"):
        gender = "male"
    elif gender_key in ("female", "f"):
        gender = "female"
    elif gender_key in UNKNOWN_VALUES:
        gender = None
    else:
        raise RowError(f"{where}: unknown Gender '{gender_raw}'")
    extra = {
        "cons_label_raw": code,
        "cons_label": CODES.get(code.upper()),
        "cons_no_agreement": code.upper() == NO_AGREEMENT,
        "cons_scale": [1.0, 7.0],
        "split_raw": split_raw or None,
        "speaker_raw": speaker_raw or None,
        "label_source": where,
    }
    for column, name in _DIM_COLUMNS:
        extra[f"cons_{name}"] = _float(row.get(column), where, column)
    match = _FILE_NAME.match(utt_id)
    session = match.group(1) if match else None
    audio_path = f"{audio_dir}/{utt_id}.wav"
    full = os.path.join(root, audio_dir, f"{utt_id}.wav")
    duration = float("nan")
    if not os.path.isfile(full):
        if require_audio:
            raise RowError(f"{where}: audio file missing: {audio_path}")
    else:
        try:
            duration = probe(full).duration_s
        except AudioError as error:
            if require_audio:
                raise RowError(f"{where}: unusable audio {audio_path}: {error.problem}"
                               ) from None
    return schema.Utterance(
        utt_id=utt_id, corpus=CORPUS, audio_path=audio_path, duration_s=duration,
        speaker_id=f"{RATER_PREFIX}:{speaker}" if speaker else None, session_id=session,
        gender=gender, official_split=split, extra=extra)
