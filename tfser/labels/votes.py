"""Which rating rows and which categories count: the vote matrices behind every view.

This is the one place that decides what a vote is. Every categorical view starts from
a :class:`VoteTable` built by :func:`build_votes`:

* Rows are selected by rater type (default: observers and crowd workers, so actors'
  self-evaluations and listener aggregates are left out) and by condition (CREMA-D's
  voice / face / audiovisual; default: all).
* Each selected rating row is one *judgement*. A rater who rated the same utterance
  under two conditions therefore gives two judgements; per-rater views merge them.
* Categories are mapped by a :class:`~tfser.labels.mapping.ClassMapping`; a category
  that maps to ``None`` or to a name outside the class list is excluded and does not
  count (its primary votes are still kept apart so ``excluded_votes="compete"`` can
  use them).
* ``h[n, k] = 1`` when judgement ``n`` chose class ``k``. By default only the primary
  category is chosen; with ``use_secondary_as_votes`` the secondary categories count as
  chosen too (IEMOCAP rater lines naming several categories). A judgement naming the
  same class twice (e.g. happy and excited under ``iemocap_4class``) still has ``h = 1``.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from tfser.annotations import schema
from tfser.labels import mapping as mapping_lib

DEFAULT_RATER_TYPES = ("observer", "crowd")


def _rating_name(utt_id, rater_id, condition) -> str:
    cond = f", {condition}" if condition is not None else ""
    return f"ratings[{utt_id}, {rater_id}{cond}]"


def _as_tuple(value: Union[None, str, Iterable[str]]) -> Optional[Tuple[str, ...]]:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def select_ratings(table: schema.AnnotationTable,
                   rater_types: Optional[Sequence[str]] = DEFAULT_RATER_TYPES,
                   condition: Union[None, str, Sequence[str]] = None) -> pd.DataFrame:
    """Returns the rating rows that count, in table order.

    Args:
      table: The annotation table.
      rater_types: Rater types to keep; ``None`` keeps every type.
      condition: A condition name or a list of them to keep; ``None`` keeps every row
        (including rows without a condition).

    Returns:
      The selected rows of ``table.ratings`` (original index kept).

    Raises:
      ValueError: When ``rater_types`` names an unknown type.
    """
    ratings = table.ratings
    keep = np.ones(len(ratings), dtype=bool)
    types = _as_tuple(rater_types)
    if types is not None:
        unknown = sorted(set(types) - set(schema.RATER_TYPES))
        if unknown:
            raise ValueError(f"unknown rater types {unknown}; known: {list(schema.RATER_TYPES)}")
        keep &= ratings["rater_type"].isin(list(types)).to_numpy()
    conditions = _as_tuple(condition)
    if conditions is not None:
        keep &= ratings["condition"].isin(list(conditions)).to_numpy()
    return ratings[keep]


def utterance_index(table: schema.AnnotationTable) -> dict:
    """Maps each utt_id to its row in ``table.utterances``; duplicates raise ValueError."""
    utt_ids = table.utterances["utt_id"].tolist()
    index = {}
    for i, utt_id in enumerate(utt_ids):
        if utt_id in index:
            raise ValueError(f"utterances[{utt_id}]: duplicate utt_id")
        index[utt_id] = i
    return index


def check_rated_utterances(ratings: pd.DataFrame, index: Mapping[str, int]) -> np.ndarray:
    """Returns the utterance row of each rating; unknown utt_ids raise ValueError."""
    positions = ratings["utt_id"].map(index)
    missing = positions.isna().to_numpy()
    if missing.any():
        bad = ratings[missing].head(5)
        names = [_rating_name(r.utt_id, r.rater_id, r.condition) for r in bad.itertuples()]
        raise ValueError(f"{int(missing.sum())} rating(s) refer to utterances missing from the "
                         f"table, e.g. {names}")
    return positions.to_numpy(dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class VoteTable:
    """Mapped categorical votes of the selected rating rows.

    Judgements (selected rating rows) are indexed ``0..M-1``; vote entries (one per
    category a judgement names) are indexed ``0..E-1``.

    Attributes:
      utt_ids: [N] utterance ids, aligned with ``table.utterances``.
      classes: The K target classes, in column order.
      row_utt: [M] utterance row of each judgement.
      row_rater: [M] rater id of each judgement.
      row_judged: [M] True when the judgement names any category at all.
      entry_row: [E] judgement of each vote entry.
      entry_class: [E] class column of the entry, -1 when excluded.
      entry_primary: [E] True for the primary category, False for a secondary one.
      entry_key: [E] target class name, or the raw category when it maps to None.
    """

    utt_ids: np.ndarray
    classes: Tuple[str, ...]
    row_utt: np.ndarray
    row_rater: np.ndarray
    row_judged: np.ndarray
    entry_row: np.ndarray
    entry_class: np.ndarray
    entry_primary: np.ndarray
    entry_key: np.ndarray

    @property
    def num_utterances(self) -> int:
        return len(self.utt_ids)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    # Derived index arrays are cached: several views share one table and the distinct
    # (judgement, class) pairs of a million-rating corpus are worth computing once.
    _cache: dict = dataclasses.field(default_factory=dict, init=False, repr=False,
                                     compare=False)

    def _chosen(self, which: str) -> Tuple[np.ndarray, np.ndarray]:
        """Distinct (judgement, class) pairs naming a kept class.

        Args:
          which: ``"primary"``, ``"secondary"`` or ``"all"`` (primary or secondary).
        """
        key = ("chosen", which)
        if key not in self._cache:
            kept = self.entry_class >= 0
            entries = {"primary": self.entry_primary, "secondary": ~self.entry_primary,
                       "all": np.ones_like(self.entry_primary)}[which] & kept
            pairs = self.entry_row[entries] * self.num_classes + self.entry_class[entries]
            if which != "primary":
                # A judgement has one primary, but may repeat a class among secondaries or
                # reach one class twice through a merge (happy + excited).
                pairs = np.unique(pairs)
            self._cache[key] = (pairs // self.num_classes, pairs % self.num_classes)
        return self._cache[key]

    def _rater_codes(self) -> Tuple[np.ndarray, np.ndarray]:
        if "raters" not in self._cache:
            codes, names = pd.factorize(pd.Series(self.row_rater, dtype=object), sort=True)
            self._cache["raters"] = (codes.astype(np.int64), np.asarray(names, dtype=object))
        return self._cache["raters"]

    def _count(self, rows: np.ndarray, classes: np.ndarray) -> np.ndarray:
        n, k = self.num_utterances, self.num_classes
        flat = self.row_utt[rows] * k + classes
        return np.bincount(flat, minlength=n * k).reshape(n, k).astype(np.int64, copy=False)

    def counts(self, use_secondary_as_votes: bool = False) -> np.ndarray:
        """[N, K] number of judgements that chose each class (``sum_n h_k^n``).

        Args:
          use_secondary_as_votes: Count secondary categories as chosen too.
        """
        return self._count(*self._chosen("all" if use_secondary_as_votes else "primary"))

    def voters(self, use_secondary_as_votes: bool = False,
               include_excluded_primary: bool = False) -> np.ndarray:
        """[N] number of judgements that cast at least one counted vote.

        Args:
          use_secondary_as_votes: Secondary categories count as votes.
          include_excluded_primary: Judgements whose primary category is excluded count
            too (the rater pool of ``excluded_votes="compete"``).
        """
        rows, _ = self._chosen("all" if use_secondary_as_votes else "primary")
        if include_excluded_primary:
            excluded = self.entry_primary & (self.entry_class < 0)
            rows = np.concatenate([rows, self.entry_row[excluded]])
        rows = np.unique(rows)
        return np.bincount(self.row_utt[rows], minlength=self.num_utterances).astype(np.int64)

    def secondary_counts(self) -> np.ndarray:
        """[N, K] number of judgements listing each class among their secondary ones."""
        return self._count(*self._chosen("secondary"))

    def judgements(self) -> np.ndarray:
        """[N] number of selected judgements that name any category (kept or not)."""
        return np.bincount(self.row_utt[self.row_judged],
                           minlength=self.num_utterances).astype(np.int64)

    def excluded_primary_counts(self) -> Tuple[Tuple[str, ...], np.ndarray]:
        """Primary votes for excluded categories, one column per excluded name.

        Returns:
          (names, counts) with counts of shape [N, len(names)]; names are sorted.
        """
        entries = self.entry_primary & (self.entry_class < 0)
        codes, names = pd.factorize(pd.Series(self.entry_key[entries], dtype=object),
                                    sort=True)
        names = tuple(str(n) for n in names)
        flat = self.row_utt[self.entry_row[entries]] * len(names) + codes
        counts = np.bincount(flat, minlength=self.num_utterances * len(names))
        return names, counts.reshape(self.num_utterances, len(names)).astype(np.int64)

    def ratings_per_rater(self, use_secondary_as_votes: bool = False) -> dict:
        """Rater id -> number of utterances where that rater chose any kept class."""
        rows, _ = self._chosen("all" if use_secondary_as_votes else "primary")
        codes, names = self._rater_codes()
        pairs = np.unique(codes[rows] * self.num_utterances + self.row_utt[rows])
        per_rater = np.bincount(pairs // self.num_utterances, minlength=len(names))
        return {str(names[i]): int(per_rater[i]) for i in np.flatnonzero(per_rater)}

    def rater_counts(self, raters: Sequence[str],
                     use_secondary_as_votes: bool = False) -> np.ndarray:
        """[N, R, K] int32 classes chosen by each listed rater, summed over judgements.

        Built by scattering the (few) vote pairs into a zero array so that memory stays
        at the size of the result, which can be large for many raters.
        """
        n, k = self.num_utterances, self.num_classes
        rows, classes = self._chosen("all" if use_secondary_as_votes else "primary")
        codes, names = self._rater_codes()
        column = np.full(len(names), -1, dtype=np.int64)
        position = {name: i for i, name in enumerate(names)}
        for j, rater in enumerate(raters):
            if rater in position:
                column[position[rater]] = j
        r = column[codes[rows]]
        listed = r >= 0
        flat = (self.row_utt[rows[listed]] * len(raters) + r[listed]) * k + classes[listed]
        cells, hits = np.unique(flat, return_counts=True)
        counts = np.zeros(n * len(raters) * k, dtype=np.int32)
        counts[cells] = hits
        return counts.reshape(n, len(raters), k)


def _check_vocabulary(ratings: pd.DataFrame, table: schema.AnnotationTable) -> None:
    primary_vocab = set(table.meta.categories)
    secondary_vocab = primary_vocab | set(table.meta.secondary_categories)
    # Vectorised first: tables hold up to millions of ratings and are usually clean.
    primary = ratings["primary"]
    bad_primary = (primary.notna() & ~primary.isin(list(primary_vocab))).to_numpy()
    bad_secondary = np.array([any(s not in secondary_vocab for s in names)
                              for names in ratings["secondary"].tolist()], dtype=bool)
    bad = np.flatnonzero(bad_primary | bad_secondary)
    if not len(bad):
        return
    problems = []
    for i in bad[:10]:
        row = ratings.iloc[i]
        where = _rating_name(row["utt_id"], row["rater_id"], row["condition"])
        if bad_primary[i]:
            problems.append(f"{where}: primary '{row['primary']}' is not in meta.categories")
        if bad_secondary[i]:
            unknown = [s for s in row["secondary"] if s not in secondary_vocab]
            problems.append(f"{where}: secondary {unknown} not in meta.categories or "
                            "meta.secondary_categories")
    raise ValueError(f"{len(bad)} rating(s) use categories outside the table vocabulary:\n  "
                     + "\n  ".join(problems))


def check_classes(classes: Sequence[str]) -> Tuple[str, ...]:
    """Validates a class list (non-empty, distinct, non-empty strings) and returns it."""
    classes = tuple(classes)
    if not classes:
        raise ValueError("the class list is empty")
    bad = [c for c in classes if not isinstance(c, str) or not c]
    if bad:
        raise ValueError(f"class names must be non-empty strings, got {bad}")
    dup = sorted(c for c, n in collections.Counter(classes).items() if n > 1)
    if dup:
        raise ValueError(f"class list has duplicates: {dup}")
    return classes


def build_votes(table: schema.AnnotationTable, classes: Sequence[str],
                class_mapping: Optional[mapping_lib.ClassMapping] = None,
                rater_types: Optional[Sequence[str]] = DEFAULT_RATER_TYPES,
                condition: Union[None, str, Sequence[str]] = None) -> VoteTable:
    """Maps and indexes the categorical votes of ``table``.

    Args:
      table: The annotation table (its ratings must use its own vocabulary).
      classes: Target classes, in column order.
      class_mapping: Category -> target policy; ``None`` maps every category to itself.
      rater_types: Rater types that count (see :func:`select_ratings`).
      condition: Condition(s) that count (see :func:`select_ratings`).

    Returns:
      The :class:`VoteTable`.

    Raises:
      ValueError: On duplicate utterance ids, ratings of unknown utterances, categories
        outside the table vocabulary, or a bad class list.
    """
    classes = check_classes(classes)
    class_mapping = class_mapping or mapping_lib.get_mapping(None)
    index = utterance_index(table)
    ratings = select_ratings(table, rater_types, condition)
    row_utt = check_rated_utterances(ratings, index)
    _check_vocabulary(ratings, table)

    vocab = list(dict.fromkeys(list(table.meta.categories) + list(table.meta.secondary_categories)))
    column = {name: i for i, name in enumerate(classes)}
    class_of = {cat: column.get(class_mapping.apply(cat), -1) for cat in vocab}
    key_of = {cat: class_mapping.apply(cat) or cat for cat in vocab}

    rows = np.arange(len(ratings), dtype=np.int64)
    primary = ratings["primary"].reset_index(drop=True)
    has_primary = primary.notna().to_numpy()
    secondary = ratings["secondary"].reset_index(drop=True)
    sec_rows = np.repeat(rows, secondary.map(len).to_numpy(dtype=np.int64))
    sec_names = pd.Series([s for names in secondary.tolist() for s in names], dtype=object)
    names = pd.concat([primary[has_primary], sec_names], ignore_index=True)

    entry_row = np.concatenate([rows[has_primary], sec_rows])
    entry_primary = np.concatenate([np.ones(int(has_primary.sum()), dtype=bool),
                                    np.zeros(len(sec_rows), dtype=bool)])
    entry_class = names.map(class_of).to_numpy(dtype=np.int64) if len(names) \
        else np.zeros(0, dtype=np.int64)
    entry_key = names.map(key_of).to_numpy(dtype=object)
    row_judged = has_primary | (secondary.map(len).to_numpy() > 0)
    return VoteTable(
        utt_ids=np.array(table.utterances["utt_id"].tolist(), dtype=object),
        classes=classes,
        row_utt=row_utt,
        row_rater=np.array(ratings["rater_id"].tolist(), dtype=object),
        row_judged=row_judged,
        entry_row=entry_row,
        entry_class=entry_class,
        entry_primary=entry_primary,
        entry_key=entry_key,
    )
