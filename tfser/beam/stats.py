"""Sufficient statistics for feature normalisation: count, sum and sum of squares.

Workers compute one :class:`Moments` per (speaker, feature set) and example and sum
them per speaker within each bundle (:mod:`tfser.beam.transforms`); the driver adds the
bundles in a fixed order, then the speakers of each fold's TRAIN part to get that fold's
global mean and standard deviation, and keeps each speaker's own statistics for
per-speaker normalisation (002). Sums are float64; every frame of a frame-level array
counts once, a functionals vector counts as one frame (as in
:func:`tfser.features.frames.fit_znorm`). How a runner bundles the work changes the
order of the float64 additions, so statistics of two runners agree to float64 rounding
(the float32 values written almost always bit for bit), not by construction.

Sums of squares lose precision when a feature's mean is large against its spread
(``var = E[x^2] - E[x]^2``); in float64 this stays below 1e-6 relative for the
magnitudes openSMILE and log spectrograms produce (|mean|/std < 1e4).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterable, List, Mapping, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class Moments:
    """Count, per-dimension sum and sum of squares of a set of frames."""

    count: int
    total: np.ndarray
    total_sq: np.ndarray

    @classmethod
    def of(cls, frames: np.ndarray) -> "Moments":
        """Moments of a [D] vector (one frame) or a [T, D] matrix."""
        frames = np.asarray(frames, dtype=np.float64)
        if frames.ndim == 1:
            frames = frames[np.newaxis]
        return cls(int(frames.shape[0]), frames.sum(axis=0), np.square(frames).sum(axis=0))

    def __add__(self, other: "Moments") -> "Moments":
        if self.total.shape != other.total.shape:
            raise ValueError(f"cannot add moments of {self.total.shape[0]} and "
                             f"{other.total.shape[0]} dimensions")
        return Moments(self.count + other.count, self.total + other.total,
                       self.total_sq + other.total_sq)

    def mean_std(self):
        """Mean and population standard deviation (float64 [D] each)."""
        if self.count <= 0:
            raise ValueError("no frames: mean and std are undefined")
        mean = self.total / self.count
        variance = np.maximum(self.total_sq / self.count - mean * mean, 0.0)
        return mean, np.sqrt(variance)

    def summary(self) -> Dict[str, Any]:
        """JSON-ready ``{count, mean, std}`` (float32-rounded lists)."""
        mean, std = self.mean_std()
        return {"count": self.count,
                "mean": [float(v) for v in mean.astype(np.float32)],
                "std": [float(v) for v in std.astype(np.float32)]}

    def to_json(self) -> Dict[str, Any]:
        """Lossless JSON form (float64 sums) for the work files between stages."""
        return {"count": self.count, "sum": self.total.tolist(), "sum_sq": self.total_sq.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Moments":
        return cls(int(data["count"]), np.asarray(data["sum"], np.float64),
                   np.asarray(data["sum_sq"], np.float64))


def accumulate(totals: Dict[Any, Moments], key: Any, moments: Moments) -> None:
    """Adds ``moments`` to ``totals[key]`` (sets it when absent)."""
    totals[key] = moments if key not in totals else totals[key] + moments


def moments_records(totals: Mapping[Tuple[str, str, str], Moments]) -> List[Dict[str, Any]]:
    """JSON-ready records of moments keyed ``(speaker_id, stats_part, feature)``, in key
    order (a bundle's records file and the ``moments`` work file)."""
    return [{"speaker_id": speaker, "stats_part": part, "feature": name, **value.to_json()}
            for (speaker, part, name), value in sorted(totals.items())]


def sum_moments(items: Iterable[Moments]) -> Moments:
    """Sum of moments.

    Raises:
      ValueError: No items.
    """
    result = None
    for item in items:
        result = item if result is None else result + item
    if result is None:
        raise ValueError("no moments to add")
    return result


def fold_statistics(per_speaker: Mapping[str, Mapping[str, Moments]],
                    speakers: Iterable[str]) -> Dict[str, Dict[str, Any]]:
    """Per feature set, the ``{count, mean, std}`` of the given speakers' frames.

    Args:
      per_speaker: Speaker -> feature name -> moments (written original examples only).
      speakers: The speakers to pool (a fold's TRAIN speakers).

    Returns:
      Feature name -> summary; a feature none of the speakers has is left out.
    """
    pooled: Dict[str, Moments] = {}
    for speaker in speakers:
        for name, moments in per_speaker.get(speaker, {}).items():
            accumulate(pooled, name, moments)
    return {name: pooled[name].summary() for name in sorted(pooled)}
