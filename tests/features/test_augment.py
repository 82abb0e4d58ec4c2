"""Speed perturbation: duration and pitch both scale with the factor."""

import numpy as np
import pytest

from tfser.features import augment

RATE = 16000


def _sine(freq, seconds=2.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(signal):
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return np.fft.rfftfreq(len(signal), 1.0 / RATE)[int(np.argmax(spectrum))]


@pytest.mark.parametrize("factor, expected_hz", [(1.1, 220.0), (0.9, 180.0)])
def test_speed_changes_duration_and_pitch_together(factor, expected_hz):
    signal = _sine(200.0)
    out = augment.speed_perturb(signal, RATE, factor)
    assert out.dtype == np.float32
    assert abs(len(out) - len(signal) / factor) <= 2
    assert _peak_hz(out) == pytest.approx(expected_hz, abs=1.0)
    # Steady-state amplitude is preserved (resampling, not gain).
    assert np.abs(out[1000:-1000]).max() == pytest.approx(0.5, abs=0.02)


def test_paper_001_factors_and_identity():
    assert augment.SPEED_FACTORS_001 == (0.9, 1.1)
    signal = _sine(200.0, 0.5)
    same = augment.speed_perturb(signal, RATE, 1.0)
    np.testing.assert_array_equal(same, signal)
    assert same is not signal


def test_speed_perturb_is_deterministic():
    signal = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    np.testing.assert_array_equal(augment.speed_perturb(signal, RATE, 1.1),
                                  augment.speed_perturb(signal, RATE, 1.1))


@pytest.mark.parametrize("signal, rate, factor, message", [
    (np.zeros((10, 2), np.float32), RATE, 1.1, "1-D"),
    (np.zeros(0, np.float32), RATE, 1.1, "non-empty"),
    (np.zeros(10, np.int16), RATE, 1.1, "float"),
    (np.array([0.0, np.nan], np.float32), RATE, 1.1, "NaN"),
    (np.zeros(10, np.float32), 0, 1.1, "sample_rate"),
    (np.zeros(10, np.float32), RATE, 0.0, "speed factor"),
    (np.zeros(10, np.float32), RATE, float("inf"), "speed factor"),
])
def test_speed_perturb_errors(signal, rate, factor, message):
    with pytest.raises(ValueError, match=message):
        augment.speed_perturb(signal, rate, factor)
