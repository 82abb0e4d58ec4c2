"""Evaluating trained runs: predictions, metrics and a report from a run directory.

::

    from tfser import evaluation
    metrics = evaluation.evaluate_run("runs/001_cv", "runs/001_cv/eval")
    metrics["heads"]["emotion"]["pooled"]["ua"]

``model_dir`` is either one run directory (``params.yaml`` + ``checkpoints/``, written
by :class:`tfser.training.Trainer`) or a cross-validation directory (``folds.json`` and
``folds/<fold>/``, written by :func:`tfser.training.train_folds`). Each fold's
configuration is read back from its ``params.yaml``, its model from
``checkpoints/<best|last>.keras`` (tfser's layers and losses are registered with Keras,
so no custom objects are needed), and the fold's part is predicted; the folds'
predictions are concatenated and scored (:mod:`tfser.evaluation.metrics`) and written
with the report (:mod:`tfser.evaluation.report`).

TensorFlow and the training stage are imported when a run is evaluated, not with this
module, so that ``import tfser.evaluation`` stays light for the metric functions.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from tfser.evaluation import metrics as metrics_lib
from tfser.evaluation.columns import MAX_ABS_Z_COLUMN, OUT_OF_RANGE_COLUMN
from tfser.evaluation import report as report_lib

PARTS = ("test", "dev", "train")
# tfser.training.config.PARAMS_FILE; importing tfser.training here would load TensorFlow.
PARAMS_FILE = "params.yaml"


def reproduce_command(model_dir: str, out_dir: str, data_dir: Optional[str] = None,
                      part: str = "test", checkpoint: str = "best",
                      reference: Optional[str] = None) -> str:
    """The ``tfser-evaluate`` command line that writes the same outputs."""
    args = [f"--model_dir={model_dir}", f"--out={out_dir}"]
    if data_dir is not None:
        args.append(f"--data_dir={data_dir}")
    if part != "test":
        args.append(f"--part={part}")
    if checkpoint != "best":
        args.append(f"--checkpoint={checkpoint}")
    if reference is not None:
        args.append(f"--reference={reference}")
    return "tfser-evaluate " + " ".join(shlex.quote(a) for a in args)


def input_range(frame, clip_sigma: float, examples: int = 5) -> Dict[str, Any]:
    """How many utterances had normalised inputs beyond the clip, and a few of them."""
    beyond = frame[frame[OUT_OF_RANGE_COLUMN] > 0]
    worst = beyond.sort_values(MAX_ABS_Z_COLUMN, ascending=False)
    return {"clip_sigma": float(clip_sigma), "utterances": int(len(beyond)),
            "values": int(frame[OUT_OF_RANGE_COLUMN].sum()),
            "max_abs_z": float(frame[MAX_ABS_Z_COLUMN].max()) if len(frame) else 0.0,
            "examples": worst["utt_id"].head(examples).astype(str).tolist()}


def find_runs(model_dir: str) -> Tuple[str, List[str], Dict[str, Any]]:
    """The run directories to evaluate under ``model_dir``.

    Returns:
      ``(kind, run_dirs, folds_file)``: ``kind`` is ``"single"`` or
      ``"cross_validation"``; ``folds_file`` is the content of ``folds.json`` (empty
      for a single run or a folds directory without one).

    Raises:
      FileNotFoundError: ``model_dir`` is missing, a fold listed in ``folds.json`` has
        no run directory, or ``model_dir`` is neither kind of directory.
    """
    # Imported here: tfser.training loads TensorFlow.
    from tfser.training import cross_validation  # pylint: disable=import-outside-toplevel
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"model directory {model_dir} not found")
    if os.path.exists(os.path.join(model_dir, cross_validation.FOLDS_FILE)):
        listing = cross_validation.read_folds(model_dir)
        runs = []
        for entry in listing.get("folds", []):
            run_dir = os.path.join(model_dir, entry["dir"])
            if not os.path.isdir(run_dir):
                raise FileNotFoundError(
                    f"fold '{entry['name']}' is listed in "
                    f"{os.path.join(model_dir, cross_validation.FOLDS_FILE)} but its run "
                    f"directory {run_dir} is missing")
            runs.append(run_dir)
        if not runs:
            raise FileNotFoundError(f"{model_dir}/{cross_validation.FOLDS_FILE} lists no "
                                    "folds")
        return "cross_validation", runs, listing
    folds_dir = os.path.join(model_dir, cross_validation.FOLDS_DIR)
    if os.path.isdir(folds_dir):
        runs = sorted(os.path.join(folds_dir, name) for name in os.listdir(folds_dir)
                      if os.path.exists(os.path.join(folds_dir, name, PARAMS_FILE)))
        if not runs:
            raise FileNotFoundError(f"{folds_dir} holds no run directory (params.yaml)")
        return "cross_validation", runs, {}
    if os.path.exists(os.path.join(model_dir, PARAMS_FILE)):
        return "single", [model_dir], {}
    raise FileNotFoundError(f"{model_dir} is neither a run directory (no {PARAMS_FILE}) nor "
                            f"a cross-validation directory (no "
                            f"{cross_validation.FOLDS_FILE} or "
                            f"{cross_validation.FOLDS_DIR}/)")


def evaluate_run(model_dir: str, out_dir: str, data_dir: Optional[str] = None,
                 part: str = "test", checkpoint: str = "best",
                 command: Optional[str] = None, batch_size: int = 64,
                 verbose: bool = True, reference: Optional[str] = None) -> Dict[str, Any]:
    """Predicts, scores and reports a run or a cross-validation.

    Args:
      model_dir: A run directory or a cross-validation directory (see the module
        docstring).
      out_dir: Where predictions, ``metrics.json``, ``report.md`` and figures go.
      data_dir: Featurized directory (default: each run's ``data_dir`` from
        ``params.yaml``).
      part: The part of each fold to evaluate: ``test``, ``dev`` or ``train``
        (original training examples only).
      checkpoint: ``best`` (lowest development loss) or ``last``.
      command: The command recorded on top of the report (default: the equivalent
        ``tfser-evaluate`` command).
      batch_size: Prediction batch size.
      verbose: Print a progress line per fold.
      reference: A hard label view (e.g. ``emotion``) to score every hard, soft and
        existence head against, on the utterances where it is labelled, whether or
        not the model has a head for it (``vs_<reference>`` blocks, see
        :mod:`tfser.evaluation.metrics`). None (default): no such blocks.

    Returns:
      The metrics dict written to ``metrics.json``: the
      :func:`~tfser.evaluation.metrics.compute_metrics` result plus ``command``,
      ``working_directory``, ``run`` (description) and ``layouts`` (each head's
      :class:`~tfser.evaluation.columns.HeadLayout` as a dict, for re-reading the
      predictions); with a reference also ``reference`` (its name) and
      ``reference_layout``.

    Raises:
      FileNotFoundError: Missing model directory, fold run directory, checkpoint or
        featurized directory.
      ValueError: Bad part or checkpoint; folds that disagree on their heads; the
        same fold twice; a model that does not fit the data; a reference that is not a
        hard label view or whose classes differ from a scored head's.
    """
    # Imported here: keras, tfser.data and tfser.training load TensorFlow.
    import keras  # pylint: disable=import-outside-toplevel
    import pandas as pd  # pylint: disable=import-outside-toplevel
    from tfser import data  # pylint: disable=import-outside-toplevel
    from tfser import training  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import predictions  # pylint: disable=import-outside-toplevel
    from tfser.training import cross_validation  # pylint: disable=import-outside-toplevel
    from tfser.training import run_dir as run_dir_lib  # pylint: disable=import-outside-toplevel

    if part not in PARTS:
        raise ValueError(f"part must be one of {list(PARTS)}, got {part!r}")
    kind, run_dirs, listing = find_runs(model_dir)
    # Check every fold before the first (slow) prediction.
    plans = []
    for run_dir in run_dirs:
        config = training.load_params(run_dir)
        plans.append((run_dir, config, run_dir_lib.checkpoint_path(run_dir, checkpoint),
                      run_dir_lib.resolve_data_dir(run_dir, config.data_dir, data_dir)))

    infos: Dict[str, Any] = {}
    frames, layouts, fold_names, skipped = [], None, [], []
    reference_layout = None
    started = time.perf_counter()
    for position, (run_dir, config, path, fold_data) in enumerate(plans, start=1):
        fold_start = time.perf_counter()
        key = os.path.abspath(fold_data)
        if key not in infos:
            infos[key] = data.load_info(fold_data)
        info = infos[key]
        name = info.fold_name(config.fold)
        if name in fold_names:
            raise ValueError(f"fold '{name}' is evaluated twice (second time from "
                             f"{run_dir}); each run directory must hold another fold")
        fold_names.append(name)
        if kind == "cross_validation" and not cross_validation.is_done(run_dir) and verbose:
            print(f"warning: fold '{name}' has not finished training (no "
                  f"{cross_validation.DONE_FILE} in {run_dir}); evaluating its current "
                  f"{checkpoint} checkpoint", file=sys.stderr, flush=True)
        if info.count(name, part, False) == 0:
            # E.g. a LOSO speaker all of whose clips featurize set aside: nothing to
            # predict, and the other folds still make an evaluation.
            skipped.append({"fold": name, "run_dir": run_dir,
                            "reason": f"no {part} examples in {fold_data}"})
            print(f"warning: fold '{name}' has no {part} examples in {fold_data}; "
                  "skipped (listed in metrics.json as skipped_folds)", file=sys.stderr,
                  flush=True)
            continue
        model = predictions.load_checkpoint(path)
        frame = predictions.predict_frame(model, info, name, part, batch_size=batch_size,
                                          reference=reference)
        heads = predictions.head_layouts(info, predictions.model_heads(model))
        if reference is not None and reference_layout is None:
            reference_layout = predictions.reference_layout(info, reference)
            metrics_lib.reference_heads(heads, reference_layout)  # classes match
        if layouts is None:
            layouts = heads
        elif list(heads) != list(layouts):
            raise ValueError(f"{run_dir} has heads {list(heads)} but the first fold has "
                             f"{list(layouts)}; folds of one evaluation must share heads")
        frames.append(frame)
        if verbose:
            print(f"fold {position}/{len(plans)} ({name}): {len(frame)} {part} utterances "
                  f"predicted with {os.path.relpath(path, model_dir)} in "
                  f"{time.perf_counter() - fold_start:.1f} s", flush=True)
        del model
        keras.utils.clear_session()

    if not frames:
        raise ValueError(f"no fold of {model_dir} has {part} examples: "
                         + "; ".join(f"{entry['fold']}: {entry['reason']}" for entry in skipped))
    frame = pd.concat(frames, ignore_index=True)
    metrics = metrics_lib.compute_metrics(frame, layouts, reference=reference_layout)
    first_info = next(iter(infos.values()))
    metrics_out: Dict[str, Any] = {
        "command": command or reproduce_command(model_dir, out_dir, data_dir, part,
                                                checkpoint, reference),
        "working_directory": os.getcwd(),
        "run": {
            "model_dir": model_dir, "kind": kind, "experiment": plans[0][1].name,
            "data_dir": data_dir if data_dir is not None else plans[0][1].data_dir,
            "part": part, "checkpoint": checkpoint,
            "protocol": listing.get("protocol") or
            first_info.raw.get("split", {}).get("protocol"),
            "num_folds_in_protocol": first_info.num_folds,
        },
        **metrics,
        "skipped_folds": skipped,
        "input_range": input_range(frame, first_info.clip_sigma),
    }
    if metrics_out["input_range"]["utterances"] and verbose:
        flagged = metrics_out["input_range"]
        print(f"warning: {flagged['utterances']} {part} utterance(s) have normalised "
              f"features beyond +-{flagged['clip_sigma']:g} sd of the training statistics "
              f"(clipped; largest |z| {flagged['max_abs_z']:.1f}): "
              f"{', '.join(flagged['examples'])} (column {OUT_OF_RANGE_COLUMN} of the "
              "predictions)", file=sys.stderr, flush=True)
    metrics_out["layouts"] = {head: layout.to_dict() for head, layout in layouts.items()}
    if reference_layout is not None:
        metrics_out["reference_layout"] = reference_layout.to_dict()
    metrics_out = report_lib.json_safe(metrics_out)
    paths = report_lib.write_outputs(out_dir, frame, metrics_out, layouts)
    if verbose:
        print(f"evaluated {len(frame)} utterances of {len(frames)} fold(s) in "
              f"{time.perf_counter() - started:.1f} s; report: {paths['report']}",
              flush=True)
    return metrics_out
