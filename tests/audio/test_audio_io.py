"""Audio reading: every error case, mix-down, resampling, segments and formats."""

import warnings

import numpy as np
import pytest
import soundfile

from tfser.audio import audio_io
from tfser.testing.audio import write_tone


def _sine(freq, seconds, rate, amplitude=0.5):
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(signal, rate):
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return np.fft.rfftfreq(len(signal), 1.0 / rate)[int(np.argmax(spectrum))]


# --- errors -------------------------------------------------------------------------

def test_missing_file_names_path(tmp_path):
    path = tmp_path / "absent.wav"
    with pytest.raises(audio_io.AudioError, match="file not found") as info:
        audio_io.read_audio(str(path))
    assert info.value.path == str(path)
    assert str(path) in str(info.value)


def test_folder_is_not_audio(tmp_path):
    with pytest.raises(audio_io.AudioError, match="is a folder"):
        audio_io.probe(str(tmp_path))


def test_git_lfs_pointer_is_named(tmp_path):
    path = tmp_path / "clip.wav"
    path.write_text("version https://git-lfs.github.com/spec/v1\n"
                    "oid sha256:4d7a2146f3b5d3b2e3a1c0b9a8f7e6d5c4b3a29181716151413121110090807\n"
                    "size 80124\n")
    with pytest.raises(audio_io.AudioError, match="git-LFS pointer") as info:
        audio_io.read_audio(str(path))
    assert "clip.wav" in str(info.value)


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(40)))
    with pytest.raises(audio_io.AudioError, match="cannot be decoded"):
        audio_io.probe(str(path))


def test_zero_byte_file(tmp_path):
    path = tmp_path / "nothing.flac"
    path.write_bytes(b"")
    with pytest.raises(audio_io.AudioError, match="empty file"):
        audio_io.read_audio(str(path))


def test_no_frames(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(str(path), np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    with pytest.raises(audio_io.AudioError, match="no samples"):
        audio_io.read_audio(str(path))


def test_shorter_than_minimum(tmp_path):
    path = write_tone(str(tmp_path / "short.wav"), 0.2)
    with pytest.raises(audio_io.AudioError, match="shorter than the minimum 0.500"):
        audio_io.read_audio(path, min_duration_s=0.5)
    assert len(audio_io.read_audio(path, min_duration_s=0.1)) == 3200


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    data = _sine(200, 0.1, 16000)
    data[10] = bad
    path = tmp_path / "float.wav"
    soundfile.write(str(path), data, 16000, subtype="FLOAT")
    with pytest.raises(audio_io.AudioError, match="1 NaN or infinite"):
        audio_io.read_audio(str(path))


def test_segment_outside_file(tmp_path):
    path = write_tone(str(tmp_path / "a.wav"), 1.0)
    with pytest.raises(audio_io.AudioError, match="file lasts 1.000 s"):
        audio_io.read_audio(path, start_s=0.5, end_s=1.5)
    with pytest.raises(audio_io.AudioError, match="not a positive interval"):
        audio_io.read_audio(path, start_s=0.5, end_s=0.5)
    with pytest.raises(audio_io.AudioError, match="starts at"):
        audio_io.read_audio(path, start_s=1.2, end_s=1.3)


def test_bad_rate_argument(tmp_path):
    path = write_tone(str(tmp_path / "a.wav"), 0.1)
    with pytest.raises(ValueError, match="sample_rate must be positive"):
        audio_io.read_audio(path, sample_rate=0)


# --- clipping ------------------------------------------------------------------------

def test_clipping_warns_not_raises(tmp_path):
    data = _sine(100, 1.0, 16000, amplitude=0.3)
    data[:40] = 1.0          # 0.25 % at full scale
    path = tmp_path / "clipped.wav"
    soundfile.write(str(path), data, 16000, subtype="PCM_16")
    with pytest.warns(audio_io.ClippingWarning, match="clipped.wav"):
        out = audio_io.read_audio(str(path))
    assert out.shape == (16000,)
    # A stricter threshold of 1 % keeps quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio_io.read_audio(str(path), clip_fraction=0.01)
    assert audio_io.clipped_fraction(data) == pytest.approx(40 / 16000)


def test_few_clipped_samples_do_not_warn(tmp_path):
    data = _sine(100, 1.0, 16000, amplitude=0.3)
    data[:5] = -1.0          # 0.03 % < 0.1 %
    path = tmp_path / "ok.wav"
    soundfile.write(str(path), data, 16000, subtype="PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = audio_io.read_audio(str(path))
    assert out.dtype == np.float32


# --- decoding ------------------------------------------------------------------------

def test_stereo_mixed_to_mean(tmp_path):
    left = _sine(300, 0.5, 16000, 0.4)
    right = _sine(500, 0.5, 16000, 0.2)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    out = audio_io.read_audio(str(path), sample_rate=16000)
    np.testing.assert_allclose(out, (left + right) / 2, atol=1e-7)
    assert out.ndim == 1 and out.dtype == np.float32


def test_resample_22050_to_16000_keeps_frequency(tmp_path):
    path = tmp_path / "s.wav"
    soundfile.write(str(path), _sine(440.0, 2.0, 22050), 22050, subtype="PCM_16")
    out = audio_io.read_audio(str(path))
    assert out.shape == (32000,)
    assert out.dtype == np.float32
    assert abs(_peak_hz(out, 16000) - 440.0) < 1.0
    # Amplitude survives a high-quality resampler (away from the edges).
    assert np.max(np.abs(out[1000:-1000])) == pytest.approx(0.5, abs=0.01)


def test_native_rate_kept_with_none(tmp_path):
    path = write_tone(str(tmp_path / "a.wav"), 0.5, sample_rate=22050)
    assert audio_io.read_audio(path, sample_rate=None).shape == (11025,)


def test_segment_cut_reads_exact_frames(tmp_path):
    ramp = (np.arange(16000, dtype=np.float32) / 16000.0) - 0.5
    path = tmp_path / "ramp.wav"
    soundfile.write(str(path), ramp, 16000, subtype="FLOAT")
    out = audio_io.read_audio(str(path), start_s=0.25, end_s=0.5)
    np.testing.assert_array_equal(out, ramp[4000:8000])
    np.testing.assert_array_equal(audio_io.read_audio(str(path), start_s=0.75),
                                  ramp[12000:])
    np.testing.assert_array_equal(audio_io.read_audio(str(path), end_s=0.1), ramp[:1600])
    # A small overshoot of the end (annotation rounding) is clamped to the file end.
    assert len(audio_io.read_audio(str(path), start_s=0.9, end_s=1.02)) == 1600


def test_segment_resampled(tmp_path):
    path = tmp_path / "s.wav"
    soundfile.write(str(path), _sine(440.0, 2.0, 22050), 22050, subtype="PCM_16")
    out = audio_io.read_audio(str(path), start_s=0.5, end_s=1.5)
    assert out.shape == (16000,)
    assert abs(_peak_hz(out, 16000) - 440.0) < 1.5


def test_flac_decodes_exactly(tmp_path):
    data = _sine(250.0, 0.5, 16000, 0.25)
    path = tmp_path / "a.flac"
    soundfile.write(str(path), data, 16000, subtype="PCM_16")
    out = audio_io.read_audio(str(path))
    np.testing.assert_allclose(out, data, atol=1.0 / 32768)
    assert audio_io.probe(str(path)).format == "FLAC"


def test_ogg_decodes(tmp_path):
    path = tmp_path / "a.ogg"
    soundfile.write(str(path), _sine(300.0, 1.0, 16000, 0.3), 16000)
    info = audio_io.probe(str(path))
    assert (info.format, info.sample_rate, info.frames) == ("OGG", 16000, 16000)
    out = audio_io.read_audio(str(path))
    assert out.shape == (16000,)
    assert abs(_peak_hz(out, 16000) - 300.0) < 2.0


@pytest.mark.skipif("MP3" not in soundfile.available_formats(),
                    reason="this libsndfile build has no MP3 support")
def test_mp3_decodes(tmp_path):
    path = tmp_path / "a.mp3"
    soundfile.write(str(path), _sine(300.0, 1.0, 16000, 0.3), 16000)
    out = audio_io.read_audio(str(path))
    assert abs(len(out) - 16000) < 2000
    assert abs(_peak_hz(out, 16000) - 300.0) < 3.0


# --- probe and check_audio -------------------------------------------------------------

def test_probe_reads_header(tmp_path):
    path = write_tone(str(tmp_path / "st.wav"), 0.75, sample_rate=22050, channels=2)
    info = audio_io.probe(path)
    assert info == audio_io.AudioInfo(sample_rate=22050, channels=2, frames=16538,
                                      duration_s=16538 / 22050, format="WAV",
                                      subtype="PCM_16")


def test_check_audio_lists_problems(tmp_path):
    good = write_tone(str(tmp_path / "good.wav"), 0.5)
    silent = tmp_path / "silent.wav"
    soundfile.write(str(silent), np.zeros(8000, dtype=np.float32), 16000, subtype="PCM_16")
    stub = tmp_path / "stub.wav"
    stub.write_text("version https://git-lfs.github.com/spec/v1\nsize 3\n")
    assert audio_io.check_audio(good) == []
    assert audio_io.check_audio(str(silent))[0].startswith("silent: RMS -inf dBFS")
    assert "git-LFS" in audio_io.check_audio(str(stub))[0]
    assert audio_io.check_audio(str(tmp_path / "none.wav")) == ["file not found"]
    assert "shorter than the minimum" in audio_io.check_audio(good, min_duration_s=1.0)[0]


def test_rms_dbfs():
    assert audio_io.rms_dbfs(np.zeros(10)) == float("-inf")
    assert audio_io.rms_dbfs(np.ones(10)) == pytest.approx(0.0)
    assert audio_io.rms_dbfs(np.full(10, 0.1)) == pytest.approx(-20.0)
