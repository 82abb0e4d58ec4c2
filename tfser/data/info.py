"""Read access to a featurized directory's sidecar (``dataset_info.json``).

The file is written by :mod:`tfser.beam.dataset_info`; this module reads it through the
on-disk contract's loaders (:mod:`tfser.features.dataset_info`) and is the one place in
the data stage that knows where the reader's answers live in it (folds under ``split``, statistics
under ``normalisation``), so a layout change touches nothing else here.
"""

from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Tuple, Union

from tfser.features import dataset_info as sidecar
from tfser.data.rater_slices import LabelViews
from tfser.features import example_codec as codec

PARTS = ("train", "dev", "test")
DEFAULT_NORMALISATION = "global"

Stats = Tuple[List[float], List[float]]
FoldKey = Union[int, str]


def _stats(entry: Mapping) -> Stats:
    return list(entry["mean"]), list(entry["std"])


class DatasetInfo:
    """What the sidecar of one featurized directory says, with validated look-ups.

    Folds are addressed by index (``0`` .. ``num_folds - 1``) or by name.

    Attributes:
      data_dir: The featurized directory (absolute).
      raw: The sidecar as read.
      feature_specs: Feature name -> :class:`~tfser.features.example_codec.FeatureSpec`,
        in stored order.
      label_specs: Head -> :class:`~tfser.features.example_codec.LabelFieldSpec` of the
        stored views (iteration), also resolving each rater's slice of a per-rater view
        (``rater.<rater>``, :mod:`tfser.data.rater_slices`) on look-up.
    """

    def __init__(self, data_dir: str, raw: Mapping):
        self.data_dir = os.path.abspath(data_dir)
        self.raw = raw
        self.feature_specs: Dict[str, codec.FeatureSpec] = {
            s.name: s for s in sidecar.feature_specs(raw)}
        self.label_specs = LabelViews(sidecar.label_specs(raw), raw.get("label_metadata"))
        self._folds: List[Mapping] = list(raw["split"]["folds"])

    # -- folds and parts ---------------------------------------------------------------
    @property
    def num_folds(self) -> int:
        return len(self._folds)

    @property
    def fold_names(self) -> List[str]:
        return [f["name"] for f in self._folds]

    def check_fold(self, fold: FoldKey) -> Mapping:
        """Returns the fold's entry or raises ValueError naming the valid folds."""
        if isinstance(fold, str) and fold in self.fold_names:
            return self._folds[self.fold_names.index(fold)]
        if not isinstance(fold, bool) and isinstance(fold, int) and 0 <= fold < self.num_folds:
            return self._folds[fold]
        raise ValueError(f"unknown fold {fold!r}; {self.data_dir} has folds "
                         f"0..{self.num_folds - 1}, named {self.fold_names}")

    def fold_name(self, fold: FoldKey) -> str:
        return self.check_fold(fold)["name"]

    def _part(self, fold: FoldKey, part: str) -> Mapping:
        entry = self.check_fold(fold)
        if part not in PARTS or part not in entry:
            raise ValueError(f"unknown part {part!r} for fold {fold!r}; valid parts: "
                             f"{[p for p in PARTS if p in entry]}")
        return entry[part]

    def speakers(self, fold: FoldKey, part: str) -> List[str]:
        return sorted(self._part(fold, part)["speakers"])

    def files(self, fold: FoldKey, part: str, include_variants: bool) -> List[str]:
        """Absolute, sorted shard paths of a part: originals, plus the augmented copies
        (training parts only have them) when ``include_variants``."""
        entry = self._part(fold, part)
        name = self.fold_name(fold)
        files = sidecar.fold_files(self.raw, self.data_dir, name, part)
        if include_variants and "augmented" in entry:
            files += sidecar.fold_files(self.raw, self.data_dir, name, part, augmented=True)
        return sorted(files)

    def utterances(self, fold: FoldKey, part: str) -> Optional[List[str]]:
        """The part's utterance ids when its fold shares speakers (and so shard files)
        with other parts, e.g. a split by sentence; None when whole files belong to it."""
        listed = self._part(fold, part).get("utt_ids")
        return None if listed is None else list(listed)

    def count(self, fold: FoldKey, part: str, include_variants: bool) -> Optional[int]:
        """Examples written for a part, or None when the sidecar does not say."""
        entry = self._part(fold, part)
        if "written" not in entry:
            return None
        count = int(entry["written"])
        if include_variants and "augmented" in entry:
            count += int(entry["augmented"]["written"])
        return count

    # -- normalisation -----------------------------------------------------------------
    def _normalisation(self) -> Mapping:
        return self.raw.get("normalisation", {})

    @property
    def clip_sigma(self) -> float:
        """Clip of normalised features (featurize config ``clip_sigma``; 0: none)."""
        return sidecar.clip_sigma(self.raw)

    def default_normalisation(self, feature: str) -> str:
        """The method the featurize config chose for a feature set."""
        return self._normalisation().get("method", {}).get(feature, DEFAULT_NORMALISATION)

    def global_stats(self, fold: FoldKey, feature: str) -> Stats:
        """The fold's training-speaker mean/std of one feature set.

        Raises:
          ValueError: The sidecar has none (e.g. a fold without training speakers).
        """
        name = self.fold_name(fold)
        try:
            return _stats(self._normalisation()["global"][name][feature])
        except KeyError:
            raise ValueError(f"{self.data_dir}: no global statistics of feature "
                             f"'{feature}' for fold '{name}'") from None

    def speaker_stats(self, feature: str) -> Dict[str, Stats]:
        """Speaker id -> that speaker's own mean/std of one feature set."""
        per_speaker = self._normalisation().get("per_speaker", {})
        return {speaker: _stats(features[feature])
                for speaker, features in per_speaker.items() if feature in features}


def load_info(data_dir: str) -> DatasetInfo:
    """Reads ``<data_dir>/dataset_info.json``.

    Raises:
      FileNotFoundError: The directory has no sidecar.
      ValueError: The file is not a supported dataset_info.
    """
    path = os.path.join(data_dir, sidecar.DATASET_INFO_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found; is {data_dir} a featurized directory "
                                "(written by tfser.beam.build_pipeline)?")
    return DatasetInfo(data_dir, sidecar.read_info(path))
