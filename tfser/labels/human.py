"""Human performance by leaving one rater out (paper 000).

How well does a single human agree with the other humans? For every utterance with
at least ``min_ratings`` categorical judgements, one rater is held out and their
primary class is scored, like a model's prediction, against the consensus of the
remaining raters. The consensus is the plurality rule of
:func:`tfser.labels.hard.resolve_hard` with the same tie policies as the hard label
views; comparisons whose remaining raters reach no consensus (e.g. a tie under
``tie_policy="drop"``) are skipped and counted by outcome.

Two hold-out modes:

* ``"random"`` - one rater per utterance, drawn from ``(seed, utt_id)`` by
  :func:`tfser.labels.hard.tie_draw` among the utterance's raters sorted by id, so
  the draw does not depend on row order.
* ``"each"`` - every rater of the utterance in turn; all comparisons are pooled.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np

from tfser.annotations import schema
from tfser.labels import agreement
from tfser.labels import hard
from tfser.labels import votes as votes_lib
from tfser.metrics import classification

MODES = ("random", "each")
_LABELLED = (hard.STATUS_OK, hard.STATUS_TIE_BROKEN)


@dataclasses.dataclass(frozen=True)
class HumanPerformance:
    """Leave-one-rater-out agreement of single raters with the rest.

    Attributes:
      ua: Mean per-class recall (consensus = truth, held-out rater = prediction).
      wa: Accuracy.
      mean_precision: Mean per-class precision.
      mean_recall: Mean per-class recall (equal to ``ua``).
      f1: Paper 000's F1 of the mean precision and mean recall.
      num_comparisons: Comparisons scored.
      num_utterances: Utterances with at least one scored comparison.
      num_eligible: Utterances with at least ``min_ratings`` judgements.
      num_too_few: Utterances with some judgement but fewer than ``min_ratings``.
      skipped: Resolve status -> number of comparisons skipped for it.
      report: The full :func:`~tfser.metrics.classification.classification_report`.
      params: Mode, seed, tie policy and threshold used.
    """

    ua: float
    wa: float
    mean_precision: float
    mean_recall: float
    f1: float
    num_comparisons: int
    num_utterances: int
    num_eligible: int
    num_too_few: int
    skipped: Mapping[str, int]
    report: Mapping[str, Any]
    params: Mapping[str, Any]

    @property
    def num_skipped(self) -> int:
        return int(sum(self.skipped.values()))

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["num_skipped"] = self.num_skipped
        return data


def _priority_columns(priority, classes: Sequence[str]) -> Optional[list]:
    if priority is None:
        return None
    position = {c: i for i, c in enumerate(classes)}
    columns = []
    for item in priority:
        if isinstance(item, str):
            if item not in position:
                raise ValueError(f"priority class '{item}' is not one of {list(classes)}")
            columns.append(position[item])
        else:
            columns.append(int(item))
    return columns


def leave_one_rater_out(utt_ids: Sequence[str], rater_ids: Sequence[str], labels,
                        classes: Sequence[str], min_ratings: int = 3, mode: str = "random",
                        seed: int = 0, tie_policy: str = "drop",
                        priority: Optional[Sequence[Union[int, str]]] = None,
                        average_over: str = "present") -> HumanPerformance:
    """Leave-one-rater-out human performance from one row per (utterance, rater).

    Args:
      utt_ids: [M] utterance of each judgement.
      rater_ids: [M] rater of each judgement (one judgement per utterance and rater).
      labels: [M] primary class index (or class name) of each judgement.
      classes: The K classes.
      min_ratings: Minimum judgements for an utterance to take part (>= 2).
      mode: ``"random"`` (one seeded rater per utterance) or ``"each"``.
      seed: Seed of the random hold-out and of ``tie_policy="random"``.
      tie_policy: Consensus tie policy of :func:`tfser.labels.hard.resolve_hard`
        (``drop``, ``random`` or ``priority``).
      priority: Class order for ``tie_policy="priority"`` (names or indices).
      average_over: Class averaging of the metrics (see
        :mod:`tfser.metrics.classification`).

    Returns:
      A :class:`HumanPerformance`.

    Raises:
      ValueError: On bad arguments, a rater judging an utterance twice, or when no
        comparison can be scored.
    """
    classes = list(classes)
    if mode not in MODES:
        raise ValueError(f"mode '{mode}' is not one of {MODES}")
    if isinstance(min_ratings, bool) or int(min_ratings) != min_ratings or min_ratings < 2:
        raise ValueError(f"min_ratings must be an integer >= 2, got {min_ratings!r}")
    utt_ids = np.asarray([str(u) for u in utt_ids], dtype=object)
    rater_ids = np.asarray([str(r) for r in rater_ids], dtype=object)
    labels = classification.encode_labels(labels, classes, name="labels")
    if not len(utt_ids) == len(rater_ids) == len(labels):
        raise ValueError(f"utt_ids, rater_ids and labels differ in length: {len(utt_ids)}, "
                         f"{len(rater_ids)}, {len(labels)}")
    k = len(classes)

    groups: Dict[str, list] = {}
    for index, (utt, rater) in enumerate(zip(utt_ids, rater_ids)):
        groups.setdefault(utt, []).append(index)
    held_rows, totals, keys = [], [], []
    num_eligible = num_too_few = 0
    for utt in sorted(groups):
        members = sorted(groups[utt], key=lambda i: rater_ids[i])
        raters = [rater_ids[i] for i in members]
        if len(set(raters)) != len(raters):
            dup = sorted({r for r in raters if raters.count(r) > 1})
            raise ValueError(f"utterance {utt}: rater(s) {dup} judged it more than once")
        if len(members) < min_ratings:
            num_too_few += 1
            continue
        num_eligible += 1
        counts = np.bincount(labels[members], minlength=k)
        if mode == "random":
            chosen = [members[hard.tie_draw(seed, f"hold-out\x1f{utt}", len(members))]]
        else:
            chosen = members
        for row in chosen:
            held_rows.append(row)
            totals.append(counts)
            keys.append(f"{utt}\x1f{rater_ids[row]}")
    if not held_rows:
        raise ValueError(f"no utterance has at least {min_ratings} judgements "
                         f"({num_too_few} utterance(s) have fewer); human performance is "
                         "undefined")

    held_rows = np.asarray(held_rows, dtype=np.int64)
    remaining = np.asarray(totals, dtype=np.int64)
    remaining[np.arange(len(held_rows)), labels[held_rows]] -= 1
    consensus, status = hard.resolve_hard(remaining, method="plurality", tie_policy=tie_policy,
                                          seed=seed, priority=_priority_columns(priority, classes),
                                          keys=keys)
    scored = consensus != hard.NO_LABEL
    skipped_status, skipped_counts = np.unique(status[~scored], return_counts=True)
    skipped = {str(s): int(c) for s, c in zip(skipped_status, skipped_counts)}
    if not scored.any():
        raise ValueError(f"every one of the {len(held_rows)} comparison(s) was skipped "
                         f"({skipped}); try another tie_policy")
    truth = consensus[scored]
    pred = labels[held_rows[scored]]
    report = classification.classification_report(truth, pred, classes,
                                                  average_over=average_over)
    return HumanPerformance(
        ua=report["ua"], wa=report["wa"], mean_precision=report["mean_precision"],
        mean_recall=report["mean_recall"], f1=report["f1"],
        num_comparisons=int(scored.sum()),
        num_utterances=int(len(set(utt_ids[held_rows[scored]].tolist()))),
        num_eligible=num_eligible, num_too_few=num_too_few, skipped=skipped, report=report,
        params={"mode": mode, "seed": int(seed), "tie_policy": tie_policy,
                "priority": None if priority is None else list(priority),
                "min_ratings": int(min_ratings), "average_over": average_over})


def human_performance(table: schema.AnnotationTable, classes: Sequence[str],
                      class_mapping=None,
                      rater_types: Optional[Sequence[str]] = votes_lib.DEFAULT_RATER_TYPES,
                      condition: Union[None, str, Sequence[str]] = None,
                      min_ratings: int = 3, mode: str = "random", seed: int = 0,
                      tie_policy: str = "drop",
                      priority: Optional[Sequence[Union[int, str]]] = None,
                      average_over: str = "present") -> HumanPerformance:
    """Leave-one-rater-out human performance of an annotation table.

    Judgements are the selected rating rows whose primary category maps to one of
    ``classes`` (:func:`tfser.labels.agreement.primary_judgements`); a rating whose
    category is excluded neither counts towards ``min_ratings`` nor votes.

    Args:
      table: The annotation table.
      classes: Target classes.
      class_mapping: Category policy (name, dict or ClassMapping).
      rater_types: Rater types that count (default: observers and crowd workers).
      condition: Condition(s) that count (CREMA-D); one judgement per rater and
        utterance is required.
      min_ratings, mode, seed, tie_policy, priority, average_over: See
        :func:`leave_one_rater_out`.

    Returns:
      A :class:`HumanPerformance`.
    """
    judgements = agreement.primary_judgements(table, classes, class_mapping, rater_types,
                                              condition)
    return leave_one_rater_out(judgements["utt_id"].tolist(), judgements["rater_id"].tolist(),
                               judgements["label"].to_numpy(), classes, min_ratings=min_ratings,
                               mode=mode, seed=seed, tie_policy=tie_policy, priority=priority,
                               average_over=average_over)
