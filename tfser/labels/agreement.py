"""Inter-rater agreement: Fleiss' kappa and Krippendorff's alpha, from arrays or tables.

* :func:`fleiss_kappa` takes an ``[N, K]`` count matrix (``counts[i, k]`` raters put
  item ``i`` in category ``k``). Fleiss' original statistic assumes the same number
  of raters per item, which crowd-sourced corpora rarely have, so items with varying
  numbers of raters use the usual generalisation (per-item agreement with its own
  ``n_i``, category shares pooled over all ratings). On equal counts both are the
  same number, and the library (statsmodels) is used.
* :func:`krippendorff_alpha` takes a raters x items reliability matrix with NaN for
  "not rated" and calls the ``krippendorff`` package (nominal for categories,
  interval for dimensional attributes).
* ``table_*`` wrappers build those inputs from an
  :class:`~tfser.annotations.schema.AnnotationTable` through
  :mod:`tfser.labels.votes`, so "what counts as a vote" is decided in one place.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import krippendorff
import numpy as np
import pandas as pd
from statsmodels.stats import inter_rater

from tfser.annotations import schema
from tfser.labels import mapping as mapping_lib
from tfser.labels import votes as votes_lib

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _check_count_matrix(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] < 1:
        raise ValueError(f"counts must be an [items, categories] matrix, got shape "
                         f"{counts.shape}")
    bad = np.flatnonzero(~np.all(np.isfinite(counts) & (counts >= 0)
                                 & (counts == np.round(counts)), axis=1))
    if len(bad):
        raise ValueError(f"counts row {int(bad[0])} is not a row of non-negative integer "
                         f"counts: {counts[bad[0]].tolist()}")
    return counts


def _rated_items(counts, min_raters: int = 2) -> np.ndarray:
    """Rows with at least ``min_raters`` ratings (others carry no pairwise agreement)."""
    counts = _check_count_matrix(counts)
    kept = counts[counts.sum(axis=1) >= min_raters]
    if len(kept) == 0:
        raise ValueError("no item has at least 2 ratings; agreement is undefined")
    return kept


def fleiss_kappa_generalised(counts) -> float:
    """Fleiss' kappa allowing a different number of raters ``n_i`` per item.

    ``P_i = (sum_k n_ik^2 - n_i) / (n_i (n_i - 1))``, ``P_bar`` = mean of ``P_i``,
    ``p_k = sum_i n_ik / sum_i n_i``, ``P_e = sum_k p_k^2`` and
    ``kappa = (P_bar - P_e) / (1 - P_e)``. With equal ``n_i`` this is Fleiss (1971).
    Items with fewer than 2 ratings are dropped (they hold no rater pair).

    Args:
      counts: [N, K] non-negative integer counts.

    Returns:
      Kappa; NaN when every rating falls in one category (``P_e = 1``).

    Raises:
      ValueError: On a malformed matrix or when no item has 2 ratings.
    """
    counts = _rated_items(counts)
    n_i = counts.sum(axis=1)
    per_item = ((counts ** 2).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    shares = counts.sum(axis=0) / n_i.sum()
    expected = float((shares ** 2).sum())
    if np.isclose(expected, 1.0):
        return float("nan")
    return float((per_item.mean() - expected) / (1.0 - expected))


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa of a count matrix (statsmodels when raters per item are equal).

    Items with fewer than 2 ratings are dropped first. When the remaining items all
    have the same number of ratings the value comes from
    ``statsmodels.stats.inter_rater.fleiss_kappa``; otherwise from
    :func:`fleiss_kappa_generalised`.

    Args:
      counts: [N, K] non-negative integer counts.

    Returns:
      Kappa; NaN when every rating falls in one category.

    Raises:
      ValueError: On a malformed matrix or when no item has 2 ratings.
    """
    counts = _rated_items(counts)
    n_i = counts.sum(axis=1)
    if np.all(n_i == n_i[0]):
        if np.isclose(((counts.sum(axis=0) / n_i.sum()) ** 2).sum(), 1.0):
            return float("nan")
        return float(inter_rater.fleiss_kappa(counts, method="fleiss"))
    return fleiss_kappa_generalised(counts)


def krippendorff_alpha(reliability_data, level: str = "nominal") -> float:
    """Krippendorff's alpha of a raters x items matrix (NaN = not rated).

    Args:
      reliability_data: [R, N] values; for nominal data use class indices (or any
        numeric codes), for interval data the ratings themselves.
      level: ``nominal``, ``ordinal``, ``interval`` or ``ratio``.

    Returns:
      Alpha from the ``krippendorff`` package; NaN when fewer than two distinct
      values occur among pairable ratings (no disagreement is possible, so alpha is
      undefined).

    Raises:
      ValueError: On a bad level or a malformed matrix.
    """
    if level not in LEVELS:
        raise ValueError(f"level '{level}' is not one of {LEVELS}")
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"reliability_data must be [raters, items], got shape {data.shape}")
    if np.isinf(data).any():
        raise ValueError("reliability_data contains infinite values (use NaN for missing)")
    pairable = np.isfinite(data).sum(axis=0) >= 2
    values = data[:, pairable]
    if np.unique(values[np.isfinite(values)]).size < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


# ----------------------------------------------------------------- table wrappers


def primary_judgements(table: schema.AnnotationTable, classes: Sequence[str],
                       class_mapping=None,
                       rater_types: Optional[Sequence[str]] = votes_lib.DEFAULT_RATER_TYPES,
                       condition: Union[None, str, Sequence[str]] = None) -> pd.DataFrame:
    """One row per (utterance, rater) whose primary category maps to a kept class.

    Rows are selected and mapped by :func:`tfser.labels.votes.build_votes`; a rating
    whose primary category is missing or excluded is not a judgement here.

    Args:
      table: The annotation table.
      classes: Target classes (column order of the class index).
      class_mapping: Category policy (see :func:`tfser.labels.mapping.get_mapping`).
      rater_types: Rater types that count.
      condition: Condition(s) that count.

    Returns:
      A frame with columns ``utt`` (row in ``table.utterances``), ``utt_id``,
      ``rater_id`` and ``label`` (class index), sorted by utterance row then rater.

    Raises:
      ValueError: When a rater has several judgements of one utterance with
        different classes (e.g. several conditions: select one with ``condition``).
    """
    vote_table = votes_lib.build_votes(table, classes, mapping_lib.get_mapping(class_mapping),
                                       rater_types, condition)
    keep = vote_table.entry_primary & (vote_table.entry_class >= 0)
    rows = vote_table.entry_row[keep]
    frame = pd.DataFrame({
        "utt": vote_table.row_utt[rows],
        "utt_id": vote_table.utt_ids[vote_table.row_utt[rows]],
        "rater_id": vote_table.row_rater[rows],
        "label": vote_table.entry_class[keep],
    })
    frame = frame.drop_duplicates().sort_values(["utt", "rater_id"], kind="stable")
    clash = frame[frame.duplicated(["utt", "rater_id"], keep=False)]
    if len(clash):
        first = clash.iloc[0]
        names = [vote_table.classes[i] for i in clash[(clash["utt"] == first["utt"])
                                                      & (clash["rater_id"] == first[
                                                          "rater_id"])]["label"]]
        raise ValueError(f"rater {first['rater_id']} gave utterance {first['utt_id']} several "
                         f"different primary classes {names} ({len(clash)} such judgements in "
                         "all); select one condition with condition=...")
    return frame.reset_index(drop=True)


def class_reliability_matrix(table: schema.AnnotationTable, classes: Sequence[str],
                             class_mapping=None,
                             rater_types: Optional[Sequence[str]] =
                             votes_lib.DEFAULT_RATER_TYPES,
                             condition: Union[None, str, Sequence[str]] = None
                             ) -> Tuple[np.ndarray, list, list]:
    """Raters x utterances matrix of primary class indices (NaN = not rated).

    Returns:
      ``(matrix [R, N], rater_ids, utt_ids)``; raters sorted, utterances in table order.
    """
    judgements = primary_judgements(table, classes, class_mapping, rater_types, condition)
    utt_ids = table.utterances["utt_id"].tolist()
    raters = sorted(judgements["rater_id"].unique().tolist())
    position = {r: i for i, r in enumerate(raters)}
    matrix = np.full((len(raters), len(utt_ids)), np.nan)
    matrix[judgements["rater_id"].map(position).to_numpy(dtype=np.int64),
           judgements["utt"].to_numpy(dtype=np.int64)] = judgements["label"].to_numpy()
    return matrix, raters, utt_ids


def dimension_reliability_matrix(table: schema.AnnotationTable, dimension: str,
                                 rater_types: Optional[Sequence[str]] =
                                 votes_lib.DEFAULT_RATER_TYPES,
                                 condition: Union[None, str, Sequence[str]] = None
                                 ) -> Tuple[np.ndarray, list, list]:
    """Raters x utterances matrix of one dimensional attribute (NaN = not rated).

    Returns:
      ``(matrix [R, N], rater_ids, utt_ids)``; raters sorted, utterances in table order.

    Raises:
      ValueError: For an unknown dimension or a rater with two values for one
        utterance (select a condition).
    """
    if dimension not in table.dimensions:
        raise ValueError(f"unknown dimension '{dimension}'; the table has {table.dimensions}")
    ratings = votes_lib.select_ratings(table, rater_types, condition)
    utt_row = votes_lib.check_rated_utterances(ratings, votes_lib.utterance_index(table))
    values = ratings[dimension].to_numpy(dtype=np.float64)
    rated = np.isfinite(values)
    frame = pd.DataFrame({"utt": utt_row[rated], "rater_id": ratings["rater_id"].to_numpy()[rated],
                          "value": values[rated]})
    dup = frame[frame.duplicated(["utt", "rater_id"], keep=False)]
    if len(dup):
        first = dup.iloc[0]
        utt_id = table.utterances["utt_id"].iloc[int(first["utt"])]
        raise ValueError(f"rater {first['rater_id']} gave utterance {utt_id} several "
                         f"'{dimension}' values; select one condition with condition=...")
    utt_ids = table.utterances["utt_id"].tolist()
    raters = sorted(frame["rater_id"].unique().tolist())
    position = {r: i for i, r in enumerate(raters)}
    matrix = np.full((len(raters), len(utt_ids)), np.nan)
    matrix[frame["rater_id"].map(position).to_numpy(dtype=np.int64),
           frame["utt"].to_numpy(dtype=np.int64)] = frame["value"].to_numpy()
    return matrix, raters, utt_ids


def table_fleiss_kappa(table: schema.AnnotationTable, classes: Sequence[str],
                       class_mapping=None,
                       rater_types: Optional[Sequence[str]] = votes_lib.DEFAULT_RATER_TYPES,
                       condition: Union[None, str, Sequence[str]] = None) -> float:
    """Fleiss' kappa of the primary votes of ``table`` (see :func:`fleiss_kappa`).

    Each selected rating row is one rating (as in :meth:`VoteTable.counts`); excluded
    categories do not count; utterances with fewer than 2 votes are dropped.
    """
    counts = votes_lib.build_votes(table, classes, mapping_lib.get_mapping(class_mapping),
                                   rater_types, condition).counts()
    return fleiss_kappa(counts)


def table_krippendorff_alpha(table: schema.AnnotationTable, classes: Sequence[str],
                             class_mapping=None,
                             rater_types: Optional[Sequence[str]] =
                             votes_lib.DEFAULT_RATER_TYPES,
                             condition: Union[None, str, Sequence[str]] = None) -> float:
    """Nominal Krippendorff's alpha of the primary categories of ``table``."""
    matrix, _, _ = class_reliability_matrix(table, classes, class_mapping, rater_types,
                                            condition)
    return krippendorff_alpha(matrix, level="nominal")


def table_dimension_alpha(table: schema.AnnotationTable, dimension: str,
                          level: str = "interval",
                          rater_types: Optional[Sequence[str]] = votes_lib.DEFAULT_RATER_TYPES,
                          condition: Union[None, str, Sequence[str]] = None) -> float:
    """Krippendorff's alpha (interval by default) of one dimensional attribute."""
    matrix, _, _ = dimension_reliability_matrix(table, dimension, rater_types, condition)
    return krippendorff_alpha(matrix, level=level)
