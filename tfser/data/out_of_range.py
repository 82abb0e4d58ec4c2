"""How many normalised feature values a clip cuts (:func:`out_of_range_counts`).

The reader and the export clip normalised features to +-``clip_sigma`` training
standard deviations (:func:`tfser.data.normalise.clip`). This module measures, for one
part of one fold, how many stored values lie beyond that, per feature set, so that a
run can say what the clip changed (on the demo corpus: see README, "Featurize").
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from tfser.data.info import DatasetInfo, FoldKey
from tfser.data import reader


def out_of_range_counts(data_dir: Union[str, DatasetInfo], fold: FoldKey = 0,
                        part: str = "train", features: Optional[Sequence[str]] = None,
                        clip_sigma: Optional[float] = None) -> Dict[str, Dict[str, Any]]:
    """Per feature set: values read, values beyond the clip, and the largest |z|.

    Args:
      data_dir: Featurized directory (or its loaded info).
      fold: Fold whose statistics normalise.
      part: ``train``, ``dev`` or ``test`` (original examples only).
      features: Feature sets (default: all stored).
      clip_sigma: Threshold in standard deviations (default: the directory's clip).

    Returns:
      ``{feature: {"values", "clipped", "max_abs_z", "clip_sigma"}}``; ``values``
      counts real frames only (the zero padding of sequence batches is the normalised
      mean, so it is never beyond the clip either).
    """
    info = reader._as_info(data_dir)  # pylint: disable=protected-access
    threshold = float(info.clip_sigma if clip_sigma is None else clip_sigma)
    dataset = reader.build_dataset(info, fold, part, features=features, heads=[],
                                   batch_size=256, shuffle=False, include_variants=False,
                                   clip_sigma=None, cache=False)
    totals: Dict[str, Dict[str, Any]] = {}
    for inputs, _, _ in dataset:
        for name, value in inputs.items():
            if name not in info.feature_specs:
                continue  # a <name>_length input
            z = np.abs(value.numpy())
            real = z.shape[0] * z.shape[-1]
            if z.ndim == 3:
                real = int(np.sum(inputs[reader.length_key(name)].numpy())) * z.shape[-1]
            entry = totals.setdefault(name, {"values": 0, "clipped": 0, "max_abs_z": 0.0,
                                             "clip_sigma": threshold})
            entry["values"] += real
            entry["clipped"] += int(np.count_nonzero(z > threshold))
            entry["max_abs_z"] = max(entry["max_abs_z"], float(z.max()))
    return totals
