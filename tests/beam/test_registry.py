"""The feature registry: every named set gives its spec's shape; extractors pickle unbuilt."""

import pickle

import numpy as np
import pytest

from tfser.features import example_codec
from tfser.features import frames as frames_lib
from tfser.features import registry
from tfser.testing import audio

SECONDS = 1.5
EXPECTED = {
    "egemaps_functionals": (88,),
    "compare_functionals": (6373,),
    "egemaps_lld": (None, 25),
    "emobase_lld": (None, 45),
    "emobase_lld_002": (None, 45),
    "logspec_001": (None, 400),
    "spec_004": (398, 512),
    "windowed_egemaps_003": (None, 50),
    "windowed_mfcc_003": (None, 72),
}


@pytest.fixture(scope="module")
def waveform():
    return audio.tone(SECONDS, 16000, f0=180.0, seed=1)


def test_the_issue_names_are_registered():
    assert set(EXPECTED) <= set(registry.names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_extractor_output_matches_the_spec(name, waveform):
    extractor = registry.build_extractor(name)
    values = extractor(waveform)
    spec = extractor.spec
    assert values.dtype == np.float32 and np.isfinite(values).all()
    assert values.ndim == len(spec.shape) and values.shape[-1] == spec.dim
    expected = EXPECTED[name]
    assert all(e is None or e == v for e, v in zip(expected, values.shape))
    if spec.sequence:
        # Frames at the spec's rate cover the signal (fixed 4 s for spec_004).
        seconds = 4.0 if name == "spec_004" else SECONDS
        assert abs(values.shape[0] - seconds * spec.frame_rate_hz) <= 0.05 * seconds * \
            spec.frame_rate_hz + 1


def test_emobase_002_averages_five_frames_and_keeps_the_100hz_frames_for_stats(waveform):
    full = registry.build_extractor("emobase_lld").extract(waveform)
    out = registry.build_extractor("emobase_lld_002").extract(waveform)
    np.testing.assert_allclose(out.values, frames_lib.downsample_mean(full.values, 5), rtol=1e-6)
    np.testing.assert_array_equal(out.stats_frames, full.values)
    assert full.stats_frames is None
    # Why: z-normalising the 100 Hz frames, then averaging (paper 002) equals averaging,
    # then z-normalising with the 100 Hz statistics.
    mean, std = frames_lib.fit_znorm([out.stats_frames])
    paper = frames_lib.downsample_mean(frames_lib.apply_znorm(full.values, mean, std), 5)
    stored = frames_lib.apply_znorm(out.values, mean, std)
    np.testing.assert_allclose(stored, paper, rtol=1e-4, atol=1e-4)


def test_windowed_egemaps_003_runs_at_10_hz():
    recording = audio.tone(6.0, 16000, seed=2)
    values = registry.build_extractor("windowed_egemaps_003")(recording)
    assert values.shape == (60, 50)


def test_windowed_mfcc_003_is_the_egemaps_windowing_over_the_mfcc_frames():
    recording = audio.tone(6.0, 16000, seed=2)
    values = registry.build_extractor("windowed_mfcc_003")(recording)
    egemaps = registry.build_extractor("windowed_egemaps_003")(recording)
    # Same 10 Hz frames as the eGeMAPS windows: frame k is time k * 0.1 s in both.
    assert values.shape == (egemaps.shape[0], 72)
    mfcc = registry.build_extractor("emobase_lld")(recording)[:, :12]
    np.testing.assert_allclose(values[:, :12], frames_lib.windowed_functionals(
        mfcc, 100.0, registry.WINDOW_003_S, registry.HOP_003_S, ("mean",)), rtol=1e-5,
        atol=1e-5)


def test_extractor_pickles_without_its_built_front_end(waveform):
    extractor = registry.build_extractor("egemaps_functionals").setup()
    clone = pickle.loads(pickle.dumps(extractor))
    assert clone._function is None  # rebuilt lazily on the worker
    np.testing.assert_array_equal(clone(waveform), extractor(waveform))


def test_unknown_name_lists_the_registered_sets():
    with pytest.raises(ValueError, match="registered: .*egemaps_functionals"):
        registry.get("mfcc_magic")


def _twice_factory(sample_rate):
    return lambda waveform: np.array([waveform.mean(), 2 * waveform.mean()], np.float32)


def test_register_and_unregister_a_user_set(waveform):
    definition = registry.FeatureDefinition(example_codec.FeatureSpec("test_twice", 2),
                                            _twice_factory, "test double")
    registry.register(definition)
    try:
        assert registry.build_extractor("test_twice")(waveform).shape == (2,)
        with pytest.raises(ValueError, match="already registered"):
            registry.register(definition)
    finally:
        registry.unregister("test_twice")
    assert "test_twice" not in registry.names()
    with pytest.raises(ValueError, match="built in"):
        registry.unregister("egemaps_functionals")


def test_a_front_end_of_the_wrong_shape_is_a_programming_error(waveform):
    definition = registry.FeatureDefinition(example_codec.FeatureSpec("test_wrong", 3),
                                            _twice_factory)
    with pytest.raises(RuntimeError, match="returned shape"):
        registry.FeatureExtractor(definition)(waveform)
