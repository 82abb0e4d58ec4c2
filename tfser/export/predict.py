"""Predictions for audio files from an exported SavedModel (:func:`predict_files`).

The export is loaded with plain ``tf.saved_model.load``; ``assets/features.json`` says
what the model reads. Every file is decoded, mixed to mono and resampled with
:mod:`tfser.audio.audio_io` (as featurization does), then

* spectrogram models go through the ``serve_waveform`` signature, whose front-end is
  in the graph;
* other models get their features from the :mod:`tfser.features.registry` extractors
  (openSMILE sets through the guarded loader of :mod:`tfser.features.smile`), sent raw
  to ``serving_default``, which normalises them in-graph.

Output table (CSV or Parquet, by the extension of ``out_path``), one row per file:
``file``, ``duration_s``, per head the columns below, then ``out_of_range_features``
(normalised feature values beyond the export's ``clip_sigma``, clipped before the
model; > 0 is also logged as a warning) and ``max_abs_z`` (largest |z| before
clipping). Per head:

=========================  =====================================================
head type                  columns
=========================  =====================================================
categorical, speaker       ``<head>/pred`` (class name), ``<head>/p/<class>``
multilabel, existence      ``<head>/pred`` (classes scoring >= 0.5, ``;``-joined),
                           ``<head>/score/<class>``
regression                 ``<head>/value/<attribute>`` (frame-level heads: mean
                           over frames)
per_rater                  ``<head>/pred/<rater>``, ``<head>/p/<rater>/<class>``
=========================  =====================================================

The names are those of the evaluation's predictions table
(:mod:`tfser.evaluation.columns`), so one reader serves both.

Streaming (for folders of many thousand files): a bounded pool of threads decodes
the files and extracts their features a few files ahead of the model, batches are
predicted as they fill and the table is appended chunk by chunk (a Parquet row group
per chunk) under a temporary name renamed into place at the end; progress lines
give files/s and the time left. Memory stays flat in the number of files. The same
prediction as an Apache Beam pipeline (``RunInference`` with a tfser model handler, for
a Dask cluster or another Beam runner) is :mod:`tfser.export.beam_predict`; both share
the decoding (:class:`AudioInputs`), the batching rule (:func:`effective_batch_size`),
the rows (:func:`predict_items`) and the accounting (:func:`finish_result`).

Files that cannot be used (missing, dangling symbolic links - also those found in a
walked directory -, unreadable, empty, too short or too long, failing feature
extraction or model checks) are listed with the reason in ``<out>.rejects.csv``
(always written) and printed; ``in = written + rejected`` always holds. When every
file is rejected, :attr:`PredictResult.all_rejected` is true and tfser-predict exits
with status 1.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import os
import threading
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import tensorflow as tf

from tfser.corpora.base import iter_wav_files
from tfser.evaluation import columns as columns_lib
from tfser.evaluation import metrics
from tfser.export import contract
from tfser.audio import audio_io
from tfser.features import registry
from tfser.fileio import atomic

_LOG = logging.getLogger("tfser.export")
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# A multi-label class is predicted when its score is above this, as in tfser.evaluation.
MULTILABEL_THRESHOLD = metrics.MULTILABEL_THRESHOLD
DEFAULT_BATCH_SIZE = 8
# Rows appended to the predictions table at a time (one Parquet row group).
DEFAULT_CHUNK_ROWS = 1000
REJECT_COLUMNS = ["file", "reason", "detail"]
# Reject reasons.
MISSING_FILE = "missing_file"
DANGLING_LINK = "dangling_symlink"
EMPTY_AUDIO = "empty_audio"
UNREADABLE_AUDIO = "unreadable_audio"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
FEATURE_ERROR = "feature_error"
MODEL_ERROR = "model_error"

PathsLike = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]


@dataclasses.dataclass
class PredictResult:
    """What :func:`predict_files` did.

    Attributes:
      out_path: The predictions table.
      rejects_path: The rejects table (``file, reason, detail``).
      inputs: Files found.
      written: Rows written.
      rejects: ``(file, reason, detail)`` of every rejected file.
      signature: The signature used.
      audio_s: Seconds of audio predicted.
      seconds: Wall time.
      out_of_range: ``(file, values beyond the clip, max |z|)`` of every predicted file
        whose normalised features lie outside the training range (column
        ``out_of_range_features`` > 0): the prediction may not be reliable.
      clip_sigma: The export's clip, in training standard deviations.
    """

    out_path: str
    rejects_path: str
    inputs: int
    written: int
    rejects: List[Tuple[str, str, str]]
    signature: str
    audio_s: float
    seconds: float
    out_of_range: List[Tuple[str, int, float]] = dataclasses.field(default_factory=list)
    clip_sigma: float = 0.0

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def all_rejected(self) -> bool:
        """No file got a prediction (tfser-predict then exits with status 1)."""
        return self.written == 0

    def summary_lines(self, max_rejects: int = 20) -> List[str]:
        rate = self.audio_s / self.seconds if self.seconds > 0 else float("nan")
        lines = [f"in = written + rejected: {self.inputs} = {self.written} + {self.rejected}",
                 f"signature {self.signature}; {self.audio_s:.1f} s of audio in "
                 f"{self.seconds:.1f} s ({rate:.1f}x real time)",
                 f"predictions: {self.out_path}", f"rejects: {self.rejects_path}"]
        for path, reason, detail in self.rejects[:max_rejects]:
            lines.append(f"  rejected {path}: {reason}: {detail}")
        if self.rejected > max_rejects:
            lines.append(f"  ... {self.rejected - max_rejects} more in {self.rejects_path}")
        return lines + self.out_of_range_lines(max_rejects)

    def out_of_range_lines(self, shown: int = 20) -> List[str]:
        """Warning lines for files whose features lie outside the training range."""
        if not self.out_of_range:
            return []
        lines = [f"WARNING: {len(self.out_of_range)} file(s) have normalised features "
                 f"beyond +-{self.clip_sigma:g} training standard deviations (clipped; "
                 "column out_of_range_features): check the recording conditions"]
        for path, count, largest in self.out_of_range[:shown]:
            lines.append(f"  {path}: {count} value(s), max |z| {largest:.1f}")
        return lines


def output_format(out_path: str) -> str:
    """``csv`` or ``parquet`` from the extension of ``out_path``.

    Raises:
      ValueError: Another extension.
    """
    extension = os.path.splitext(os.fspath(out_path))[1].lower()
    if extension not in OUTPUT_FORMATS:
        raise ValueError(f"{out_path}: the predictions file must end in one of "
                         f"{sorted(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[extension]


def rejects_path_for(out_path: str) -> str:
    """``<out without extension>.rejects.csv``."""
    return os.path.splitext(os.fspath(out_path))[0] + ".rejects.csv"


def collect_inputs(inputs: PathsLike) -> List[str]:
    """Files to predict: given files as they are, directories walked for ``.wav``.

    A path that does not exist is kept (it becomes a reject with the reason), so that
    every input is accounted for.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    files: List[str] = []
    for item in inputs:
        item = os.fspath(item)
        if os.path.isdir(item):
            files.extend(path for path, _, _ in iter_wav_files(item, item, recursive=True,
                                                                corpus="tfser-predict"))
            # The walk skips links whose target is gone; they are inputs the user gave
            # (a moved corpus), so they become rejects with their reason.
            files.extend(dangling_links(item))
        else:
            files.append(item)
    return files


def dangling_links(directory: str) -> List[str]:
    """``.wav`` symbolic links under ``directory`` whose target does not exist (sorted)."""
    found = []
    for folder, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            if name.lower().endswith(".wav") and os.path.islink(path) \
                    and not os.path.exists(path):
                found.append(path)
    return found


def _reject_reason(error: audio_io.AudioError) -> str:
    problem = error.problem
    if problem == "file not found":
        return MISSING_FILE
    if problem.startswith(audio_io.DANGLING_LINK):
        return DANGLING_LINK
    if "no samples" in problem or "empty file" in problem:
        return EMPTY_AUDIO
    if "shorter than the minimum" in problem:
        return TOO_SHORT
    return UNREADABLE_AUDIO


class AudioInputs:
    """What the model reads, computed from waveforms: one file's payload, a batch's tensors.

    Needs only the export's contract (``assets/features.json``), not the SavedModel, so
    that the Beam path decodes and extracts features on one step and predicts on another.
    """

    def __init__(self, export_dir: str, contract_data: Mapping[str, Any]):
        self.sample_rate = int(contract_data["sample_rate"])
        self.features = list(contract_data["features"])
        self.use_waveform = bool(contract_data.get("waveform_signature"))
        self.signature_name = (contract.WAVEFORM_SIGNATURE if self.use_waveform
                               else contract.FEATURES_SIGNATURE)
        self.min_s = float(contract_data.get("min_duration_s", 0.0))
        self.max_s = float(contract_data.get("max_duration_s", contract.MAX_DURATION_S))
        # Feature extraction runs in several threads: each builds its own extractors
        # (an openSMILE object is not shared between threads).
        self._local = threading.local()
        if not self.use_waveform:
            for feature in self.features:
                if feature.get("source", "audio") != "audio":
                    raise ValueError(f"{export_dir}: the model reads '{feature['name']}', "
                                     f"which comes from the annotation table "
                                     f"({feature['source']}), not from audio; predict_files "
                                     "cannot compute it (use the serving_default signature "
                                     "with your own values)")
            _ = self.extractors  # a bad extractor fails here, not in a worker thread

    def __getstate__(self):
        # Shipped to Beam workers without this thread's extractors (rebuilt there).
        state = dict(self.__dict__)
        state.pop("_local")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    @property
    def extractors(self) -> Dict[str, Any]:
        """This thread's feature extractors, built on first use."""
        if not hasattr(self._local, "extractors"):
            self._local.extractors = {
                f["name"]: registry.build_extractor(f["extractor"], self.sample_rate)
                for f in self.features} if not self.use_waveform else {}
        return self._local.extractors

    def payload(self, waveform: np.ndarray) -> Dict[str, np.ndarray]:
        """What one file contributes to a batch (raises ValueError on bad features)."""
        if self.use_waveform:
            return {contract.WAVEFORM_INPUT: waveform}
        out = {}
        for feature in self.features:
            values = self.extractors[feature["name"]](waveform)
            bad = int(values.size - np.count_nonzero(np.isfinite(values)))
            if bad or values.size == 0:
                raise ValueError(f"{feature['name']}: {bad} of {values.size} values are NaN "
                                 "or infinite" if bad else f"{feature['name']}: no frames")
            out[feature["name"]] = values
        return out

    def decode(self, index: int, path: str) -> Tuple[int, str, Any]:
        """``(index, path, outcome)``: a :class:`DecodedFile`, or the
        ``(path, reason, detail)`` of a reject (unreadable, too short or too long audio,
        failed features)."""
        try:
            waveform = audio_io.read_audio(path, self.sample_rate, min_duration_s=self.min_s,
                                           clip_fraction=None)
        except audio_io.AudioError as error:
            return index, path, (path, _reject_reason(error), error.problem)
        duration = len(waveform) / float(self.sample_rate)
        if duration > self.max_s:
            return index, path, (path, TOO_LONG, f"lasts {duration:.1f} s, longer than the "
                                                 f"{self.max_s:g} s the export accepts")
        try:
            payload = self.payload(waveform)
        except ValueError as error:
            return index, path, (path, FEATURE_ERROR, str(error))
        return index, path, DecodedFile(index, path, duration, payload)

    def batch_inputs(self, payloads: Sequence[Mapping[str, np.ndarray]]) -> Dict[str, Any]:
        """Zero-padded batch tensors plus lengths, keyed by signature input name."""
        if self.use_waveform:
            arrays = [p[contract.WAVEFORM_INPUT] for p in payloads]
            return {contract.WAVEFORM_INPUT: tf.constant(_pad(arrays)),
                    contract.WAVEFORM_LENGTH_INPUT: tf.constant(
                        [len(a) for a in arrays], tf.int32)}
        inputs = {}
        for feature in self.features:
            arrays = [p[feature["name"]] for p in payloads]
            if feature["sequence"]:
                inputs[feature["name"]] = tf.constant(_pad(arrays))
                if feature.get("length_input"):
                    inputs[feature["length_input"]] = tf.constant(
                        [a.shape[0] for a in arrays], tf.int32)
            else:
                inputs[feature["name"]] = tf.constant(np.stack(arrays).astype(np.float32))
        return inputs


class Predictor(AudioInputs):
    """Turns waveforms into batched signature calls for one export."""

    def __init__(self, export_dir: str, contract_data: Mapping[str, Any]):
        super().__init__(export_dir, contract_data)
        loaded = tf.saved_model.load(export_dir)
        if self.signature_name not in loaded.signatures:
            raise ValueError(f"{export_dir}: no '{self.signature_name}' signature (has "
                             f"{sorted(loaded.signatures)})")
        self._loaded = loaded  # keeps the variables alive
        self.signature = loaded.signatures[self.signature_name]

    def __call__(self, payloads) -> Dict[str, np.ndarray]:
        outputs = self.signature(**self.batch_inputs(payloads))
        return {head: value.numpy() for head, value in outputs.items()}


@dataclasses.dataclass
class DecodedFile:
    """A decoded file waiting for its batch (``payload``: :meth:`AudioInputs.payload`)."""

    index: int
    path: str
    duration_s: float
    payload: Dict[str, np.ndarray]


def _pad(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Stacks arrays of different first-axis lengths, zero-padded at the end."""
    longest = max(a.shape[0] for a in arrays)
    out = np.zeros((len(arrays), longest) + arrays[0].shape[1:], np.float32)
    for row, array in enumerate(arrays):
        out[row, :array.shape[0]] = array
    return out


def prediction_columns(head: str, output: np.ndarray, entry: Mapping[str, Any],
                       names: Sequence[str]) -> Dict[str, Any]:
    """The table columns of one head for one file (see the module docstring).

    Args:
      head: Head name.
      output: The head's output for this file (batch axis removed).
      entry: The head's ``outputs`` entry of features.json (``type``, ``raters``...).
      names: Its class / attribute names from classes.json.
    """
    family = columns_lib.FAMILY_BY_HEAD_TYPE[entry["type"]]
    columns: Dict[str, Any] = {}
    if family == "regression":
        values = output.mean(axis=0) if output.ndim == 2 else output
        columns.update(zip(columns_lib.output_columns(head, family, names),
                           map(float, values)))
        return columns
    if family == "per_rater":
        raters = entry.get("raters") or [f"rater_{i}" for i in range(output.shape[0])]
        for rater, row in zip(raters, output):
            columns[columns_lib.pred_column(head, rater)] = names[int(np.argmax(row))]
            columns.update(zip(columns_lib.output_columns(head, family, names, [rater]),
                               map(float, row)))
        return columns
    if family == "multilabel":
        columns[columns_lib.pred_column(head)] = ";".join(
            name for name, value in zip(names, output) if value > MULTILABEL_THRESHOLD)
    else:
        columns[columns_lib.pred_column(head)] = names[int(np.argmax(output))]
    columns.update(zip(columns_lib.output_columns(head, family, names), map(float, output)))
    return columns


class TableWriter:
    """Appends rows to the predictions table chunk by chunk (CSV or Parquet).

    Rows arrive in input order and are flushed every ``chunk_rows``, so the table is
    never held whole. Parquet gets one row group per chunk with the schema of the
    first chunk (columns with no value there: text for ``file``/``.../pred...``
    columns, float64 otherwise).
    """

    def __init__(self, path: str, columns: List[str], chunk_rows: int, table_format: str):
        self.path, self.columns, self.chunk_rows = path, columns, max(1, int(chunk_rows))
        self.format = table_format
        self.pending: List[Dict[str, Any]] = []
        self.started = False
        self.parquet: Optional[pq.ParquetWriter] = None
        self.schema: Optional[pa.Schema] = None

    def add(self, row: Dict[str, Any]) -> None:
        self.pending.append(row)
        if len(self.pending) >= self.chunk_rows:
            self.flush()

    def flush(self, final: bool = False) -> None:
        """Writes the pending rows (and, at the end, the header of an empty table)."""
        if not self.pending and (self.started or not final):
            return
        frame = pd.DataFrame(self.pending, columns=self.columns)
        self.pending = []
        if self.format == "csv":
            frame.to_csv(self.path, index=False, mode="a" if self.started else "w",
                         header=not self.started)
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False,
                                         schema=self.schema)
            if self.parquet is None:
                self.schema = _typed_nulls(table.schema)
                table = table.cast(self.schema)
                self.parquet = pq.ParquetWriter(self.path, self.schema)
            self.parquet.write_table(table)
        self.started = True

    def close(self) -> None:
        self.flush(final=True)
        if self.parquet is not None:
            self.parquet.close()


def _typed_nulls(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every null-typed column given the type its name implies."""
    fields = []
    for field in schema:
        if pa.types.is_null(field.type):
            text = field.name == "file" or "/pred" in field.name
            field = field.with_type(pa.string() if text else pa.float64())
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata)


def expected_columns(contract_data, classes) -> List[str]:
    """Column order of an empty table (and of any table): file, duration, heads, checks."""
    columns = ["file", "duration_s"]
    for head, entry in contract_data["outputs"].items():
        shape = entry["shape"]
        dummy = np.zeros([d if d is not None else 1 for d in shape[1:]], np.float32)
        columns += list(prediction_columns(head, dummy, entry, classes[head]))
    return columns + list(contract.DIAGNOSTIC_OUTPUTS)


def clip_sigma_of(contract_data: Mapping[str, Any]) -> float:
    """The largest clip of the export's normalised features (0.0: none)."""
    return max([float((f.get("normalisation") or {}).get("clip_sigma") or 0.0)
                for f in contract_data["features"]] or [0.0])


def _decoded(files: Sequence[str], decode, workers: int) -> Iterator[Tuple[int, str, Any]]:
    """``decode(index, path)`` of every file, in input order, ``workers`` at a time.

    At most ``2 * workers`` decoded files wait at any time, so memory does not grow
    with the number of files.
    """
    if workers <= 1:
        for index, path in enumerate(files):
            yield decode(index, path)
        return
    with concurrent.futures.ThreadPoolExecutor(workers,
                                               thread_name_prefix="tfser-predict") as pool:
        window: collections.deque = collections.deque()
        for index, path in enumerate(files):
            window.append(pool.submit(decode, index, path))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


class Progress:
    """A log line every ``every`` files: count, rate and the estimated time left."""

    def __init__(self, total: int, every: int):
        self.total, self.every, self.start = total, every, time.time()

    def update(self, done: int) -> None:
        if not self.every or (done % self.every and done != self.total):
            return
        elapsed = max(time.time() - self.start, 1e-9)
        rate = done / elapsed
        _LOG.info("%d/%d files, %.1f files/s, ETA %.0f s", done, self.total, rate,
                  (self.total - done) / rate)


def default_workers() -> int:
    """Feature-extraction threads when none are asked for: one per CPU core."""
    return max(1, os.cpu_count() or 1)


def predict_files(export_dir: str, inputs: PathsLike, out_path: str,
                  batch_size: int = DEFAULT_BATCH_SIZE, log_every: int = 100,
                  workers: Optional[int] = None, chunk_rows: int = DEFAULT_CHUNK_ROWS
                  ) -> PredictResult:
    """Predicts every head for audio files with an export and writes a table.

    Streams: files are decoded and their features extracted by ``workers`` threads
    (a bounded window ahead of the model), batches go to the model as they fill, and
    the table is appended every ``chunk_rows`` rows, so memory does not grow with the
    number of files (only the file list and the rejects are kept).

    Args:
      export_dir: A SavedModel written by :func:`tfser.export.export_saved_model`.
      inputs: An audio file, a directory (walked recursively for ``.wav``) or a list
        of both.
      out_path: ``.csv`` or ``.parquet`` table to write (replaced when it exists, in
        one rename at the end).
      batch_size: Files per signature call (zero-padded; padding is masked in-graph).
        Models with frame-level outputs, or sequence inputs without lengths, are run
        one file at a time.
      log_every: Progress line (files/s, ETA) every this many files.
      workers: Threads decoding audio and extracting features (default: one per CPU
        core; openSMILE and the audio decoder release the GIL).
      chunk_rows: Rows per append to the table (a Parquet row group).

    Returns:
      A :class:`PredictResult`; its ``summary_lines()`` are what tfser-predict prints.

    Raises:
      FileNotFoundError: ``export_dir`` is not a tfser export.
      ValueError: No input files, a bad output extension, batch size or number of
        workers, or a model whose features cannot be computed from audio.
    """
    start = time.time()
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    run = prepare_run(export_dir, inputs, out_path, batch_size)
    out_path, contract_data, classes, files = (run.out_path, run.contract, run.classes,
                                               run.files)
    batch_size = run.batch_size
    predictor = Predictor(os.fspath(export_dir), contract_data)
    _LOG.info("predicting %d files with %s (%s), %d feature thread(s)", len(files),
              export_dir, predictor.signature_name, workers)

    rejects: Dict[int, Tuple[str, str, str]] = {}
    far: Dict[int, Tuple[str, int, float]] = {}
    totals = {"written": 0, "audio_s": 0.0}

    def run_batch(items: List[DecodedFile], table: TableWriter) -> None:
        for item, outcome in predict_items(predictor, items, contract_data, classes):
            if isinstance(outcome, dict):
                count_row(item.index, outcome, far, totals)
                table.add(outcome)
            else:
                rejects[item.index] = outcome

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    progress = Progress(len(files), log_every)
    with atomic.atomic_path(out_path) as tmp:
        table = TableWriter(tmp, expected_columns(contract_data, classes), chunk_rows,
                             output_format(out_path))
        pending: List[DecodedFile] = []
        # Batches run in input order (and a refused batch file by file), so rows are
        # appended in input order.
        for index, _, outcome in _decoded(files, predictor.decode, workers):
            if isinstance(outcome, DecodedFile):
                pending.append(outcome)
                if len(pending) >= batch_size:
                    run_batch(pending, table)
                    pending = []
            else:
                rejects[index] = outcome
            progress.update(index + 1)
        if pending:
            run_batch(pending, table)
        table.close()
    return finish_result(out_path, files, totals, rejects, far, predictor.signature_name,
                         contract_data, start)


@dataclasses.dataclass
class RunInputs:
    """A checked prediction request (:func:`prepare_run`).

    Attributes:
      out_path: The predictions table to write.
      contract: The export's features.json.
      classes: Head -> class / attribute names (classes.json).
      files: Every input file, in order (its index is its row order).
      batch_size: Files per signature call (:func:`effective_batch_size`).
    """

    out_path: str
    contract: Dict[str, Any]
    classes: Dict[str, List[str]]
    files: List[str]
    batch_size: int


def prepare_run(export_dir: str, inputs: PathsLike, out_path: str,
                batch_size: int) -> RunInputs:
    """Checks the arguments of a prediction run and lists its files.

    Raises:
      FileNotFoundError: ``export_dir`` is not a tfser export.
      ValueError: No input files, a bad output extension or batch size.
    """
    out_path = os.fspath(out_path)
    output_format(out_path)
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    contract_data = contract.read_features(export_dir)
    classes = contract.read_classes(export_dir)
    files = collect_inputs(inputs)
    if not files:
        raise ValueError(f"no input files in {inputs!r} (directories are walked for .wav)")
    return RunInputs(out_path, contract_data, classes, files,
                     effective_batch_size(contract_data, batch_size))


def effective_batch_size(contract_data: Mapping[str, Any], batch_size: int) -> int:
    """Files per signature call: ``batch_size``, or 1 when padding would change results.

    Frame-level outputs are averaged per file, and a model reading sequences without
    length inputs cannot mask padded frames: one file per call keeps both exact.
    """
    if any(entry.get("sequence") for entry in contract_data["outputs"].values()) or any(
            f["sequence"] and not f.get("length_input") and not contract_data.get(
                "waveform_signature") for f in contract_data["features"]):
        return 1
    return int(batch_size)


def prediction_row(item: DecodedFile, outputs: Mapping[str, np.ndarray], row_index: int,
                   contract_data: Mapping[str, Any], classes: Mapping[str, Sequence[str]]
                   ) -> Dict[str, Any]:
    """The table row of one file from its batch's signature outputs."""
    row = {"file": item.path, "duration_s": item.duration_s}
    for head, entry in contract_data["outputs"].items():
        row.update(prediction_columns(head, outputs[head][row_index], entry, classes[head]))
    # Exports written before the diagnostics existed leave these columns empty.
    row.update({key: outputs[key][row_index].item()
                for key in contract.DIAGNOSTIC_OUTPUTS if key in outputs})
    return row


def predict_items(predictor: Predictor, items: Sequence[DecodedFile],
                  contract_data: Mapping[str, Any], classes: Mapping[str, Sequence[str]]
                  ) -> List[Tuple[DecodedFile, Any]]:
    """``(item, row or reject)`` of every item, in order, from one signature call.

    A batch the model refuses (``tf.errors.OpError``: refused input, or e.g. out of
    memory) is retried file by file, so only the file it refuses becomes a
    ``(path, MODEL_ERROR, message)`` reject and the others still get predictions.
    """
    try:
        outputs = predictor([item.payload for item in items])
    except tf.errors.OpError as error:
        if len(items) == 1:
            return [(items[0], (items[0].path, MODEL_ERROR, _first_line(error.message)))]
        return [pair for item in items
                for pair in predict_items(predictor, [item], contract_data, classes)]
    return [(item, prediction_row(item, outputs, row_index, contract_data, classes))
            for row_index, item in enumerate(items)]


def count_row(index: int, row: Mapping[str, Any], far: Dict[int, Tuple[str, int, float]],
               totals: Dict[str, Any]) -> None:
    """Adds a written row to the totals (and to ``far`` when out of the training range)."""
    if row.get(contract.OUT_OF_RANGE_OUTPUT):
        far[index] = (row["file"], int(row[contract.OUT_OF_RANGE_OUTPUT]),
                      float(row[contract.MAX_ABS_Z_OUTPUT]))
    totals["written"] += 1
    totals["audio_s"] += row["duration_s"]


def finish_result(out_path: str, files: Sequence[str], totals: Mapping[str, Any],
                  rejects: Mapping[int, Tuple[str, str, str]],
                  far: Mapping[int, Tuple[str, int, float]], signature_name: str,
                  contract_data: Mapping[str, Any], start: float) -> PredictResult:
    """Checks ``in = written + rejected``, writes the rejects table and logs the result.

    Args:
      out_path: The predictions table (already written).
      files: Every input file.
      totals: ``written`` rows and their ``audio_s``.
      rejects: Input index -> ``(path, reason, detail)``.
      far: Input index -> ``(path, values beyond the clip, max |z|)``.
      signature_name: The signature used.
      contract_data: The export's features.json.
      start: ``time.time()`` when the run began.

    Raises:
      RuntimeError: Files neither written nor rejected (or counted twice).
    """
    ordered_rejects = [rejects[i] for i in sorted(rejects)]
    if totals["written"] + len(ordered_rejects) != len(files):
        raise RuntimeError(f"accounting error: {len(files)} inputs but {totals['written']} "
                           f"written and {len(ordered_rejects)} rejected")
    rejects_path = rejects_path_for(out_path)
    with atomic.atomic_path(rejects_path) as tmp:
        pd.DataFrame(ordered_rejects, columns=REJECT_COLUMNS).to_csv(tmp, index=False)
    result = PredictResult(out_path=out_path, rejects_path=rejects_path, inputs=len(files),
                           written=totals["written"], rejects=ordered_rejects,
                           signature=signature_name, audio_s=totals["audio_s"],
                           seconds=time.time() - start,
                           out_of_range=[far[i] for i in sorted(far)],
                           clip_sigma=clip_sigma_of(contract_data))
    for line in result.out_of_range_lines():
        _LOG.warning("%s", line)
    _LOG.info("%d files: %d written, %d rejected (%s)", len(files), result.written,
              result.rejected, rejects_path)
    return result


def _first_line(message: str) -> str:
    """The assertion's own message, without TF's graph-node trace."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Graph execution error",
                                                             "Detected at node",
                                                             "<stack traces"))]
    return (useful or lines or [""])[0]
