"""Predictions on Apache Beam: :func:`predict_files_beam`, the same table on any runner.

:func:`tfser.export.predict.predict_files` streams on one machine (threads, in process)
and stays the default of ``tfser-predict``; this is the same prediction as a Beam
pipeline, selected by ``--runner``, so that ``tfser-predict`` scales out on the runners
``tfser-featurize`` runs on (the local FnApiRunner, a Dask cluster, untested Flink /
Spark / Dataflow). The graph is linear (what every runner runs, see
:mod:`tfser.beam.transforms`)::

    Create((index, path)) -> ParDo(DecodeFn) -> RunInference(SignatureModelHandler)
        -> ParDo(WritePartsFn)

* :class:`DecodeFn` reads, resamples and checks the audio and extracts the export's
  features (extractors built once per worker in ``setup``). A file that cannot be used
  stays an element: ``(index, path, (path, reason, detail))``, no tagged outputs.
* :class:`SignatureModelHandler` is a Beam ``ModelHandler`` for tfser exports: Beam's
  own TensorFlow handler loads with Keras' ``load_model`` (which refuses these
  signature SavedModels), imports ``tensorflow_hub`` and stacks equal-shaped tensors,
  whereas tfser's signatures take zero-padded sequences with their lengths. It loads
  the export once per worker process (``tf.saved_model.load`` through
  :class:`~tfser.export.predict.Predictor`; ``RunInference`` keeps it in Beam's shared
  cache), runs one padded signature call per batch, passes rejects through untouched and
  isolates a batch the model refuses file by file (``model_error``), as predict_files.
* :class:`WritePartsFn` writes, per bundle, one JSON-lines file of rows and rejects
  keyed by input index, committed by rename to a name derived from the indices
  (:class:`tfser.beam.transforms.RecordsFile`), so a bundle re-run by the runner
  replaces its own file. The driver then merges the committed files in input order
  into the CSV / Parquet table (chunk by chunk, one row in memory at a time besides
  the index) and the rejects table, and checks ``in = written + rejected``: the table
  equals predict_files' whatever the runner and its bundling.

DaskRunner (Beam 2.77): its ParDo collects a bundle's outputs *before* calling
``finish_bundle``, so whatever a DoFn emits there is lost, and ``BatchElements`` emits
the last batch of every bundle from ``finish_bundle`` (measured with a trivial handler:
40 elements in Dask partitions of 16, batches of 8: 16 came out of ``RunInference``;
this pipeline wrote none of 40 files that way and the accounting check refused the
run). On Dask the driver therefore cuts the files into batches of ``batch_size``
itself, and ``RunInference`` runs the handler ``with_no_batching()`` on them (no DoFn
of the graph emits from ``finish_bundle``); every other runner batches with
``BatchElements`` (``batch_elements_kwargs``: min = max = ``batch_size``).

A multi-machine cluster needs the audio and ``out_path``'s directory on a file system
every worker mounts at the same path (the workers write their part files into
``<out>.parts.tmp-<pid>`` beside the table, the driver reads them from there).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import uuid
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.ml.inference import base as inference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from tfser.beam import pipeline as beam_pipeline
from tfser.beam import runners
from tfser.beam import shards
from tfser.beam import transforms
from tfser.export import contract
from tfser.export import predict as predict_lib
from tfser.fileio import atomic
from tfser.fileio import stale

_LOG = logging.getLogger("tfser.export")
# Suffix of the driver's parts directory beside the table: ``<out>.parts.tmp-<pid>``.
PARTS_SUFFIX = ".parts"
# Keys of a part record: the input index and either its row or its reject.
INDEX, ROW, REJECT = "index", "row", "reject"
# Files per Dask partition (what a lost worker costs to redo; a few per worker).
FILES_PER_PARTITION = 16

Element = Tuple[int, str, Any]  # (input index, path, DecodedFile / row / reject)


_CACHE_LOCK = threading.Lock()
_CACHE: Dict[Tuple[type, str], Any] = {}


def _per_process(kind: type, export_dir: str, contract_data: Mapping[str, Any]) -> Any:
    """``kind(export_dir, contract_data)``, built once per process and export.

    The DaskRunner calls a DoFn's ``setup`` for every partition, and Beam's shared
    model cache (``RunInference``) keeps a model alive only until another stage's
    shared object is acquired, which happens at every setup: without this, each
    partition would load the SavedModel again. One export per kind is kept.
    """
    key = (kind, export_dir)
    with _CACHE_LOCK:
        if key not in _CACHE:
            for old in [k for k in _CACHE if k[0] is kind]:
                del _CACHE[old]
            _CACHE[key] = kind(export_dir, contract_data)
        return _CACHE[key]


class SignatureModelHandler(inference.ModelHandler):
    """A Beam ``ModelHandler`` that predicts with a tfser export's signature.

    Elements are ``(index, path, outcome)``: ``outcome`` is a
    :class:`~tfser.export.predict.DecodedFile` to predict, or a ``(path, reason,
    detail)`` reject that passes through. Each prediction is ``(index, path, row)``
    with the table row of :func:`tfser.export.predict.prediction_row`, or ``(index,
    path, reject)``.

    Args:
      export_dir: A SavedModel written by :func:`tfser.export.export_saved_model`.
      batch_size: Files per signature call (1 for the models predict_files runs one
        file at a time, :func:`tfser.export.predict.effective_batch_size`).
    """

    def __init__(self, export_dir: str, batch_size: int = predict_lib.DEFAULT_BATCH_SIZE):
        self._export_dir = os.fspath(export_dir)
        self._contract = contract.read_features(self._export_dir)
        self._classes = contract.read_classes(self._export_dir)
        self.batch_size = predict_lib.effective_batch_size(self._contract, batch_size)
        super().__init__(min_batch_size=self.batch_size, max_batch_size=self.batch_size)

    @property
    def contract(self) -> Dict[str, Any]:
        """The export's features.json."""
        return self._contract

    def load_model(self) -> predict_lib.Predictor:
        """Loads the SavedModel and its signature (once per worker process)."""
        return _per_process(predict_lib.Predictor, self._export_dir, self._contract)

    def run_inference(self, batch: Sequence[Element], model: predict_lib.Predictor,
                      inference_args: Optional[Dict[str, Any]] = None) -> List[Element]:
        """One padded signature call for the batch's decoded files; rejects pass through."""
        del inference_args  # the signatures take none
        items = [outcome for _, _, outcome in batch
                 if isinstance(outcome, predict_lib.DecodedFile)]
        predicted = {item.index: outcome for item, outcome in predict_lib.predict_items(
            model, items, self._contract, self._classes)} if items else {}
        return [(index, path, predicted[index]
                 if isinstance(outcome, predict_lib.DecodedFile) else outcome)
                for index, path, outcome in batch]

    def get_num_bytes(self, batch: Sequence[Element]) -> int:
        # Beam's default pickles the whole batch only to count its bytes.
        return sum(value.nbytes for _, _, outcome in batch
                   if isinstance(outcome, predict_lib.DecodedFile)
                   for value in outcome.payload.values())

    def get_metrics_namespace(self) -> str:
        return "tfser.predict"


class DecodeFn(beam.DoFn):
    """``(index, path)`` -> ``(index, path, DecodedFile or reject)``.

    With ``batched``, elements are lists of ``(index, path)`` and each gives the list of
    its outcomes (the DaskRunner path, see the module docstring).
    """

    def __init__(self, export_dir: str, contract_data: Mapping[str, Any],
                 batched: bool = False):
        super().__init__()
        self._export_dir = export_dir
        self._contract = dict(contract_data)
        self._batched = batched
        self._inputs = None

    def setup(self):
        # Feature extractors (openSMILE objects) are built on the worker, once per
        # process and thread (AudioInputs keeps them per thread).
        self._inputs = _per_process(predict_lib.AudioInputs, self._export_dir,
                                    self._contract)

    def process(self, element):
        if self._batched:
            yield [self._inputs.decode(index, path) for index, path in element]
        else:
            yield self._inputs.decode(*element)


class _WorkerProgress:
    """Files written by this worker process so far (all bundles), logged every N."""

    _lock = threading.Lock()
    _done = 0
    _started = 0.0

    @classmethod
    def add(cls, count: int, every: int, expected: int) -> None:
        with cls._lock:
            if not cls._done:
                cls._started = time.perf_counter()
            before, cls._done = cls._done, cls._done + count
            done, started = cls._done, cls._started
        if done // every == before // every:
            return
        rate = done / max(time.perf_counter() - started, 1e-9)
        eta = f", ETA {(expected - done) / rate:.0f} s" if expected > done else ""
        _LOG.info("predict worker %d: %d%s files, %.1f files/s%s", os.getpid(), done,
                  f"/~{expected}" if expected else "", rate, eta)


class WritePartsFn(beam.DoFn):
    """Writes each bundle's rows and rejects to one committed part file; emits nothing.

    Records go to the file as they come (a bundle of the local runner holds thousands
    of files); only the input indices wait for the commit (they name the file).
    """

    def __init__(self, parts_dir: str, log_every: int = 100, expected_per_worker: int = 0):
        super().__init__()
        self._parts_dir = parts_dir
        self._log_every = max(1, int(log_every))
        # Files this worker is expected to see; 0 = unknown (no ETA).
        self._expected = max(0, int(expected_per_worker))
        self._records: Optional[transforms.RecordsFile] = None
        self._indices: List[int] = []

    def start_bundle(self):
        self._records = transforms.RecordsFile(self._parts_dir, uuid.uuid4().hex)
        self._indices = []

    def process(self, element: Element):
        index, _, outcome = element
        key = ROW if isinstance(outcome, dict) else REJECT
        self._records.add({INDEX: int(index), key: outcome if key == ROW else list(outcome)})
        self._indices.append(int(index))
        _WorkerProgress.add(1, self._log_every, self._expected)
        return ()

    def finish_bundle(self):
        if self._indices:
            self._records.commit(transforms.bundle_token(
                [str(index) for index in sorted(self._indices)]))
        self._records, self._indices = None, []


def _batches(files: Sequence[str], size: int) -> List[List[Tuple[int, str]]]:
    indexed = list(enumerate(files))
    return [indexed[start:start + size] for start in range(0, len(indexed), size)]


def build_graph(pipeline: beam.Pipeline, files: Sequence[str], export_dir: str,
                handler: SignatureModelHandler, parts_dir: str, batched: bool,
                log_every: int = 100, expected_per_worker: int = 0) -> None:
    """Adds the prediction transforms (see the module docstring) to ``pipeline``.

    Args:
      pipeline: The pipeline.
      files: Input files; a file's index in this list keys its row.
      export_dir: The export.
      handler: Its model handler.
      parts_dir: Where bundles commit their part files.
      batched: Batches cut by the driver and ``RunInference`` without batching (the
        DaskRunner); otherwise ``BatchElements`` batches inside ``RunInference``.
      log_every: Progress line per worker every this many files.
      expected_per_worker: Files per worker, for the ETA (0: unknown).
    """
    if batched:
        decoded = (pipeline
                   | "Batches" >> beam.Create(_batches(files, handler.batch_size))
                   | "Decode" >> beam.ParDo(DecodeFn(export_dir, handler.contract, True)))
        predicted = decoded | "Predict" >> inference.RunInference(handler.with_no_batching())
    else:
        decoded = (pipeline
                   | "Files" >> beam.Create(list(enumerate(files)))
                   | "Decode" >> beam.ParDo(DecodeFn(export_dir, handler.contract)))
        predicted = decoded | "Predict" >> inference.RunInference(handler)
    _ = predicted | "Write" >> beam.ParDo(
        WritePartsFn(parts_dir, log_every, expected_per_worker))


def _part_index(parts_dir: str) -> List[Tuple[int, str, int]]:
    """``(input index, part file, byte offset)`` of every committed record, sorted.

    An index found in several parts (a bundle re-run with another bundling after its
    first attempt committed) is kept once, from the first part in name order.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    seen = set()
    entries = []
    for name in shards.committed_files(parts_dir, transforms.RECORDS_SUFFIX):
        path = os.path.join(parts_dir, name)
        with tf.io.gfile.GFile(path, "rb") as handle:
            offset = 0
            for line in iter(handle.readline, b""):
                index = json.loads(line)[INDEX]
                if index not in seen:
                    seen.add(index)
                    entries.append((index, path, offset))
                offset += len(line)
    return sorted(entries)


def _read_records(entries: Sequence[Tuple[int, str, int]]) -> Iterator[Dict[str, Any]]:
    """The records at ``entries``, in order, one open part file at a time."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    path, handle = None, None
    try:
        for _, entry_path, offset in entries:
            if entry_path != path:
                if handle is not None:
                    handle.close()
                path, handle = entry_path, tf.io.gfile.GFile(entry_path, "rb")
            handle.seek(offset)
            yield json.loads(handle.readline())
    finally:
        if handle is not None:
            handle.close()


def beam_options(pipeline_options: Any, batch_size: int) -> PipelineOptions:
    """Beam options for a prediction run (tfser's runner defaults, see
    :func:`tfser.beam.make_pipeline_options`); unless the options give a partitioning,
    a Dask partition holds about :data:`FILES_PER_PARTITION` files (its elements are
    batches of ``batch_size`` files)."""
    return beam_pipeline.make_pipeline_options(
        pipeline_options, partition_size=max(1, math.ceil(FILES_PER_PARTITION / batch_size)))


def predict_files_beam(export_dir: str, inputs: predict_lib.PathsLike, out_path: str,
                       batch_size: int = predict_lib.DEFAULT_BATCH_SIZE,
                       pipeline_options: Any = None, log_every: int = 100,
                       chunk_rows: int = predict_lib.DEFAULT_CHUNK_ROWS
                       ) -> predict_lib.PredictResult:
    """:func:`tfser.export.predict_files` as a Beam pipeline (see the module docstring).

    Args:
      export_dir: A SavedModel written by :func:`tfser.export.export_saved_model`.
      inputs: An audio file, a directory (walked recursively for ``.wav``) or a list.
      out_path: ``.csv`` or ``.parquet`` table to write (replaced in one rename).
      batch_size: Files per signature call (as predict_files).
      pipeline_options: Beam options: a ``PipelineOptions``, an argv list or a dict
        (``--runner=DaskRunner --dask_client_address=HOST:PORT``; none: the local
        FnApiRunner, ``direct_num_workers`` threads).
      log_every: Progress line per worker every this many files.
      chunk_rows: Rows per append to the table (a Parquet row group).

    Returns:
      The :class:`~tfser.export.predict.PredictResult` predict_files returns, with the
      same table and rejects.

    Raises:
      FileNotFoundError: ``export_dir`` is not a tfser export.
      ValueError: No input files, a bad output extension or batch size, a model whose
        features cannot be computed from audio, or Beam options the runner refuses.
      RuntimeError: Files neither written nor rejected after the run.
    """
    start = time.time()
    run = predict_lib.prepare_run(export_dir, inputs, out_path, batch_size)
    export_dir = os.path.abspath(os.fspath(export_dir))
    handler = SignatureModelHandler(export_dir, run.batch_size)
    # Checked here, in the driver: a model the workers cannot feed fails before the run.
    signature_name = predict_lib.AudioInputs(export_dir, run.contract).signature_name
    options = beam_options(pipeline_options, handler.batch_size)
    runner = options.view_as(StandardOptions).runner
    batched = runners.is_dask(runner)
    out_path = os.path.abspath(run.out_path)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    stale.remove_stale_temps(out_path + PARTS_SUFFIX, _LOG)
    parts_dir = atomic.temp_sibling(out_path + PARTS_SUFFIX)
    os.makedirs(parts_dir)
    workers = max(1, int(options.get_all_options().get("direct_num_workers") or 1))
    expected = -(-len(run.files) // workers) if runners.is_local(options) else 0
    _LOG.info("predicting %d files with %s on Beam's %s (batches of %d)", len(run.files),
              export_dir, runner.rsplit(".", 1)[-1], handler.batch_size)
    try:
        pipeline = beam.Pipeline(options=options)
        build_graph(pipeline, run.files, export_dir, handler, parts_dir, batched,
                    log_every, expected)
        with shards.CommittedProgress(parts_dir, len(run.files), lambda record: 1, "files",
                                      enabled=not runners.is_local(options)):
            runners.run_to_completion(pipeline)
        rejects: Dict[int, Tuple[str, str, str]] = {}
        far: Dict[int, Tuple[str, int, float]] = {}
        totals = {"written": 0, "audio_s": 0.0}
        with atomic.atomic_path(out_path) as tmp:
            table = predict_lib.TableWriter(
                tmp, predict_lib.expected_columns(run.contract, run.classes), chunk_rows,
                predict_lib.output_format(out_path))
            for record in _read_records(_part_index(parts_dir)):
                if ROW in record:
                    predict_lib.count_row(record[INDEX], record[ROW], far, totals)
                    table.add(record[ROW])
                else:
                    rejects[record[INDEX]] = tuple(record[REJECT])
            table.close()
    finally:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel
        if tf.io.gfile.exists(parts_dir):
            tf.io.gfile.rmtree(parts_dir)
    return predict_lib.finish_result(run.out_path, run.files, totals, rejects, far,
                                     signature_name, run.contract, start)
