"""The generic manifest: bring any corpus into tfser with one CSV (or Parquet) file.

One row per rating (one rater's judgement of one utterance)::

    utt_id,audio_path,speaker_id,rater_id,primary,secondary,dim:arousal,official_split
    s01_001,wav/s01_001.wav,lab:s01,lab:r1,angry,frustration;sad,4,train
    s01_001,wav/s01_001.wav,lab:s01,lab:r2,angry,,5,train
    s01_002,wav/s01_002.wav,lab:s01,lab:r1,neutral,,2,test

Columns:

===============  =========  ===========================================================
column           needed     meaning
===============  =========  ===========================================================
utt_id           yes        utterance id, unique in the corpus
audio_path       yes        audio file, relative to ``root`` (or ``audio_root``) or absolute
speaker_id       yes        speaker id (namespace it, e.g. ``lab:s01``); may be empty
rater_id         yes        rater id (namespace it, e.g. ``lab:r1``)
primary          [1]        the rater's primary category
secondary        [1]        further categories, ``;``-separated in CSV (a list in Parquet)
dim:<name>       [1]        the rater's value of attribute ``<name>`` (declare its scale)
rater_type       no         ``observer`` (default), ``crowd``, ``self``, ``intended``,
                            ``listener_aggregate``
condition        no         stimulus condition (e.g. ``voice``), empty for none
session_id       no         recording session
gender           no         ``female``/``f``, ``male``/``m``, or empty
official_split   no         ``train``, ``dev`` (also ``val``/``valid``/``validation``/
                            ``development``), ``test``, or empty
start_s, end_s   no         segment inside ``audio_path`` in seconds (both or neither)
duration_s       no         duration; default: ``end_s - start_s``, else the audio header
intended_label   no         the category the speaker was asked to portray (acted corpora)
extra:<name>     no         any utterance-level fact, kept as text in ``extra[<name>]``
===============  =========  ===========================================================

[1] every row needs a primary category, a secondary category or a dimensional value.

Utterance-level columns (``audio_path``, ``speaker_id``, ``session_id``, ``gender``,
``official_split``, ``start_s``, ``end_s``, ``duration_s``, ``intended_label``,
``extra:*``) must agree across an utterance's rows; they may be left empty on all rows
but one. Any other column is an error (a typo would otherwise vanish) - prefix free
fields with ``extra:``.

Vocabulary and scales come from keyword options or a sidecar file next to the manifest
with the same stem (``manifest.yaml``, ``manifest.yml`` or ``manifest.json``)::

    corpus: mylab                    # table name (default "manifest")
    categories: [angry, happy, neutral, sad]
    secondary_categories: [frustration]          # allowed in ``secondary`` only
    dimensions: {arousal: [1, 5], valence: [1, 5]}
    label_map: {ang: angry, hap: happy}          # raw label -> category
    audio_root: audio                            # relative to the manifest's folder
    description: "Our 2024 recordings"

Options given to :func:`load` override the sidecar. Without ``categories`` the
vocabulary is every primary label found (sorted); every ``dim:`` column needs a
declared scale. Labels are matched exactly after ``label_map``; the raw text is kept in
``primary_raw``.

A utterance whose rows disagree, name an unknown category, hold a non-numeric or
out-of-scale value, repeat a (rater, condition) pair, or whose audio is missing or
unreadable (with ``require_audio=True``, the default) is rejected with every reason and
the manifest lines involved; ``strict=True`` raises ``ValueError`` listing them instead.
Manifests may be UTF-8 with or without BOM, with LF or CRLF line ends.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfser.annotations import schema
from tfser.corpora.options import REQUIRE_AUDIO, Option
from tfser.corpora.base import LoadResult, Reject, finish
from tfser.audio import audio_io

# The keyword options of load(), read by tfser.corpora.load_corpus to check user input.
OPTIONS = (
    Option("manifest", "text", "manifest.csv",
           "Manifest file (.csv or .parquet), relative to root or absolute."),
    Option("corpus", "text", None, "Table name (default: sidecar corpus, else manifest)."),
    Option("categories", "text_list", None,
           "Primary vocabulary (default: sidecar, else every primary label found)."),
    Option("secondary_categories", "text_list", None,
           "Extra names allowed in secondary only."),
    Option("dimensions", "mapping", None, "Attribute -> [min, max] for the dim: columns."),
    Option("label_map", "mapping", None, "Raw label -> category."),
    Option("audio_root", "text", None, "Folder audio paths are relative to (relative to root)."),
    Option("sidecar", "text", None,
           "Sidecar file (default: the manifest's stem with .yaml, .yml or .json)."),
    Option("default_rater_type", "text", "observer",
           "Rater type of rows with an empty rater_type."),
    REQUIRE_AUDIO.with_default(True),
    Option("strict", "flag", False, "Raise listing every problem instead of rejecting."),
)

DEFAULT_CORPUS = "manifest"
DIM_PREFIX = "dim:"
EXTRA_PREFIX = "extra:"
REQUIRED_COLUMNS = ("utt_id", "audio_path", "speaker_id", "rater_id")
UTTERANCE_COLUMNS = ("audio_path", "speaker_id", "session_id", "gender", "official_split",
                     "start_s", "end_s", "duration_s", "intended_label")
RATING_COLUMNS = ("rater_id", "rater_type", "condition", "primary", "secondary")
KNOWN_COLUMNS = ("utt_id",) + UTTERANCE_COLUMNS + RATING_COLUMNS
SIDECAR_KEYS = ("corpus", "categories", "secondary_categories", "dimensions", "label_map",
                "audio_root", "description")
SIDECAR_SUFFIXES = (".yaml", ".yml", ".json")
SECONDARY_SEPARATOR = ";"
_NUMERIC_COLUMNS = ("start_s", "end_s", "duration_s")

_GENDERS = {"female": "female", "f": "female", "woman": "female",
            "male": "male", "m": "male", "man": "male"}
_NO_GENDER = ("unknown", "u", "na", "n/a", "none")
_SPLITS = {"train": "train", "training": "train", "dev": "dev", "val": "dev",
           "valid": "dev", "validation": "dev", "development": "dev", "devel": "dev",
           "test": "test", "testing": "test"}

_log = logging.getLogger(__name__)


# --- reading ---------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    """A cell as stripped text, a list of texts (Parquet secondary) or None when empty."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [_cell(v) for v in value]
        return [v for v in items if isinstance(v, str)]
    if value is None or pd.isna(value):
        return None
    # Numbers from typed Parquet columns are parsed again later, like CSV text.
    return str(value).strip() or None


def read_rows(path: str) -> Tuple[List[str], List[Tuple[str, Dict[str, Any]]]]:
    """Reads a manifest; returns its columns and (where, row) pairs.

    ``where`` is ``"<file>, line N"`` for CSV and ``"<file>, row N"`` for Parquet.

    Raises:
      FileNotFoundError: When the file is missing.
      ValueError: On an unreadable file or a row with the wrong number of fields.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"manifest {path} not found")
    name = os.path.basename(path)
    if path.lower().endswith((".parquet", ".pq")):
        frame = pd.read_parquet(path)
        columns = [str(c).strip() for c in frame.columns]
        rows = []
        for number, values in enumerate(frame.itertuples(index=False, name=None), start=1):
            rows.append((f"{name}, row {number}",
                         {c: _cell(v) for c, v in zip(columns, values)}))
        return columns, rows
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error}); save the manifest as UTF-8"
                         ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: Optional[List[str]] = None
    rows = []
    for fields in reader:
        if columns is None:
            columns = [f.strip() for f in fields]
            continue
        if not any(f.strip() for f in fields):
            continue
        where = f"{name}, line {reader.line_num}"
        if len(fields) != len(columns):
            raise ValueError(f"{where}: {len(fields)} fields, the header has {len(columns)}")
        rows.append((where, {c: _cell(v) for c, v in zip(columns, fields)}))
    if columns is None:
        raise ValueError(f"manifest {path} is empty (no header line)")
    return columns, rows


def find_sidecar(manifest_path: str) -> Optional[str]:
    """``<stem>.yaml``/``.yml``/``.json`` next to the manifest, if present."""
    stem = os.path.splitext(manifest_path)[0]
    for suffix in SIDECAR_SUFFIXES:
        if os.path.isfile(stem + suffix):
            return stem + suffix
    return None


def read_sidecar(path: str) -> Dict[str, Any]:
    """Reads a sidecar (YAML or JSON) and checks its keys and value types.

    Raises:
      ValueError: Naming the file and the offending key.
    """
    with open(path, encoding="utf-8-sig") as handle:
        if path.lower().endswith(".json"):
            data = json.load(handle)
        else:
            import yaml  # pylint: disable=import-outside-toplevel
            data = yaml.safe_load(handle)
    data = data or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of {list(SIDECAR_KEYS)}")
    unknown = sorted(set(data) - set(SIDECAR_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; known keys: {list(SIDECAR_KEYS)}")
    return {k: _checked_option(k, v, path) for k, v in data.items()}


def _checked_option(key: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    if key in ("categories", "secondary_categories"):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where}: {key} must be a list of names, got {value!r}")
        return [v.strip() for v in value]
    if key == "dimensions":
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: dimensions must map a name to [min, max]")
        scales = {}
        for name, scale in value.items():
            try:
                low, high = (float(x) for x in scale)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: dimension '{name}' needs a scale [min, max], got "
                                 f"{scale!r}") from None
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"{where}: dimension '{name}' has an invalid scale "
                                 f"[{low}, {high}]")
            scales[str(name)] = [low, high]
        return scales
    if key == "label_map":
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: label_map must map raw labels to categories")
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key} must be text, got {value!r}")
    return value


# --- one utterance ------------------------------------------------------------------------

class _Vocabulary:
    """Label mapping and the allowed primary / secondary names."""

    def __init__(self, categories: Sequence[str], secondary: Sequence[str],
                 label_map: Mapping[str, str]):
        self.categories = list(categories)
        self.primary = set(categories)
        self.secondary = set(categories) | set(secondary)
        self.label_map = dict(label_map)

    def map(self, raw: str) -> str:
        return self.label_map.get(raw, raw)


def _float(value: Optional[str], column: str, where: str, problems: List[str]) -> Optional[float]:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: {column} '{value}' is not a number")
        return None
    if not math.isfinite(number):
        problems.append(f"{where}: {column} '{value}' is not finite")
        return None
    return number


def _agreed(rows: List[Tuple[str, Dict[str, Any]]], column: str,
            problems: List[str]) -> Optional[Any]:
    """The one value an utterance-level column takes over the rows (None when empty)."""
    seen: Dict[Any, Tuple[str, str]] = {}
    for where, row in rows:
        value = row.get(column)
        if value is None:
            continue
        key = str(value)
        if column in _NUMERIC_COLUMNS:
            # "0.5" and "0.50" are the same time.
            try:
                key = float(value)
            except ValueError:
                pass
        seen.setdefault(key, (str(value), where))
    if len(seen) > 1:
        listed = "; ".join(f"'{v}' ({w})" for v, w in seen.values())
        problems.append(f"{column} differs between the utterance's rows: {listed}")
        return None
    return next(iter(seen.values()))[0] if seen else None


def _split_secondary(value: Any) -> List[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value).split(SECONDARY_SEPARATOR) if part.strip()]


def _rating(utt_id: str, where: str, row: Dict[str, Any], vocab: _Vocabulary,
            dimensions: Mapping[str, List[float]], default_rater_type: str,
            problems: List[str]) -> Optional[schema.Rating]:
    count = len(problems)
    rater_id = row.get("rater_id")
    if rater_id is None:
        problems.append(f"{where}: empty rater_id")
    rater_type = row.get("rater_type") or default_rater_type
    if rater_type not in schema.RATER_TYPES:
        problems.append(f"{where}: rater_type '{rater_type}' is not one of "
                        f"{list(schema.RATER_TYPES)}")
    raw = row.get("primary")
    primary = vocab.map(raw) if raw is not None else None
    if primary is not None and primary not in vocab.primary:
        problems.append(f"{where}: unknown primary category '{raw}' (categories: "
                        f"{sorted(vocab.primary)})")
    secondary = []
    for item in _split_secondary(row.get("secondary")):
        name = vocab.map(item)
        if name not in vocab.secondary:
            problems.append(f"{where}: unknown secondary category '{item}' (allowed: "
                            f"{sorted(vocab.secondary)})")
        elif name not in secondary:
            secondary.append(name)
    dims = {}
    for name, (low, high) in dimensions.items():
        value = _float(row.get(DIM_PREFIX + name), DIM_PREFIX + name, where, problems)
        if value is None:
            continue
        if not low <= value <= high:
            problems.append(f"{where}: {DIM_PREFIX}{name} = {value:g} is outside the scale "
                            f"[{low:g}, {high:g}]")
            continue
        dims[name] = value
    if primary is None and not secondary and not dims and len(problems) == count:
        problems.append(f"{where}: the row has no primary, secondary or dimensional value")
    if len(problems) > count:
        return None
    return schema.Rating(utt_id=utt_id, rater_id=rater_id, rater_type=rater_type,
                         primary=primary, primary_raw=raw, secondary=tuple(secondary),
                         dims=dims, condition=row.get("condition"))


def _duration(path: str, start: Optional[float], end: Optional[float],
              given: Optional[float], require_audio: bool,
              problems: List[str], extra: Dict[str, Any]) -> float:
    """The utterance duration: given, from the segment, else from the audio header."""
    if (start is None) != (end is None):
        problems.append("start_s and end_s must both be given or both be empty")
        return math.nan
    if start is not None and (start < 0 or end <= start):
        problems.append(f"segment [{start:g}, {end:g}] s is not a positive interval")
        return math.nan
    segment = None if start is None else end - start
    if given is not None and given <= 0:
        problems.append(f"duration_s {given:g} must be > 0")
        return math.nan
    if given is not None and segment is not None and abs(given - segment) > 1e-3:
        problems.append(f"duration_s {given:g} disagrees with end_s - start_s = {segment:g}")
        return math.nan
    known = given if given is not None else segment
    if known is not None and not require_audio:
        return known
    try:
        info = audio_io.probe(path)
    except audio_io.AudioError as error:
        if require_audio:
            problems.append(f"audio {error}")
            return math.nan
        extra["audio_problem"] = error.problem
        return math.nan
    extra.update(sample_rate=info.sample_rate, channels=info.channels)
    if end is not None and end > info.duration_s + audio_io.SEGMENT_TOLERANCE_S:
        problems.append(f"segment ends at {end:g} s but {path} lasts {info.duration_s:.3f} s")
        return math.nan
    return known if known is not None else info.duration_s


# --- loader ---------------------------------------------------------------------------------

def load(root: str, manifest: str = "manifest.csv", corpus: Optional[str] = None,
         categories: Optional[Sequence[str]] = None,
         secondary_categories: Optional[Sequence[str]] = None,
         dimensions: Optional[Mapping[str, Sequence[float]]] = None,
         label_map: Optional[Mapping[str, str]] = None, audio_root: Optional[str] = None,
         sidecar: Optional[str] = None, default_rater_type: str = "observer",
         require_audio: bool = True, strict: bool = False) -> LoadResult:
    """Loads a corpus described by a manifest (see the module docstring for the format).

    Args:
      root: Folder of the manifest (or the manifest file itself); relative paths are
        resolved against the folder.
      manifest: Manifest file (``.csv`` or ``.parquet``), relative to ``root`` or absolute.
      corpus: Table name (default: sidecar ``corpus``, else ``manifest``).
      categories: Primary vocabulary (default: sidecar, else every primary label found).
      secondary_categories: Extra names allowed in ``secondary`` only.
      dimensions: Attribute -> [min, max] for the ``dim:`` columns.
      label_map: Raw label -> category, applied to primary, secondary and intended labels.
      audio_root: Folder that audio paths are relative to (relative to ``root``).
      sidecar: Sidecar file (default: the manifest's stem with ``.yaml``/``.yml``/``.json``).
      default_rater_type: Rater type of rows with an empty ``rater_type``.
      require_audio: Reject utterances whose audio is missing or unreadable. With False
        such utterances keep the given duration, or NaN, and ``extra["audio_problem"]``.
      strict: Raise ``ValueError`` listing every problem instead of rejecting.

    Returns:
      The validated table, the rejects and the number of utterances found.

    Raises:
      FileNotFoundError: When the manifest or sidecar is missing.
      ValueError: On an unknown or missing column, an undeclared ``dim:`` scale, a bad
        sidecar, or (with ``strict``) any rejected utterance.
    """
    if os.path.isfile(root):
        # tfser-annotate --root=path/to/manifest.csv: the file names itself.
        root, manifest = os.path.dirname(os.path.abspath(root)), os.path.basename(root)
    manifest_path = manifest if os.path.isabs(manifest) else os.path.join(root, manifest)
    columns, rows = read_rows(manifest_path)
    manifest_name = os.path.basename(manifest_path)
    if sidecar is not None:
        sidecar_path = sidecar if os.path.isabs(sidecar) else os.path.join(root, sidecar)
        if not os.path.isfile(sidecar_path):
            raise FileNotFoundError(f"manifest sidecar {sidecar_path} not found")
    else:
        sidecar_path = find_sidecar(manifest_path)
    options = read_sidecar(sidecar_path) if sidecar_path else {}
    given = {"corpus": corpus, "categories": categories,
             "secondary_categories": secondary_categories, "dimensions": dimensions,
             "label_map": label_map, "audio_root": audio_root}
    for key, value in given.items():
        if value is not None:
            options[key] = _checked_option(key, value, f"option {key}")

    # --- columns
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"{manifest_path}: missing required column(s) {missing}")
    dim_columns = [c for c in columns if c.startswith(DIM_PREFIX)]
    extra_columns = [c for c in columns if c.startswith(EXTRA_PREFIX)]
    unknown = [c for c in columns if c not in KNOWN_COLUMNS and c not in dim_columns
               and c not in extra_columns]
    if unknown:
        raise ValueError(f"{manifest_path}: unknown column(s) {unknown}; known: "
                         f"{list(KNOWN_COLUMNS)} plus 'dim:<name>' and 'extra:<name>'")
    if not ({"primary", "secondary"} & set(columns)) and not dim_columns:
        raise ValueError(f"{manifest_path}: no label column (primary, secondary or dim:<name>)")
    scales = dict(options.get("dimensions") or {})
    undeclared = [c for c in dim_columns if c[len(DIM_PREFIX):] not in scales]
    if undeclared:
        raise ValueError(f"{manifest_path}: no scale declared for {undeclared}; give "
                         "dimensions={name: [min, max]} or a sidecar 'dimensions' entry")
    absent = [d for d in scales if DIM_PREFIX + d not in dim_columns]
    if absent:
        raise ValueError(f"{manifest_path}: dimensions {absent} are declared but the manifest "
                         f"has no {[DIM_PREFIX + d for d in absent]} column")

    # --- vocabulary
    label_map = options.get("label_map") or {}
    secondary_names = list(options.get("secondary_categories") or [])
    if options.get("categories") is not None:
        category_names = list(options["categories"])
    else:
        found = {label_map.get(r["primary"], r["primary"]) for _, r in rows
                 if r.get("primary") is not None}
        category_names = sorted(found)
        others = {label_map.get(s, s) for _, r in rows for s in _split_secondary(
            r.get("secondary"))} - found - set(secondary_names)
        secondary_names += sorted(others)
        _log.info("manifest: no categories declared; using the labels found: %s",
                  category_names)
    vocab = _Vocabulary(category_names, secondary_names, label_map)

    # --- group rows by utterance (first-seen order)
    groups: Dict[str, List[Tuple[str, Dict[str, Any]]]] = {}
    rejects: List[Reject] = []
    blank = 0
    for where, row in rows:
        utt_id = row.get("utt_id")
        if utt_id is None:
            blank += 1
            rejects.append(Reject(item=where, reason=f"{where}: empty utt_id",
                                  source=manifest_name))
            continue
        groups.setdefault(utt_id, []).append((where, row))

    corpus_name = options.get("corpus") or DEFAULT_CORPUS
    audio_base = os.path.join(root, options["audio_root"]) if options.get("audio_root") \
        else root
    utterances: List[schema.Utterance] = []
    ratings: List[schema.Rating] = []
    for utt_id, group in groups.items():
        problems: List[str] = []
        values = {c: _agreed(group, c, problems) for c in UTTERANCE_COLUMNS + tuple(
            extra_columns)}
        if values["audio_path"] is None and "audio_path differs" not in " ".join(problems):
            problems.append("empty audio_path")
        gender = values["gender"]
        if gender is not None:
            if gender.lower() in _GENDERS:
                gender = _GENDERS[gender.lower()]
            elif gender.lower() in _NO_GENDER:
                gender = None
            else:
                problems.append(f"gender '{gender}' is not female/f, male/m or empty")
        split = values["official_split"]
        if split is not None:
            if split.lower() in _SPLITS:
                split = _SPLITS[split.lower()]
            else:
                problems.append(f"official_split '{split}' is not train, dev or test")
        intended = values["intended_label"]
        if intended is not None:
            intended = vocab.map(intended)
            if intended not in vocab.primary:
                problems.append(f"intended_label '{values['intended_label']}' is not a category "
                                f"{sorted(vocab.primary)}")
        first = group[0][0]
        start = _float(values["start_s"], "start_s", first, problems)
        end = _float(values["end_s"], "end_s", first, problems)
        duration_given = _float(values["duration_s"], "duration_s", first, problems)

        utt_ratings = []
        seen: Dict[Tuple[str, Optional[str]], str] = {}
        for where, row in group:
            rating = _rating(utt_id, where, row, vocab, scales, default_rater_type, problems)
            if rating is None:
                continue
            key = (rating.rater_id, rating.condition)
            if key in seen:
                under = "" if rating.condition is None else f" under {rating.condition}"
                problems.append(f"{where}: rater '{rating.rater_id}' rates this utterance "
                                f"again{under} (first at {seen[key].split(', ')[-1]})")
                continue
            seen[key] = where
            utt_ratings.append(rating)

        extra: Dict[str, Any] = {c[len(EXTRA_PREFIX):]: values[c] for c in extra_columns}
        duration = math.nan
        if not problems:
            audio_path = values["audio_path"]
            full = audio_path if os.path.isabs(audio_path) else os.path.join(audio_base,
                                                                             audio_path)
            duration = _duration(full, start, end, duration_given, require_audio, problems,
                                 extra)
        if problems:
            lines = sorted({w.split(", ")[-1] for w, _ in group})
            rejects.append(Reject(item=utt_id, source=manifest_name,
                                  reason=f"({', '.join(lines)}) " + "; ".join(problems)))
            continue
        utterances.append(schema.Utterance(
            utt_id=utt_id, corpus=corpus_name, audio_path=values["audio_path"],
            duration_s=duration, speaker_id=values["speaker_id"], start_s=start, end_s=end,
            session_id=values["session_id"], gender=gender, official_split=split,
            intended_label=intended, extra=extra))
        ratings.extend(utt_ratings)

    if strict and rejects:
        raise ValueError(f"{manifest_path}: {len(rejects)} utterance(s) cannot be used:\n  "
                         + "\n  ".join(f"{r.item}: {r.reason}" for r in rejects))
    meta = schema.TableMeta(
        corpus=corpus_name, categories=category_names,
        secondary_categories=[s for s in secondary_names if s not in category_names],
        dimensions=scales, audio_root=os.path.abspath(audio_base),
        description=options.get("description") or f"Loaded from manifest {manifest_name}.")
    return finish(schema.build_table(meta, utterances, ratings), rejects, len(groups) + blank,
                  root=root, looked_for=f"utterance rows in {manifest_path}")
