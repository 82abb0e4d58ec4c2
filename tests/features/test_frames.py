"""Frame post-processing: deltas, downsampling, windowed functionals, z-normalisation."""

import numpy as np
import pytest

from tfser.features import frames


def _random_frames(length, dim, seed=0, offset=0.0):
    return (offset + np.random.default_rng(seed).standard_normal((length, dim))).astype(np.float32)


# --- delta_regression ---------------------------------------------------------------

def test_delta_of_a_ramp_is_its_slope_inside_and_smaller_at_the_edges():
    ramp = (3.0 * np.arange(20, dtype=np.float32))[:, None]
    delta = frames.delta_regression(ramp, window=2)[:, 0]
    np.testing.assert_allclose(delta[2:-2], 3.0, rtol=1e-6)
    # Edge frames are repeated, so the first delta sees x[-1] = x[-2] = x[0]:
    # (1*(3-0) + 2*(6-0)) / 10 = 1.5.
    assert delta[0] == pytest.approx(1.5)
    assert delta[-1] == pytest.approx(1.5)


def test_delta_of_a_constant_is_zero():
    np.testing.assert_array_equal(frames.delta_regression(np.ones((7, 3))), np.zeros((7, 3)))


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_delta_rejects_bad_window(bad):
    with pytest.raises(ValueError, match="delta window"):
        frames.delta_regression(np.ones((5, 2)), window=bad)


# --- downsample_mean ----------------------------------------------------------------

def test_downsample_averages_blocks_and_keeps_the_short_tail():
    x = np.arange(24, dtype=np.float32).reshape(12, 2)
    out = frames.downsample_mean(x, factor=5)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out[0], x[:5].mean(axis=0))
    np.testing.assert_allclose(out[1], x[5:10].mean(axis=0))
    np.testing.assert_allclose(out[2], x[10:].mean(axis=0))  # 2 frames, not 5
    assert out.dtype == np.float32


def test_downsample_exact_multiple_and_factor_one():
    x = _random_frames(10, 3)
    assert frames.downsample_mean(x, 5).shape == (2, 3)
    np.testing.assert_allclose(frames.downsample_mean(x, 1), x)


@pytest.mark.parametrize("x, factor, message", [
    (np.ones(5), 5, "2-D"), (np.ones((0, 3)), 5, "no frames"), (np.ones((5, 3)), 0, "factor"),
])
def test_downsample_errors(x, factor, message):
    with pytest.raises(ValueError, match=message):
        frames.downsample_mean(x, factor)


# --- windowed_functionals -----------------------------------------------------------

def test_windowed_functionals_centred_windows_truncated_at_edges():
    x = _random_frames(1000, 3)  # 10 s at 100 Hz
    out = frames.windowed_functionals(x, frame_rate_hz=100, window_s=4.0, hop_s=0.1)
    assert out.shape == (100, 6)  # 10 Hz, mean and std of 3 features
    # t = 5 s: frames 300..699; statistic-major layout.
    np.testing.assert_allclose(out[50, :3], x[300:700].mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[50, 3:], x[300:700].std(axis=0), rtol=1e-5)
    # t = 0: only the right half exists; t = 9.9 s: frames 790..999.
    np.testing.assert_allclose(out[0, :3], x[:200].mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[-1, :3], x[790:].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_windowed_functionals_partial_hop_and_min_max():
    x = _random_frames(995, 2)
    out = frames.windowed_functionals(x, 100, stats=("min", "max"))
    assert out.shape == (100, 4)  # centres 0, 10, ..., 990 < 995
    np.testing.assert_allclose(out[99, :2], x[790:].min(axis=0))
    np.testing.assert_allclose(out[99, 2:], x[790:].max(axis=0))


def test_windowed_functionals_single_frame_window_has_zero_std():
    out = frames.windowed_functionals(np.ones((1, 2)), 100, window_s=0.02, hop_s=0.1)
    np.testing.assert_array_equal(out, [[1.0, 1.0, 0.0, 0.0]])


def test_functional_names_follow_the_output_layout():
    assert frames.functional_names(["a", "b"], ("mean", "std")) == [
        "a_mean", "b_mean", "a_std", "b_std"]


@pytest.mark.parametrize("kwargs, message", [
    ({"stats": ("median",)}, "unknown or missing"), ({"stats": ()}, "unknown or missing"),
    ({"hop_s": 0.0}, "hop_s"), ({"window_s": 0.001}, "shorter than two frames"),
])
def test_windowed_functionals_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        frames.windowed_functionals(np.ones((10, 2)), 100, **kwargs)


# --- z-normalisation ----------------------------------------------------------------

def test_fit_znorm_pools_frames_of_all_arrays():
    parts = [_random_frames(n, 4, seed=n, offset=n) for n in (3, 50, 7)]
    mean, std = frames.fit_znorm(iter(parts))  # a generator is enough
    pooled = np.concatenate(parts).astype(np.float64)
    np.testing.assert_allclose(mean, pooled.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, pooled.std(axis=0), rtol=1e-5)
    assert mean.dtype == np.float32 and std.dtype == np.float32


def test_fit_znorm_keeps_precision_with_a_large_offset():
    parts = [_random_frames(1000, 2, seed=s) * 1e-3 + 1e4 for s in range(5)]
    _, std = frames.fit_znorm(parts)
    reference = np.concatenate(parts).astype(np.float64).std(axis=0)
    np.testing.assert_allclose(std, reference, rtol=1e-4)


def test_fit_znorm_accepts_vectors():
    mean, std = frames.fit_znorm([np.array([1.0, 2.0]), np.array([3.0, 2.0])])
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(std, [1.0, 0.0])


@pytest.mark.parametrize("arrays, message", [
    ([], "no frames"), ([np.ones((0, 2))], "no frames"),
    ([np.ones((2, 2)), np.ones((2, 3))], "3 features"),
    ([np.array([[np.nan, 1.0]])], "NaN"), ([np.ones((2, 2, 2))], "shape"),
])
def test_fit_znorm_errors(arrays, message):
    with pytest.raises(ValueError, match=message):
        frames.fit_znorm(arrays)


def test_apply_znorm_standardises_and_only_centres_constant_features():
    x = _random_frames(200, 3, offset=5.0)
    x[:, 2] = 7.0  # constant feature: std 0
    mean, std = frames.fit_znorm([x])
    z = frames.apply_znorm(x, mean, std)
    np.testing.assert_allclose(z[:, :2].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z[:, :2].std(axis=0), 1.0, rtol=1e-4)
    np.testing.assert_array_equal(z[:, 2], 0.0)
    # A value unseen in training stays in natural units instead of exploding by 1/eps.
    shifted = frames.apply_znorm(np.array([[5.0, 5.0, 9.0]]), mean, std)
    assert shifted[0, 2] == pytest.approx(2.0)


@pytest.mark.parametrize("x, mean, std, message", [
    (np.ones((2, 3)), np.zeros(2), np.ones(2), "statistics have 2"),
    (np.ones((2, 2)), np.zeros(2), np.ones(3), "std has 3"),
    (np.ones((2, 2)), np.zeros(2), -np.ones(2), "negative"),
])
def test_apply_znorm_errors(x, mean, std, message):
    with pytest.raises(ValueError, match=message):
        frames.apply_znorm(x, mean, std)


def test_per_speaker_znorm_uses_each_speakers_own_statistics():
    arrays = [_random_frames(40, 2, seed=i, offset=10.0 * (i % 2)) for i in range(4)]
    speakers = ["a", "b", "a", "b"]
    normalised, stats = frames.per_speaker_znorm(arrays, speakers)
    assert sorted(stats) == ["a", "b"]
    for speaker in ("a", "b"):
        pooled = np.concatenate([z for z, s in zip(normalised, speakers) if s == speaker])
        np.testing.assert_allclose(pooled.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(pooled.std(axis=0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(stats["b"][0], np.concatenate(arrays[1::2]).mean(axis=0),
                               rtol=1e-5)


def test_per_speaker_znorm_length_mismatch():
    with pytest.raises(ValueError, match="speaker ids"):
        frames.per_speaker_znorm([np.ones((2, 2))], ["a", "b"])
