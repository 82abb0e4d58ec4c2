"""Spectrogram front-ends: bins and frames against numpy/scipy, and one function everywhere.

Parity: eager, ``tf.function`` with a ``[None]`` signature, ``tf.data``, the numpy entry
``compute``, and ``SpectrogramLayer`` (also after get_config/from_config and after
model.save/load_model) give the same values.
"""

import numpy as np
import pytest
import scipy.signal
import tensorflow as tf
import keras

from tfser.features import spectrogram as sp
from tfser.testing.audio import tone

RATE = 16000
KINDS = [sp.LOG_POWER_001, sp.SPECTROGRAM_004]


def _speech_like(seconds, seed=0):
    return tone(seconds, RATE, f0=140.0, seed=seed)


def _frames(signal, frame_length, step):
    count = 1 + (len(signal) - frame_length) // step
    return np.stack([signal[i * step:i * step + frame_length] for i in range(count)])


def _reference_001(signal):
    window = scipy.signal.get_window("hamming", 640)  # periodic, as for an STFT
    spectrum = np.fft.rfft(_frames(signal.astype(np.float64), 640, 160) * window, n=1600)
    return np.log(np.abs(spectrum[:, :400]) ** 2 + sp.LOG_POWER_EPS)


def _reference_004(signal):
    length = 4 * RATE
    if len(signal) > length:
        start = (len(signal) - length) // 2
        signal = signal[start:start + length]
    signal = np.pad(signal.astype(np.float64), (0, length - len(signal)))
    window = scipy.signal.get_window("hamming", 400)
    magnitude = np.abs(np.fft.rfft(_frames(signal, 400, 160) * window, n=1024))[:, :512]
    return (magnitude - magnitude.mean(axis=0)) / np.sqrt(magnitude.var(axis=0) + sp.NORM_EPS)


# --- bins, frames and values ------------------------------------------------------

def test_settings_and_bin_frequencies():
    s001 = sp.stft_settings(sp.LOG_POWER_001, RATE)
    assert (s001.frame_length, s001.frame_step, s001.fft_length, s001.num_bins) == (
        640, 160, 1600, 400)
    np.testing.assert_allclose(s001.bin_frequencies()[[0, 100, 399]], [0.0, 1000.0, 3990.0])
    s004 = sp.stft_settings(sp.SPECTROGRAM_004, RATE)
    assert (s004.frame_length, s004.frame_step, s004.fft_length, s004.num_bins) == (
        400, 160, 1024, 512)
    assert s004.bin_frequencies()[-1] == pytest.approx(8000.0 - 15.625)
    assert sp.output_shape(sp.SPECTROGRAM_004, 123) == (398, 512)
    assert sp.output_shape(sp.LOG_POWER_001, None) == (None, 400)


def test_one_khz_sine_peaks_at_bin_100():
    t = np.arange(RATE) / RATE
    sine = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    spec = sp.log_power_spectrogram_001(sine).numpy()
    assert spec.shape == (1 + (RATE - 640) // 160, 400)
    assert (np.argmax(spec, axis=1) == 100).all()


def test_001_matches_numpy_reference():
    signal = _speech_like(1.03)
    ours = sp.log_power_spectrogram_001(signal).numpy()
    reference = _reference_001(signal)
    assert ours.shape == reference.shape
    # float32 FFT against float64: tiny differences, a little larger in the weakest bins.
    np.testing.assert_allclose(ours, reference, atol=2e-3)
    assert np.median(np.abs(ours - reference)) < 1e-4


@pytest.mark.parametrize("seconds", [2.5, 5.3])  # zero-padded and centre-cropped
def test_004_matches_numpy_reference(seconds):
    signal = _speech_like(seconds)
    ours = sp.spectrogram_004(signal).numpy()
    assert ours.shape == (398, 512)
    np.testing.assert_allclose(ours, _reference_004(signal), atol=5e-4)


@pytest.mark.parametrize("samples", [0, 1, 639, 640, 799, 800, 1000])
def test_short_inputs_give_finite_frames(samples):
    signal = _speech_like(0.1)[:samples] if samples else np.zeros(0, np.float32)
    spec = sp.log_power_spectrogram_001(signal).numpy()
    assert spec.shape == (sp.stft_settings(sp.LOG_POWER_001).num_frames(samples), 400)
    assert spec.shape[0] == {0: 1, 1: 1, 639: 1, 640: 1, 799: 1, 800: 2, 1000: 3}[samples]
    assert np.isfinite(spec).all()
    spec004 = sp.spectrogram_004(signal).numpy()
    assert spec004.shape == (398, 512) and np.isfinite(spec004).all()


def test_silence_004_is_all_zero():
    np.testing.assert_array_equal(sp.spectrogram_004(np.zeros(RATE, np.float32)), 0.0)


def test_batched_rows_equal_single_calls():
    batch = np.stack([_speech_like(0.5, seed=1), _speech_like(0.5, seed=2)])
    together = sp.log_power_spectrogram_001(batch).numpy()
    np.testing.assert_allclose(together[1], sp.log_power_spectrogram_001(batch[1]).numpy(),
                               atol=1e-5)


# --- cropping -----------------------------------------------------------------------

def test_random_crop_is_seeded_and_stays_inside_the_signal():
    signal = _speech_like(6.0)
    first = sp.spectrogram_004(signal, random_crop=True, seed=(1, 2)).numpy()
    again = sp.spectrogram_004(signal, random_crop=True, seed=(1, 2)).numpy()
    other = sp.spectrogram_004(signal, random_crop=True, seed=(3, 4)).numpy()
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0.1
    # A signal no longer than the segment has nothing to crop: random = centre.
    short = _speech_like(3.0)
    np.testing.assert_array_equal(sp.spectrogram_004(short, random_crop=True, seed=(5, 6)),
                                  sp.spectrogram_004(short))


def test_random_crop_needs_a_seed():
    with pytest.raises(ValueError, match="needs a shape-\\[2\\] integer seed"):
        sp.spectrogram_004(_speech_like(5.0), random_crop=True)


# --- one function everywhere ------------------------------------------------------

def _model(kind):
    inputs = keras.Input(shape=(None,), dtype="float32")
    return keras.Model(inputs, sp.SpectrogramLayer(kind)(inputs))


@pytest.mark.parametrize("kind", KINDS)
def test_parity_eager_function_dataset_compute_layer_and_saved_model(kind, tmp_path):
    signal = _speech_like(4.6)
    function = sp.SPECTROGRAMS[kind]
    eager = function(signal).numpy()

    traced = tf.function(function, input_signature=[tf.TensorSpec([None], tf.float32)])
    dataset = tf.data.Dataset.from_tensors(signal).map(function)
    layer = sp.SpectrogramLayer(kind)
    clone = sp.SpectrogramLayer.from_config(layer.get_config())
    model = _model(kind)
    path = str(tmp_path / "front_end.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    results = {
        "tf.function[None]": traced(signal).numpy(),
        "tf.function, other length": traced(_speech_like(2.0)).numpy(),
        "tf.data": next(iter(dataset)).numpy(),
        "compute": sp.compute(kind, signal),
        "layer": layer(signal[None]).numpy()[0],
        "from_config": clone(signal[None]).numpy()[0],
        "load_model": loaded(signal[None]).numpy()[0],
    }
    np.testing.assert_allclose(results.pop("tf.function, other length"),
                               function(_speech_like(2.0)).numpy(), atol=1e-4)
    for where, values in results.items():
        assert values.shape == eager.shape, where
        assert np.abs(values - eager).max() < 1e-4, where
    assert results["compute"].dtype == np.float32


def test_layer_config_round_trip():
    layer = sp.SpectrogramLayer(sp.SPECTROGRAM_004, segment_s=3.0, random_crop=True, seed=7,
                                name="front")
    config = layer.get_config()
    assert {k: config[k] for k in ("kind", "sample_rate", "segment_s", "random_crop", "seed")} \
        == {"kind": sp.SPECTROGRAM_004, "sample_rate": RATE, "segment_s": 3.0,
            "random_crop": True, "seed": 7}
    assert sp.SpectrogramLayer.from_config(config).get_config() == config
    assert layer.compute_output_shape((None, None)) == (None, 298, 512)


def test_layer_random_crop_only_when_training():
    layer = sp.SpectrogramLayer(sp.SPECTROGRAM_004, random_crop=True, seed=3)
    batch = _speech_like(7.0)[None]
    centre = sp.spectrogram_004(batch[0]).numpy()
    np.testing.assert_allclose(layer(batch, training=False).numpy()[0], centre, atol=1e-5)
    crops = [layer(batch, training=True).numpy()[0] for _ in range(2)]
    assert crops[0].shape == (398, 512)
    assert np.abs(crops[0] - crops[1]).max() > 0.1  # the seed generator advances


# --- errors -------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: sp.stft_settings("mel"), "unknown spectrogram kind 'mel'"),
    (lambda: sp.stft_settings(sp.LOG_POWER_001, 6000), "needs a sample rate >= 8000"),
    (lambda: sp.log_power_spectrogram_001(np.zeros(800, np.int16)), "must be float"),
    (lambda: sp.log_power_spectrogram_001(np.float32(0.0)), "rank >= 1"),
    (lambda: sp.log_power_spectrogram_001(np.zeros(800, np.float32), tf.constant(16000)),
     "Python int"),
    (lambda: sp.spectrogram_004(np.zeros(800, np.float32), segment_s=0.0), "segment_s"),
    (lambda: sp.compute(sp.LOG_POWER_001, np.zeros((2, 800), np.float32)), "1-D float"),
    (lambda: sp.compute(sp.LOG_POWER_001, np.array([np.nan] * 800, np.float32)), "NaN"),
    (lambda: sp.SpectrogramLayer(sp.LOG_POWER_001, random_crop=True), "random_crop applies"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
