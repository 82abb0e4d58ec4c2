"""SEWA as packaged for AVEC 2019 CES: 10 Hz arousal/valence/liking traces and frame features.

Layout of the challenge package (baseline default ``AVEC2019_CES_traindeveltest/``;
pass it as ``root``)::

    labels/<Partition>_<Culture>_<NN>.csv        gold-standard traces (Train, Devel only)
    audio_features_egemaps/<id>.csv               openSMILE LLDs, 100 frames/s
    audio_features_mfcc/ , *_functionals/ , *_xbow/ , visual_features*/ , ...
    audio/<id>.wav                                (optional) raw audio

Recording ids are ``<Partition>_<Culture>_<NN>`` with Partition in Train/Devel/Test and
Culture DE (German), HU (Hungarian) or CN (Chinese, Test only). Label CSV:
``;``-separated, header ``name;timestamp;arousal;valence;liking``, the name wrapped in
single quotes (``'Devel_DE_01'``), timestamps from 0.0 in steps of 0.1 s, values about
-1...1. Feature CSVs: column 0 the quoted name, column 1 the frame time, the rest
features; header present or not and ``;`` or ``,`` as separator depending on the set
(sniffed per file, as the official baseline does).

What the loader records:

* One utterance per recording id seen in ``labels/``, any feature folder or ``audio/``:
  ``session_id`` = culture, ``official_split`` from the partition (Train -> train,
  Devel -> dev, Test -> test; raw name in ``extra["partition_raw"]``), ``speaker_id``
  None (the package does not say who the annotated subject is, nor whether subjects
  recur; pass ``speaker_per_recording=True`` to assume one subject per recording,
  ``sewa:<id>``), gender None. ``duration_s`` = label frames x label step (the
  corpus's own times); for unlabelled Test recordings, the WAV header when the audio
  is present, else the end of the longest feature stream. ``audio_path`` is
  ``audio/<id>.wav`` even when absent (``extra["audio_present"]`` says which).
* Traces: each label column (arousal, valence, liking) becomes a ``label`` trace with
  ``rater_id="consensus"`` (the package holds only the fused gold standard; per-rater
  SEWA traces are not in it); each feature folder becomes a ``feature`` trace with
  ``rater_id="none"`` and ``attribute`` = the folder name. ``rate_hz`` is measured from
  the file's time column, never assumed. No ratings rows; ``meta.dimensions`` declares
  the -1...1 scale of the label traces.
* Trace arrays: ``Trace.path`` must be an ``.npy`` file, so every CSV is converted
  (float32, ``[T]`` for a label, ``[T, D]`` for features) into ``cache_dir``:
  ``<cache_dir>/labels/<id>.<attribute>.npy`` and ``<cache_dir>/<feature set>/<id>.npy``,
  rewritten atomically on every load. ``root`` is never written to (it is often a
  read-only licensed copy). Where ``cache_dir`` goes: given explicitly; else
  ``<table_dir>/traces/sewa`` when ``table_dir`` (the folder the table will be saved
  in) is given, with trace paths stored relative to ``table_dir`` so the saved table
  can be moved with its arrays; else a per-root folder under the user cache
  (``$TFSER_CACHE_DIR`` or ``$XDG_CACHE_HOME/tfser`` or ``~/.cache/tfser``), with
  absolute paths.

Nothing is shifted or padded here: the 2 s annotation-delay shift and zero-padding to the
longest sequence used by the AVEC baseline are training choices, not facts of the data.

Obtaining it: the SEWA database (https://db.sewaproject.eu/) is released for
non-commercial research after an agreement; the AVEC 2019 CES package was obtained from
the challenge organisers on request. Licence: that agreement (no redistribution). Tests
use :mod:`tfser.testing.fixtures.sewa`.

Pitfalls handled: quoted names, ``;`` vs ``,`` and header vs no header per feature set,
CRLF line ends and BOMs, trailing separators, 2-decimal times in functionals, no labels
for Test. A recording whose files disagree with their name, whose time column is not
uniform (or, for labels, does not start at 0), which has non-numeric cells, NaN labels
or fewer than two frames is rejected with every problem listed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfser.corpora import textio
from tfser.annotations import schema
from tfser.corpora.options import TABLE_DIR, Option
from tfser.corpora.base import LoadResult, Reject, finish
from tfser.audio.audio_io import AudioError, probe
from tfser.fileio import atomic

CORPUS = "sewa"
PARTITIONS = {"Train": "train", "Devel": "dev", "Test": "test"}
LANGUAGES = {"DE": "de", "HU": "hu", "CN": "zh"}
LABEL_DIR = "labels"
AUDIO_DIR = "audio"
# The keyword options of load(), read by tfser.corpora.load_corpus to check user input.
OPTIONS = (
    Option("cache_dir", "text", None, "Where the .npy trace arrays are written (default: "
           "<table_dir>/traces/sewa, else a cache beside the package)."),
    TABLE_DIR,
    Option("feature_sets", "text_list", None,
           "Feature folders to load (default: every one; [] loads labels only)."),
    Option("speaker_per_recording", "flag", False,
           "Set speaker_id to sewa:<id> (one subject per recording, an assumption)."),
)
LOOKED_FOR = (f"recordings <Partition>_<Culture>_<NN> in {LABEL_DIR}/, {AUDIO_DIR}/ and the "
              "feature folders")
DEFAULT_LABELS = ("arousal", "valence", "liking")
# Sorted: meta.json is written with sorted keys (see tfser.annotations.io).
DIMENSIONS = {name: [-1.0, 1.0] for name in sorted(DEFAULT_LABELS)}
# Folders that hold raw media or our own output, never feature CSVs.
_NOT_FEATURES = {LABEL_DIR, AUDIO_DIR, "video"}

_RECORDING = re.compile(r"^(?P<partition>Train|Devel|Test)_(?P<culture>[A-Z]{2})_(?P<num>\d{2,})$")
_log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- cache


def default_cache_dir(root: str) -> str:
    """Per-root conversion folder under the user's cache (see the module docstring)."""
    base = os.environ.get("TFSER_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                               ".cache")
        base = os.path.join(xdg, "tfser")
    digest = hashlib.sha1(os.path.abspath(root).encode("utf-8")).hexdigest()[:12]
    return os.path.join(base, "sewa", digest)


def _save_npy(path: str, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # A file object, not a name: np.save would append ".npy" to the temporary name.
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)


# ----------------------------------------------------------------------------- parsing


class StreamError(ValueError):
    """A label or feature file that cannot be used; the message names the file."""




def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_stream(path: str, recording: str, rel: str
                ) -> Tuple[Optional[List[str]], np.ndarray, np.ndarray]:
    """Reads one AVEC CSV (label or feature file).

    Args:
      path: The CSV.
      recording: The recording id every row's name must equal.
      rel: Name of the file in messages.

    Returns:
      ``(header value-column names or None, times [T], values [T, D] float32)``.

    Raises:
      StreamError: naming the file (and line) on any inconsistency.
    """
    lines = textio.read_lines(path, skip_blank=True)
    if not lines:
        raise StreamError(f"{rel}: empty file")
    delimiter = ";" if ";" in lines[0] else ","
    first = [cell.strip().strip("'\"") for cell in lines[0].split(delimiter)]
    has_header = len(first) < 2 or not _is_number(first[1])
    names = first[2:] if has_header else None
    body = lines[1:] if has_header else lines
    # Trailing separators produce an empty last column on every row; drop it.
    if body and all(line.rstrip().endswith(delimiter) for line in body):
        body = [line.rstrip()[:-1] for line in body]
        if names is not None and names and names[-1] == "":
            names = names[:-1]
    if len(body) < 2:
        raise StreamError(f"{rel}: {len(body)} frame(s); at least 2 are needed")
    frame = pd.read_csv(io.StringIO("\n".join(body)), sep=delimiter, header=None,
                        quotechar="'", skipinitialspace=True, dtype={0: str})
    if frame.shape[1] < 3:
        raise StreamError(f"{rel}: {frame.shape[1]} column(s); expected name, time and "
                          "at least one value")
    if names is not None and len(names) != frame.shape[1] - 2:
        raise StreamError(f"{rel}: header names {len(names)} value columns but rows have "
                          f"{frame.shape[1] - 2}")
    ids = frame.iloc[:, 0].astype(str).str.strip().str.strip("'\"")
    wrong = np.flatnonzero((ids != recording).to_numpy())
    if len(wrong):
        line = wrong[0] + 1 + int(has_header)
        raise StreamError(f"{rel}:{line}: name '{ids.iloc[wrong[0]]}' in a file of "
                          f"recording '{recording}'")
    numeric = frame.iloc[:, 1:]
    for column in numeric.columns:
        if not pd.api.types.is_numeric_dtype(numeric[column]):
            bad = pd.to_numeric(numeric[column], errors="coerce").isna() & numeric[column].notna()
            row = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
            raise StreamError(f"{rel}:{row + 1 + int(has_header)}: non-numeric value "
                              f"{numeric[column].iloc[row]!r} in column {column + 1}")
    times = numeric.iloc[:, 0].to_numpy(dtype=np.float64)
    values = numeric.iloc[:, 1:].to_numpy(dtype=np.float32)
    return names, times, values


def _step(times: np.ndarray, rel: str, from_zero: bool) -> float:
    """The uniform frame step of a time column (raises StreamError otherwise)."""
    diffs = np.diff(times)
    step = float(np.median(diffs))
    if not step > 0:
        raise StreamError(f"{rel}: time column does not increase")
    # Times are written with 2 or 6 decimals; allow that rounding, nothing more.
    tolerance = max(0.006, 0.05 * step) if step >= 0.05 else 0.2 * step
    irregular = np.flatnonzero(np.abs(diffs - step) > tolerance)
    if len(irregular):
        i = int(irregular[0])
        raise StreamError(f"{rel}: time step {diffs[i]:.6f} s between frames {i + 1} and "
                          f"{i + 2} differs from the file's step {step:.6f} s")
    if from_zero and abs(times[0]) > tolerance:
        raise StreamError(f"{rel}: first timestamp is {times[0]:g}, expected 0")
    return step


def _rate(step: float) -> float:
    return float(round(1.0 / step, 6))


# ----------------------------------------------------------------------------- discovery


def _recordings_in(folder: str) -> Dict[str, str]:
    """Recording id -> file path of the CSVs in ``folder`` (others logged and skipped)."""
    found = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() != ".csv" or name.startswith("._"):
            continue
        if _RECORDING.match(stem):
            found[stem] = os.path.join(folder, name)
        else:
            _log.info("SEWA: %s is not named <Partition>_<Culture>_<NN>.csv; skipped",
                      os.path.join(folder, name))
    return found


def _feature_folders(root: str, cache_dir: str) -> List[str]:
    cache = os.path.abspath(cache_dir)
    folders = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if (name in _NOT_FEATURES or name.startswith(".") or not os.path.isdir(path)
                or os.path.abspath(path) == cache):
            continue
        if any(_RECORDING.match(os.path.splitext(f)[0]) and f.lower().endswith(".csv")
               for f in os.listdir(path)):
            folders.append(name)
    return folders


def _order(recording: str) -> Tuple[int, str, int]:
    match = _RECORDING.match(recording)
    return (list(PARTITIONS).index(match.group("partition")), match.group("culture"),
            int(match.group("num")))


# ----------------------------------------------------------------------------- load


def load(root: str, *, cache_dir: Optional[str] = None, table_dir: Optional[str] = None,
         feature_sets: Optional[Sequence[str]] = None,
         speaker_per_recording: bool = False) -> LoadResult:
    """Loads the AVEC 2019 CES package: recordings, label traces, feature traces.

    Args:
      root: The package folder (holding ``labels/`` and the feature folders).
      cache_dir: Where the ``.npy`` trace arrays are written (see module docstring).
      table_dir: The folder the table will be saved in; trace paths are then stored
        relative to it, and ``cache_dir`` defaults to ``<table_dir>/traces/sewa``.
      feature_sets: Feature folders to load (default: every folder holding
        ``<id>.csv`` files); ``[]`` loads labels only.
      speaker_per_recording: Set ``speaker_id`` to ``sewa:<id>`` (one subject per
        recording, an assumption the package does not state) instead of None.

    Returns:
      The validated table, the rejected recordings and the number of recordings found.

    Raises:
      FileNotFoundError: when ``root`` has neither ``labels/`` nor a feature folder, or a
        requested feature set is absent.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"SEWA: {root} is not a folder")
    if cache_dir is None:
        cache_dir = (os.path.join(table_dir, "traces", "sewa") if table_dir
                     else default_cache_dir(root))
    available = _feature_folders(root, cache_dir)
    if feature_sets is None:
        feature_sets = available
    else:
        missing = [name for name in feature_sets if name not in available]
        if missing:
            raise FileNotFoundError(f"SEWA: feature set(s) {missing} not found in {root} "
                                    f"(available: {available})")
    label_dir = os.path.join(root, LABEL_DIR)
    labels = _recordings_in(label_dir) if os.path.isdir(label_dir) else {}
    if not labels and not available:
        raise FileNotFoundError(f"SEWA: no {LABEL_DIR}/ folder and no feature folder with "
                                f"<Partition>_<Culture>_<NN>.csv files in {root}")
    features = {name: _recordings_in(os.path.join(root, name)) for name in feature_sets}
    audio_dir = os.path.join(root, AUDIO_DIR)
    audio = {}
    if os.path.isdir(audio_dir):
        for name in os.listdir(audio_dir):
            stem, ext = os.path.splitext(name)
            if ext.lower() == ".wav" and _RECORDING.match(stem):
                audio[stem] = os.path.join(audio_dir, name)
    recordings = set(labels) | set(audio)
    for files in features.values():
        recordings |= set(files)

    def stored(path: str) -> str:
        return os.path.relpath(path, table_dir) if table_dir else os.path.abspath(path)

    utterances: List[schema.Utterance] = []
    traces: List[schema.Trace] = []
    rejects: List[Reject] = []
    for recording in sorted(recordings, key=_order):
        match = _RECORDING.match(recording)
        problems: List[str] = []
        arrays: List[Tuple[str, str, str, float, np.ndarray]] = []  # kind, attr, path, rate, x
        duration = None
        duration_source = None
        if recording in labels:
            rel = f"{LABEL_DIR}/{os.path.basename(labels[recording])}"
            try:
                names, times, values = read_stream(labels[recording], recording, rel)
                if names is None:
                    if values.shape[1] != len(DEFAULT_LABELS):
                        raise StreamError(f"{rel}: no header and {values.shape[1]} value "
                                          f"columns (expected {list(DEFAULT_LABELS)})")
                    names = list(DEFAULT_LABELS)
                if len(set(names)) != len(names) or any(not n for n in names):
                    raise StreamError(f"{rel}: label columns {names} are empty or repeated")
                step = _step(times, rel, from_zero=True)
                bad = np.argwhere(~np.isfinite(values))
                if len(bad):
                    row, col = bad[0]
                    raise StreamError(f"{rel}:{row + 2}: {names[col]} is not a finite number")
                for col, name in enumerate(names):
                    arrays.append(("label", name.lower(), os.path.join(
                        cache_dir, LABEL_DIR, f"{recording}.{name.lower()}.npy"),
                        _rate(step), values[:, col]))
                duration, duration_source = len(times) * step, "labels"
            except StreamError as error:
                problems.append(str(error))
        ends = []
        for name in feature_sets:
            path = features[name].get(recording)
            if path is None:
                continue
            rel = f"{name}/{os.path.basename(path)}"
            try:
                _, times, values = read_stream(path, recording, rel)
                step = _step(times, rel, from_zero=False)
                arrays.append(("feature", name, os.path.join(cache_dir, name,
                                                             f"{recording}.npy"),
                               _rate(step), values))
                ends.append(float(times[-1]) + step)
            except StreamError as error:
                problems.append(str(error))
        audio_path = audio.get(recording)
        if duration is None and audio_path:
            try:
                duration, duration_source = probe(audio_path).duration_s, "audio"
            except AudioError as error:
                problems.append(f"{AUDIO_DIR}/{os.path.basename(audio_path)}: "
                                f"{error.problem}")
        if duration is None and ends:
            duration, duration_source = max(ends), "features"
        if not problems and not (duration and duration > 0):
            problems.append("no duration: no labels, no readable audio and no features")
        if problems:
            # The first file named in the problems is the one to open first.
            source = problems[0].split(":", 1)[0] if ":" in problems[0] else ""
            rejects.append(Reject(item=recording, reason="; ".join(problems), source=source))
            continue

        for kind, attribute, path, rate, array in arrays:
            _save_npy(path, array)
            traces.append(schema.Trace(
                utt_id=recording, rater_id="consensus" if kind == "label" else "none",
                kind=kind, attribute=attribute, rate_hz=rate, path=stored(path),
                num_frames=int(array.shape[0])))
        culture = match.group("culture")
        extra = {
            "culture": culture,
            "language": LANGUAGES.get(culture),
            "partition_raw": match.group("partition"),
            "audio_present": audio_path is not None,
            "duration_source": duration_source,
            "feature_sets": [a[1] for a in arrays if a[0] == "feature"],
            "labelled": recording in labels,
        }
        utterances.append(schema.Utterance(
            utt_id=recording, corpus=CORPUS,
            audio_path=(os.path.relpath(audio_path, root).replace(os.sep, "/") if audio_path
                        else f"{AUDIO_DIR}/{recording}.wav"),
            duration_s=round(float(duration), 6),
            speaker_id=f"{CORPUS}:{recording}" if speaker_per_recording else None,
            session_id=culture, gender=None,
            official_split=PARTITIONS[match.group("partition")], extra=extra))

    meta = schema.TableMeta(
        corpus=CORPUS, categories=[], secondary_categories=[],
        dimensions={k: list(v) for k, v in DIMENSIONS.items()},
        audio_root=os.path.abspath(root),
        description=f"SEWA (AVEC 2019 CES): gold-standard label traces and frame "
                    f"features {list(feature_sets)}; arrays in {os.path.abspath(cache_dir)}.")
    table = schema.build_table(meta, utterances, (), traces,
                               root=os.path.abspath(table_dir) if table_dir else None)
    return finish(table, rejects, len(recordings), root=root, looked_for=LOOKED_FOR)
