"""One rater's slice of a per-rater label view, read as a label view of its own.

Paper 002 trains one model per individual rater on that rater's own labels (its E_n
components). A featurized directory stores all raters together in one per-rater view
(``rater``: ``[R, K]`` targets with an ``[R]`` mask); the head name
``<view>.<rater>`` (e.g. ``rater.synthetic_R03``) reads rater ``synthetic:R03``'s
row of it as a soft view over the K classes, labelled exactly where that rater gave a
label. Nothing is stored twice: the reader parses the per-rater view and slices it, so
any number of single-rater models read one featurized directory. The rater part of the
name is the rater id with every character other than letters, digits, ``_`` and ``-``
replaced by ``_`` (:func:`slice_head`), since head names are Keras layer names.

:class:`LabelViews` is what :attr:`tfser.data.DatasetInfo.label_specs` holds: it
iterates over the stored views only (so "all heads" means the stored ones) and
resolves slice names on look-up, so that training, evaluation and export see a slice
as one more soft label view.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from tfser.features import example_codec as codec

SEPARATOR = "."
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def slice_head(view: str, rater: str) -> str:
    """The head name of rater ``rater``'s slice of per-rater view ``view``."""
    return f"{view}{SEPARATOR}{_UNSAFE.sub('_', str(rater))}"


class LabelViews(Mapping):
    """Head -> :class:`~tfser.features.example_codec.LabelFieldSpec`: the stored views,
    plus on look-up every rater slice ``<per-rater view>.<rater>`` (module docstring).

    Args:
      specs: The stored views' specs, in stored order.
      metadata: ``label_metadata`` of ``dataset_info.json`` (rater ids of per-rater
        views under ``raters``).
    """

    def __init__(self, specs: Sequence[codec.LabelFieldSpec],
                 metadata: Optional[Mapping[str, Mapping]] = None):
        self._stored: Dict[str, codec.LabelFieldSpec] = {s.head: s for s in specs}
        self._slices: Dict[str, Tuple[str, int, str]] = {}
        for spec in specs:
            if spec.kind != "per_rater":
                continue
            raters = list((metadata or {}).get(spec.head, {}).get("raters") or ())
            for index, rater in enumerate(raters[:spec.shape[0]]):
                self._slices[slice_head(spec.head, rater)] = (spec.head, index, str(rater))

    def __getitem__(self, head: str) -> codec.LabelFieldSpec:
        if head in self._stored:
            return self._stored[head]
        if head not in self._slices:
            raise KeyError(head)
        base = self._stored[self._slices[head][0]]
        return codec.LabelFieldSpec(head=head, kind="soft", shape=base.shape[-1:],
                                    classes=base.classes)

    def __contains__(self, head: object) -> bool:
        return head in self._stored or head in self._slices

    def __iter__(self) -> Iterator[str]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)

    def source(self, head: str) -> Optional[Tuple[str, int, str]]:
        """``(per-rater view, rater index, rater id)`` of a slice head; None otherwise."""
        return self._slices.get(head)

    def raters(self, view: str) -> List[str]:
        """Rater ids of a stored per-rater view, in its rater-axis order."""
        return [rater for base, _, rater in self._slices.values() if base == view]

    def stored_specs(self, heads: Sequence[str]) -> List[codec.LabelFieldSpec]:
        """The stored views to parse for ``heads`` (a slice reads its per-rater view)."""
        names: List[str] = []
        for head in heads:
            name = self._slices[head][0] if head in self._slices else head
            if name not in names:
                names.append(name)
        return [self._stored[name] for name in names]
