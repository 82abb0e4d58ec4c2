"""Named openSMILE feature sets and their extraction from a mono signal.

Each set is a frozen :class:`FeatureSetSpec` in :data:`FEATURE_SETS`:

=======================  ==========================  =====  ===============================
name                     openSMILE set / level       dim    frames
=======================  ==========================  =====  ===============================
``egemaps_functionals``  eGeMAPSv02 / Functionals     88    one vector per signal
``egemaps_lld``          eGeMAPSv02 / LLD             25    10 ms step (100 Hz)
``emobase_lld``          emobase / LLD (+ deltas)     45    10 ms step (100 Hz)
``mfcc_lld``             emobase / LLD (+ deltas)     36    10 ms step (100 Hz)
``compare_functionals``  ComParE_2016 / Functionals  6373   one vector per signal
=======================  ==========================  =====  ===============================

``emobase_lld`` is the 45-dimensional frame set of paper 002 ("12 MFCCs, loudness, F0,
voice probability, zero-crossing rate, their first derivatives, and the second
derivatives of MFCCs and loudness"), built from openSMILE's packaged ``emobase``
low-level descriptors:

* 16 LLDs: ``mfcc_sma[1..12]``, ``pcm_loudness_sma``, ``F0_sma``, ``voiceProb_sma``,
  ``pcm_zcr_sma``;
* their 16 first-order deltas (``mfcc_sma_de[1..12]``, ``pcm_loudness_sma_de``, ...);
* 13 second-order deltas (``mfcc_sma_de_de[1..12]``, ``pcm_loudness_sma_de_de``) of the
  12 MFCCs and loudness.

``mfcc_lld`` is the MFCC part of the same frames: ``mfcc_sma[1..12]`` and their first and
second-order deltas (paper 003's MFCC functionals are statistics of MFCC frames).

The emobase LLD level also holds ``pcm_intensity_sma``, ``lspFreq_sma[0..7]`` and
``F0env_sma``; those 10 columns are not used. Deltas are computed here with
:func:`tfser.features.frames.delta_regression` (openSMILE's ``cDeltaRegression`` formula,
window 2, identical to the packaged ``lld_de`` level); openSMILE's own delta level is
not used because it has no second order and returns two extra trailing frames.

Frame settings differ from the paper: 002 states 60 ms frames with a 10 ms step, while
the packaged ``emobase.conf`` frames MFCCs, loudness and zero-crossing rate with 25 ms
Hamming windows (MFCCs after 0.97 pre-emphasis) and F0 / voicing probability with 40 ms
windows, all with a 10 ms step and a 3-frame moving-average smoother (the ``_sma``
suffix). The step, and so the 100 Hz frame rate, matches the paper; the window lengths
do not, because only the packaged configurations can be loaded through
:mod:`tfser.features.smile`.

openSMILE is imported only through :mod:`tfser.features.smile` (the guard against the
TensorFlow FFT symbol clash), and lazily, so this module imports neither openSMILE nor
TensorFlow until a feature is extracted.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import warnings
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from tfser.features import frames as frames_lib
from tfser.features import smile as smile_lib

_DELTA_SUFFIX = "_de"
# openSMILE names deltas before the array index: mfcc_sma[1] -> mfcc_sma_de[1].
_DELTA_NAME = re.compile(r"^(.*?)((?:_de)*)(\[\d+\])?$")


@dataclasses.dataclass(frozen=True)
class FeatureSetSpec:
    """A named openSMILE feature set.

    Attributes:
      name: Registry name (also used in configs and dataset_info.json).
      feature_set: ``opensmile.FeatureSet`` member name, e.g. ``eGeMAPSv02``.
      feature_level: ``opensmile.FeatureLevel`` member name, e.g. ``Functionals``.
      dim: Number of output features D.
      frame_rate_hz: Frames per second for frame-level sets; ``None`` for functionals.
      columns: Output column names in output order, or ``None`` for all columns of the
        openSMILE level in openSMILE's order. A name with ``_de`` (``_de_de``) before its
        optional array index, as openSMILE names deltas (``mfcc_sma_de[1]``), is the
        first (second) order delta regression of the column without it (``mfcc_sma[1]``).
      delta_window: Delta regression window W (openSMILE's ``deltawin``).
    """

    name: str
    feature_set: str
    feature_level: str
    dim: int
    frame_rate_hz: Optional[float] = None
    columns: Optional[Tuple[str, ...]] = None
    delta_window: int = 2

    def __post_init__(self):
        # A tuple keeps the spec hashable: it keys the per-process extractor cache.
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(self.columns))
        if self.dim < 1:
            raise ValueError(f"feature set {self.name!r}: dim must be positive, got {self.dim}")

    @property
    def is_functionals(self) -> bool:
        """True when one vector per signal comes out ([D]), False for frames ([T, D])."""
        return self.frame_rate_hz is None


_EMOBASE_LLD = tuple([f"mfcc_sma[{i}]" for i in range(1, 13)]
                     + ["pcm_loudness_sma", "F0_sma", "voiceProb_sma", "pcm_zcr_sma"])


def _delta_name(column: str, order: int) -> str:
    """openSMILE's name of a delta column: ``mfcc_sma[1]``, 2 -> ``mfcc_sma_de_de[1]``."""
    stem, bracket, index = column.partition("[")
    return stem + _DELTA_SUFFIX * order + bracket + index


_EMOBASE_45 = (_EMOBASE_LLD
               + tuple(_delta_name(name, 1) for name in _EMOBASE_LLD)
               + tuple(_delta_name(name, 2) for name in _EMOBASE_LLD[:13]))
# The 12 MFCCs of emobase with their first and second-order deltas.
_MFCC_36 = tuple(_delta_name(f"mfcc_sma[{i}]", order) for order in (0, 1, 2)
                 for i in range(1, 13))

FEATURE_SETS: Dict[str, FeatureSetSpec] = {spec.name: spec for spec in (
    FeatureSetSpec("egemaps_functionals", "eGeMAPSv02", "Functionals", dim=88),
    FeatureSetSpec("egemaps_lld", "eGeMAPSv02", "LowLevelDescriptors", dim=25,
                   frame_rate_hz=100.0),
    FeatureSetSpec("emobase_lld", "emobase", "LowLevelDescriptors", dim=len(_EMOBASE_45),
                   frame_rate_hz=100.0, columns=_EMOBASE_45),
    FeatureSetSpec("mfcc_lld", "emobase", "LowLevelDescriptors", dim=len(_MFCC_36),
                   frame_rate_hz=100.0, columns=_MFCC_36),
    FeatureSetSpec("compare_functionals", "ComParE_2016", "Functionals", dim=6373),
)}


def get_spec(spec: Union[str, FeatureSetSpec]) -> FeatureSetSpec:
    """Returns the registered spec for a name (a spec is returned unchanged).

    Raises:
      ValueError: An unknown name.
    """
    if isinstance(spec, FeatureSetSpec):
        return spec
    if spec not in FEATURE_SETS:
        raise ValueError(f"unknown openSMILE feature set {spec!r}; registered: "
                         f"{sorted(FEATURE_SETS)}")
    return FEATURE_SETS[spec]


def _split_delta(column: str) -> Tuple[str, int]:
    """``'mfcc_sma_de_de[1]'`` -> ``('mfcc_sma[1]', 2)``; ``'F0_sma_de'`` -> ``('F0_sma', 1)``."""
    match = _DELTA_NAME.match(column)
    stem, suffixes, index = match.group(1), match.group(2), match.group(3) or ""
    return stem + index, len(suffixes) // len(_DELTA_SUFFIX)


def _check_signal(signal, sample_rate) -> np.ndarray:
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"signal must be mono 1-D, got shape {signal.shape}")
    if signal.size == 0:
        raise ValueError("signal is empty")
    if not np.issubdtype(signal.dtype, np.floating):
        raise ValueError(f"signal must be float in [-1, 1], got dtype {signal.dtype}")
    if not np.isfinite(signal).all():
        raise ValueError("signal holds NaN or infinite samples")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate}")
    return np.ascontiguousarray(signal, dtype=np.float32)


class Extractor:
    """Extracts one feature set; builds its ``opensmile.Smile`` on first use.

    ``Smile`` objects are not picklable, so an ``Extractor`` holds none until it is
    used (or :meth:`setup` is called) and drops it when pickled: create it in a Beam
    ``DoFn.__init__``, call :meth:`setup` from ``DoFn.setup()``. Calls are serialised by
    a lock, as one ``Smile`` must not process two signals at once.
    """

    def __init__(self, spec: Union[str, FeatureSetSpec]):
        self.spec = get_spec(spec)
        self._smile = None
        self._names: Optional[List[str]] = None
        self._plan = None  # [(openSMILE column index, delta order)] per output column
        self._lock = threading.Lock()

    def __getstate__(self):
        return {"spec": self.spec}

    def __setstate__(self, state):
        self.__init__(state["spec"])

    def setup(self) -> "Extractor":
        """Builds the ``Smile`` object and checks its columns against the spec."""
        with self._lock:
            if self._smile is None:
                self._build()
        return self

    def _build(self) -> None:
        spec = self.spec
        smile = smile_lib.make_smile(spec.feature_set, spec.feature_level)
        available = list(smile.feature_names)
        wanted = list(spec.columns) if spec.columns is not None else available
        index = {name: i for i, name in enumerate(available)}
        plan = []
        for column in wanted:
            base, order = _split_delta(column)
            if base not in index:
                raise ValueError(f"feature set {spec.name!r}: openSMILE {spec.feature_set}/"
                                 f"{spec.feature_level} has no column {base!r}")
            plan.append((index[base], order))
        if len(plan) != spec.dim:
            raise ValueError(f"feature set {spec.name!r} promises {spec.dim} features but "
                             f"openSMILE {spec.feature_set}/{spec.feature_level} gives "
                             f"{len(plan)} (a different openSMILE version?)")
        self._names, self._plan, self._smile = wanted, plan, smile

    @property
    def feature_names(self) -> List[str]:
        """Output column names, in output order."""
        self.setup()
        return list(self._names)

    def __call__(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        """Extracts the features of one signal.

        Args:
          signal: Mono float waveform in [-1, 1].
          sample_rate: Its rate in Hz.

        Returns:
          float32 [D] for functionals, [T, D] for frame-level sets.

        Raises:
          ValueError: A bad signal, or NaN/inf in the output (openSMILE fills signals
            shorter than one analysis frame with NaN).
        """
        signal = _check_signal(signal, sample_rate)
        self.setup()
        with self._lock, warnings.catch_warnings():
            # openSMILE warns "Segment too short, filling with NaN"; the NaN check below
            # turns that into an error that names the feature set and the duration.
            warnings.simplefilter("ignore", UserWarning)
            raw = self._smile.process_signal(signal, int(sample_rate)).to_numpy()
        raw = np.asarray(raw, dtype=np.float64)
        bad = int(raw.size - np.count_nonzero(np.isfinite(raw)))
        if bad or raw.shape[0] == 0:
            seconds = signal.size / float(sample_rate)
            raise ValueError(f"openSMILE {self.spec.name} returned {bad} NaN/inf value(s) "
                             f"(of {raw.size}) for a {seconds:.3f} s signal; signals shorter "
                             f"than one analysis frame come back as NaN")
        values = self._assemble(raw)
        return values[0] if self.spec.is_functionals else values

    def _assemble(self, raw: np.ndarray) -> np.ndarray:
        """Selects the spec's columns and computes the delta columns it asks for."""
        if self.spec.columns is None:
            return raw.astype(np.float32)
        # levels[k] holds the k-th order deltas of every openSMILE column.
        levels = [raw]
        for _ in range(max(order for _, order in self._plan)):
            levels.append(frames_lib.delta_regression(levels[-1], self.spec.delta_window))
        return np.stack([levels[order][:, column] for column, order in self._plan],
                        axis=1).astype(np.float32)


_EXTRACTORS: Dict[FeatureSetSpec, Extractor] = {}
_EXTRACTORS_LOCK = threading.Lock()


def _extractor(spec: Union[str, FeatureSetSpec]) -> Extractor:
    """The process-wide cached :class:`Extractor` of a spec."""
    spec = get_spec(spec)
    with _EXTRACTORS_LOCK:
        if spec not in _EXTRACTORS:
            _EXTRACTORS[spec] = Extractor(spec)
        return _EXTRACTORS[spec]


def extract(signal: np.ndarray, sample_rate: int,
            spec: Union[str, FeatureSetSpec]) -> np.ndarray:
    """Extracts a feature set with a per-process cached ``Smile`` object.

    Args:
      signal: Mono float32 waveform in [-1, 1].
      sample_rate: Its rate in Hz.
      spec: A :class:`FeatureSetSpec` or its registered name.

    Returns:
      float32 [D] for functionals, [T, D] for frame-level sets (T ~ duration / 10 ms,
      a few frames fewer because openSMILE emits only complete frames).

    Raises:
      ValueError: Unknown set, bad signal, or NaN/inf features.
    """
    return _extractor(spec)(signal, sample_rate)


def feature_names(spec: Union[str, FeatureSetSpec]) -> List[str]:
    """Output column names of a feature set (builds the cached ``Smile`` if needed)."""
    spec = get_spec(spec)
    if spec.columns is not None:
        return list(spec.columns)
    return _extractor(spec).feature_names
