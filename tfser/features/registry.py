"""Named feature extractors: one name, one front-end, one stored array shape.

A configuration names feature sets; this registry turns each name into an extractor
(``waveform -> np.ndarray`` for a mono float32 waveform at the configured rate, 16 kHz
by default) and the :class:`~tfser.features.example_codec.FeatureSpec` that describes
the stored array. Registered sets:

========================  ===========  =======  ==================================================
name                      shape        rate     front-end
========================  ===========  =======  ==================================================
``egemaps_functionals``   [88]         -        openSMILE eGeMAPSv02 functionals (000, 003)
``compare_functionals``   [6373]       -        openSMILE ComParE_2016 functionals
``egemaps_lld``           [T, 25]      100 Hz   openSMILE eGeMAPSv02 low-level descriptors
``emobase_lld``           [T, 45]      100 Hz   the 45 emobase LLDs + deltas of paper 002
``emobase_lld_002``       [T, 45]      20 Hz    ``emobase_lld`` averaged over every 5 frames (002)
``logspec_001``           [T, 400]     100 Hz   log power spectrogram, 0-4 kHz (001)
``spec_004``              [398, 512]   100 Hz   normalised magnitude spectrogram of 4 s (004)
``windowed_egemaps_003``  [T, 50]      10 Hz    mean and std of ``egemaps_lld`` over 4 s windows
                                                every 100 ms (003, continuous recordings)
``windowed_mfcc_003``     [T, 72]      10 Hz    the same functionals of ``mfcc_lld`` (12 MFCCs,
                                                deltas, delta-deltas of emobase; 003)
========================  ===========  =======  ==================================================

The front-ends themselves live in :mod:`~tfser.features.opensmile_sets`,
:mod:`~tfser.features.spectrogram` and :mod:`~tfser.features.frames`; this module only
names and composes them.

Normalisation statistics. Every extractor also says which frames feed the
normalisation statistics (:attr:`Extracted.stats_frames`). For all sets but one these
are the stored values themselves. ``emobase_lld_002`` is the exception: paper 002
z-normalises the 100 Hz frames per speaker and *then* averages every 5 frames. The mean
is linear, so ``mean_5((x - m) / s) == (mean_5(x) - m) / s`` exactly when ``m`` and
``s`` are the statistics of the 100 Hz frames; statistics of the averaged frames would
give the same mean but a smaller standard deviation (averaging removes frame-to-frame
variance). So the pipeline stores the *unnormalised* 20 Hz frames, accumulates the
statistics over the 100 Hz frames, and the reader applies them to the 20 Hz frames -
which reproduces the paper's order of operations exactly while keeping one stored copy
usable with any normalisation.

Extractors are built lazily (:meth:`FeatureExtractor.setup`, called from a Beam
``DoFn.setup``): openSMILE objects are not picklable and TensorFlow functions are
traced once per process. A :class:`FeatureDefinition` holds only names and a
module-level factory, so it pickles to any worker.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from tfser.features import example_codec
from tfser.features import frames as frames_lib
from tfser.features import opensmile_sets

# Paper 002 averages every 5 frames of 10 ms: 20 Hz.
EMOBASE_002_FACTOR = 5
# Paper 003: functionals over 4 s windows every 100 ms (10 Hz, the rate of the traces).
WINDOW_003_S = 4.0
HOP_003_S = 0.1
WINDOW_003_STATS = ("mean", "std")


@dataclasses.dataclass(frozen=True)
class Extracted:
    """One extractor output.

    Attributes:
      values: The stored array, float32 [D] or [T, D].
      stats_frames: The frames whose moments feed normalisation statistics when they
        are not ``values`` themselves (``emobase_lld_002``: the 100 Hz frames), else None.
    """

    values: np.ndarray
    stats_frames: Optional[np.ndarray] = None


# A factory receives the sample rate and returns waveform -> Extracted (or ndarray).
Factory = Callable[[int], Callable[[np.ndarray], object]]


@dataclasses.dataclass(frozen=True)
class FeatureDefinition:
    """A registered feature set.

    Attributes:
      spec: The stored array (name, last-axis size, sequence flag, frame rate).
      factory: Module-level callable ``factory(sample_rate) -> extract`` with
        ``extract(waveform) -> np.ndarray`` or :class:`Extracted`; called once per
        worker, so it may build unpicklable objects.
      description: One line for listings and dataset_info.json.
      stats_source: Which frames feed the normalisation statistics, in words (for
        dataset_info.json); must match what the factory returns as ``stats_frames``.
    """

    spec: example_codec.FeatureSpec
    factory: Factory
    description: str = ""
    stats_source: str = "the stored frames"

    @property
    def name(self) -> str:
        return self.spec.name


class FeatureExtractor:
    """A lazily built extractor of one registered feature set.

    Call it (``extractor(waveform) -> np.ndarray``) or use :meth:`extract` to also get
    the statistics frames. Pickling drops the built front-end, so an instance can be
    created in a driver and shipped to Beam workers, which call :meth:`setup`.
    """

    def __init__(self, definition: FeatureDefinition, sample_rate: int = 16000):
        self.definition = definition
        self.sample_rate = int(sample_rate)
        self._function = None
        self._lock = threading.Lock()

    @property
    def spec(self) -> example_codec.FeatureSpec:
        return self.definition.spec

    def __getstate__(self):
        return {"definition": self.definition, "sample_rate": self.sample_rate}

    def __setstate__(self, state):
        self.__init__(state["definition"], state["sample_rate"])

    def setup(self) -> "FeatureExtractor":
        """Builds the front-end (openSMILE object, traced TF function) once."""
        with self._lock:
            if self._function is None:
                self._function = self.definition.factory(self.sample_rate)
        return self

    def extract(self, waveform: np.ndarray) -> Extracted:
        """Features of one mono float32 waveform.

        Returns:
          :class:`Extracted`; values may hold NaN/inf (the caller decides what a
          non-finite example means).

        Raises:
          ValueError: From the front-end (bad signal; openSMILE on a signal shorter
            than one analysis frame).
          RuntimeError: The front-end returned an array whose rank or last axis
            disagrees with the registered spec (a programming error, not bad data).
        """
        self.setup()
        out = self._function(waveform)
        if not isinstance(out, Extracted):
            out = Extracted(values=out)
        values = np.asarray(out.values, dtype=np.float32)
        spec = self.spec
        rank = 2 if spec.sequence else 1
        if values.ndim != rank or values.shape[-1] != spec.dim:
            raise RuntimeError(f"feature '{spec.name}' returned shape {values.shape}; its spec "
                               f"says {spec.shape}")
        stats_frames = None if out.stats_frames is None else np.asarray(out.stats_frames,
                                                                          np.float32)
        return Extracted(values=values, stats_frames=stats_frames)

    def __call__(self, waveform: np.ndarray) -> np.ndarray:
        return self.extract(waveform).values


# ------------------------------------------------------------------ factories
# Module-level (not lambdas) so that definitions pickle by reference.


def _opensmile(set_name: str, sample_rate: int):
    extractor = opensmile_sets.Extractor(set_name).setup()
    return functools.partial(_call_opensmile, extractor, sample_rate)


def _call_opensmile(extractor, sample_rate: int, waveform: np.ndarray) -> np.ndarray:
    return extractor(waveform, sample_rate)


def _emobase_002(sample_rate: int):
    extractor = opensmile_sets.Extractor("emobase_lld").setup()

    def extract(waveform):
        lld = extractor(waveform, sample_rate)
        return Extracted(values=frames_lib.downsample_mean(lld, EMOBASE_002_FACTOR),
                         stats_frames=lld)

    return extract


def _windowed_003(lld_set: str, sample_rate: int):
    """Paper 003's windowed functionals of an openSMILE LLD set: output frame ``k`` is
    time ``k * HOP_003_S`` whatever the set, so all of them align with the traces."""
    extractor = opensmile_sets.Extractor(lld_set).setup()
    rate = opensmile_sets.get_spec(lld_set).frame_rate_hz

    def extract(waveform):
        lld = extractor(waveform, sample_rate)
        return frames_lib.windowed_functionals(lld, rate, WINDOW_003_S, HOP_003_S,
                                               WINDOW_003_STATS)

    return extract


def _spectrogram(kind_attribute: str, sample_rate: int):
    # Imported here: the spectrogram module pulls in Keras, which only workers need.
    from tfser.features import spectrogram  # pylint: disable=import-outside-toplevel
    kind = getattr(spectrogram, kind_attribute)
    spectrogram.stft_settings(kind, sample_rate)  # fails early on an unusable rate
    return functools.partial(spectrogram.compute, kind, sample_rate=sample_rate)


def _opensmile_definition(name: str, description: str) -> FeatureDefinition:
    source = opensmile_sets.get_spec(name)
    spec = example_codec.FeatureSpec(name=name, dim=source.dim,
                                     sequence=not source.is_functionals,
                                     frame_rate_hz=source.frame_rate_hz)
    return FeatureDefinition(spec, functools.partial(_opensmile, name), description)


def _windowed_003_definition(name: str, lld_set: str, description: str) -> FeatureDefinition:
    """A paper-003 windowed functionals set over the LLD set ``lld_set``."""
    dim = opensmile_sets.get_spec(lld_set).dim * len(WINDOW_003_STATS)
    return FeatureDefinition(example_codec.FeatureSpec(name, dim, True, 1.0 / HOP_003_S),
                             functools.partial(_windowed_003, lld_set), description)


def _builtin_definitions() -> Tuple[FeatureDefinition, ...]:
    lld_rate = opensmile_sets.get_spec("egemaps_lld").frame_rate_hz
    emobase_dim = opensmile_sets.get_spec("emobase_lld").dim
    return (
        _opensmile_definition("egemaps_functionals", "openSMILE eGeMAPSv02 functionals"),
        _opensmile_definition("compare_functionals", "openSMILE ComParE_2016 functionals"),
        _opensmile_definition("egemaps_lld", "openSMILE eGeMAPSv02 LLDs, 10 ms step"),
        _opensmile_definition("emobase_lld", "002's 45 emobase LLDs and deltas, 10 ms step"),
        FeatureDefinition(
            example_codec.FeatureSpec("emobase_lld_002", emobase_dim, True,
                                      lld_rate / EMOBASE_002_FACTOR),
            _emobase_002,
            "emobase_lld averaged over every 5 frames (002)",
            stats_source="the 100 Hz frames before averaging (exact for the averaged frames)"),
        FeatureDefinition(
            example_codec.FeatureSpec("logspec_001", 400, True, 100.0),
            functools.partial(_spectrogram, "LOG_POWER_001"),
            "001's log power spectrogram: 40 ms Hamming, 10 ms hop, 0-4 kHz in 10 Hz bins"),
        FeatureDefinition(
            example_codec.FeatureSpec("spec_004", 512, True, 100.0),
            functools.partial(_spectrogram, "SPECTROGRAM_004"),
            "004's per-bin normalised magnitude spectrogram of a 4 s centre crop"),
        _windowed_003_definition(
            "windowed_egemaps_003", "egemaps_lld",
            "mean and std of eGeMAPS LLDs over 4 s windows every 100 ms (003)"),
        _windowed_003_definition(
            "windowed_mfcc_003", "mfcc_lld",
            "mean and std of 12 MFCCs and their deltas over 4 s windows every 100 ms (003)"),
    )


_REGISTRY: Dict[str, FeatureDefinition] = {d.name: d for d in _builtin_definitions()}
BUILTIN_NAMES = frozenset(_REGISTRY)
_REGISTRY_LOCK = threading.Lock()


def names() -> Tuple[str, ...]:
    """Registered feature-set names, sorted."""
    return tuple(sorted(_REGISTRY))


def get(name: str) -> FeatureDefinition:
    """The definition of a registered feature set.

    Raises:
      ValueError: An unknown name (the message lists the registered ones).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown feature set {name!r}; registered: {list(names())}")
    return _REGISTRY[name]


def feature_spec(name: str) -> example_codec.FeatureSpec:
    """The stored-array spec of a registered feature set."""
    return get(name).spec


def build_extractor(name: str, sample_rate: int = 16000) -> FeatureExtractor:
    """An unbuilt extractor for ``name`` (call :meth:`FeatureExtractor.setup` per worker)."""
    return FeatureExtractor(get(name), sample_rate)


def register(definition: FeatureDefinition, replace: bool = False) -> FeatureDefinition:
    """Adds a feature set (a user's own front-end, or a test double).

    Args:
      definition: The definition; its factory must be importable where it runs.
      replace: Allow replacing an existing name.

    Raises:
      ValueError: The name is taken and ``replace`` is False.
    """
    with _REGISTRY_LOCK:
        if definition.name in _REGISTRY and not replace:
            raise ValueError(f"feature set {definition.name!r} is already registered")
        _REGISTRY[definition.name] = definition
    return definition


def unregister(name: str) -> None:
    """Removes a feature set added by :func:`register`.

    Raises:
      ValueError: ``name`` is a built-in set (those cannot be removed).
    """
    if name in BUILTIN_NAMES:
        raise ValueError(f"feature set {name!r} is built in and cannot be unregistered")
    with _REGISTRY_LOCK:
        _REGISTRY.pop(name, None)
