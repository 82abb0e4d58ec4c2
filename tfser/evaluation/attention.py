"""Attention weights of several trained runs on the same utterances (paper 001's Fig. 3).

::

    from tfser.evaluation import attention
    utterances = attention.compare_attention(
        {"hard": "runs/baseline_hard", "mlee": "runs/mlee_only"}, heads={"hard": "emotion",
        "mlee": "emotion_exists"}, num_utterances=3, reference="emotion")
    plots.plot_attention_comparison(utterances, "attention.png")

Each run is read on its own featurized data (its ``params.yaml``; two runs may normalise
with different training statistics) and the utterances are matched by id: the first
``num_utterances`` of the first run's ``part`` that the ``reference`` view labels. A
run may be a cross-validation directory; its first fold holding those utterances is
used (every run must have that fold). The weights are read from a sub-model on each
trunk's attention pooling layer (:func:`tfser.models.attention_models`): one vector
per restored trunk for a fused model.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from tfser.evaluation.evaluate import find_runs


def _fold_run(model_dir: str, fold: Optional[str]) -> tuple:
    """``(run_dir, config, fold name)``: the run of ``fold`` (the first fold if None)."""
    from tfser import data  # pylint: disable=import-outside-toplevel
    from tfser import training  # pylint: disable=import-outside-toplevel
    from tfser.training import run_dir as run_dir_lib  # pylint: disable=import-outside-toplevel
    _, run_dirs, _ = find_runs(model_dir)
    for run_dir in run_dirs:
        config = training.load_params(run_dir)
        data_dir = run_dir_lib.resolve_data_dir(run_dir, config.data_dir)
        name = data.load_info(data_dir).fold_name(config.fold)
        if fold is None or name == fold:
            return run_dir, data_dir, name
    raise ValueError(f"{model_dir} has no run of fold {fold!r}; attention is compared on "
                     "the same fold of every run")


def _examples(data_dir: str, fold: str, part: str, feature: str, reference: Optional[str],
              wanted: Optional[Sequence[str]], count: int) -> Dict[str, Dict[str, Any]]:
    """utt_id -> {frames, inputs, label index} of ``wanted`` (or the first ``count``
    utterances the reference labels), read unpadded one at a time."""
    from tfser import data  # pylint: disable=import-outside-toplevel
    info = data.load_info(data_dir)
    heads = [reference] if reference else []
    dataset = data.build_dataset(info, fold, part, features=[feature], heads=heads,
                                 batch_size=1, shuffle=False, return_meta=True, cache=False)
    found: Dict[str, Dict[str, Any]] = {}
    length_name = data.length_key(feature)
    for features, targets, weights, meta in dataset:
        utt_id = meta["utt_id"].numpy()[0]
        utt_id = utt_id.decode() if isinstance(utt_id, bytes) else str(utt_id)
        labelled = not reference or float(weights[reference].numpy()[0]) > 0
        if (wanted is not None and utt_id not in wanted) or (wanted is None and not labelled):
            continue
        length = int(features[length_name].numpy()[0])
        frames = features[feature].numpy()[:, :length]
        found[utt_id] = {"inputs": {feature: frames, length_name: np.int32([length])},
                         "frames": frames[0],
                         "label": int(targets[reference].numpy()[0]) if reference and labelled
                         else None}
        if wanted is None and len(found) == count:
            break
    return found


def compare_attention(runs: Mapping[str, str], heads: Mapping[str, str],
                      num_utterances: int = 3, part: str = "test",
                      reference: Optional[str] = None, checkpoint: str = "best",
                      fold: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every run's attention weights and decision on the same utterances.

    Args:
      runs: Name -> run or cross-validation directory (the first is the anchor whose
        data chooses the utterances and provides the spectrograms).
      heads: Name -> the head whose argmax is the run's decision (an existence head:
        paper 001's MLEE-only decision).
      num_utterances: How many utterances.
      part: ``test`` or ``dev``.
      reference: A hard label view: only utterances it labels, shown with that label.
      checkpoint: ``best`` or ``last``.
      fold: The fold (default: the anchor's first).

    Returns:
      A list of ``{"utt_id", "frames", "label", "models": {name: {"weights": [..] per
      trunk, "predicted": class name}}}`` for
      :func:`tfser.evaluation.plots.plot_attention_comparison`.

    Raises:
      ValueError: No runs, a run without attention pooling, a run lacking an utterance
        of the anchor, or a fold missing from a run.
    """
    # Imported here: keras and tfser.models load TensorFlow.
    import keras  # pylint: disable=import-outside-toplevel
    from tfser import data  # pylint: disable=import-outside-toplevel
    from tfser import models  # pylint: disable=import-outside-toplevel
    from tfser.evaluation import predictions  # pylint: disable=import-outside-toplevel
    from tfser.training import run_dir as run_dir_lib  # pylint: disable=import-outside-toplevel
    if not runs:
        raise ValueError("compare_attention needs at least one run")
    utterances: List[Dict[str, Any]] = []
    wanted: Optional[List[str]] = None
    for name, model_dir in runs.items():
        run_dir, data_dir, fold_name = _fold_run(model_dir, fold)
        fold = fold_name
        model = predictions.load_checkpoint(run_dir_lib.checkpoint_path(run_dir, checkpoint))
        readouts = models.attention_models(model)
        feature = next(key for key in readouts[0].input if not key.endswith("_length"))
        examples = _examples(data_dir, fold, part, feature, reference, wanted,
                             num_utterances)
        if wanted is None:
            wanted = list(examples)
            info = data.load_info(data_dir)
            classes = info.label_specs[reference].classes if reference else ()
            utterances = [{"utt_id": u, "frames": examples[u]["frames"],
                           "label": None if examples[u]["label"] is None
                           else classes[examples[u]["label"]], "models": {}}
                          for u in wanted]
        missing = [u for u in wanted if u not in examples]
        if missing:
            raise ValueError(f"{model_dir} has no {part} utterance(s) {missing} of the first "
                             "run; compare runs on the same test utterances")
        head_classes = data.load_info(data_dir).label_specs[heads[name]].classes
        for utterance in utterances:
            inputs = examples[utterance["utt_id"]]["inputs"]
            weights = [np.asarray(readout({k: inputs[k] for k in readout.input},
                                          training=False))[0] for readout in readouts]
            outputs = model({k: inputs[k] for k in model.input}, training=False)
            predicted = int(np.argmax(np.asarray(outputs[heads[name]])[0]))
            utterance["models"][name] = {"weights": weights,
                                         "predicted": head_classes[predicted]}
        del model
        keras.utils.clear_session()
    return utterances

