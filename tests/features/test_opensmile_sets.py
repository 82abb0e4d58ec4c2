"""Named openSMILE sets: dimensions, the 45-dim emobase set of paper 002, errors, pickling."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from tfser.features import frames, opensmile_sets
from tfser.features.smile import make_smile
from tfser.testing.audio import tone

RATE = 16000


@pytest.fixture(scope="module")
def signal():
    return tone(1.0, RATE, f0=160.0)


@pytest.mark.parametrize("name, shape", [
    ("egemaps_functionals", (88,)), ("compare_functionals", (6373,)),
    ("egemaps_lld", (None, 25)), ("emobase_lld", (None, 45)), ("mfcc_lld", (None, 36)),
])
def test_every_set_has_its_promised_shape_and_names(signal, name, shape):
    spec = opensmile_sets.get_spec(name)
    values = opensmile_sets.extract(signal, RATE, name)
    assert values.dtype == np.float32
    assert np.isfinite(values).all()
    assert values.shape[-1] == spec.dim == shape[-1]
    assert values.ndim == len(shape)
    assert spec.is_functionals == (len(shape) == 1)
    names = opensmile_sets.feature_names(spec)
    assert len(names) == spec.dim and len(set(names)) == spec.dim
    if not spec.is_functionals:
        assert spec.frame_rate_hz == 100.0
        # 10 ms step: about one frame per 10 ms, minus the frames that do not fit.
        assert 90 <= values.shape[0] <= 100


def test_emobase_45_columns_are_the_ones_paper_002_lists():
    names = opensmile_sets.feature_names("emobase_lld")
    mfcc = [f"mfcc_sma[{i}]" for i in range(1, 13)]
    base = mfcc + ["pcm_loudness_sma", "F0_sma", "voiceProb_sma", "pcm_zcr_sma"]
    first = [f"mfcc_sma_de[{i}]" for i in range(1, 13)] + [
        "pcm_loudness_sma_de", "F0_sma_de", "voiceProb_sma_de", "pcm_zcr_sma_de"]
    second = [f"mfcc_sma_de_de[{i}]" for i in range(1, 13)] + ["pcm_loudness_sma_de_de"]
    assert names == base + first + second
    assert not any(n.startswith(("lspFreq", "pcm_intensity", "F0env")) for n in names)


def test_mfcc_lld_is_the_mfcc_columns_of_emobase_lld(signal):
    names = opensmile_sets.feature_names("emobase_lld")
    mfcc = opensmile_sets.feature_names("mfcc_lld")
    assert len(mfcc) == 36 and all(name.startswith("mfcc_sma") for name in mfcc)
    emobase = opensmile_sets.extract(signal, RATE, "emobase_lld")
    np.testing.assert_array_equal(opensmile_sets.extract(signal, RATE, "mfcc_lld"),
                                  emobase[:, [names.index(name) for name in mfcc]])


def test_emobase_deltas_match_opensmiles_own_delta_level(signal):
    values = opensmile_sets.extract(signal, RATE, "emobase_lld")
    lld = make_smile("emobase", "LowLevelDescriptors").process_signal(signal, RATE)
    lld_de = make_smile("emobase", "LowLevelDescriptors_Deltas").process_signal(signal, RATE)
    names = opensmile_sets.feature_names("emobase_lld")
    length = values.shape[0]
    assert len(lld) == length
    for k, name in enumerate(names):
        if "_de_de" in name:
            first = values[:, names.index(name.replace("_de_de", "_de"))]
            expected = frames.delta_regression(first[:, None])[:, 0]
        elif "_de" in name:
            expected = lld_de[name].to_numpy()[:length]
        else:
            expected = lld[name].to_numpy()
        np.testing.assert_allclose(values[:, k], expected, rtol=1e-4, atol=1e-4,
                                   err_msg=name)


def test_extractor_pickles_without_its_smile_and_gives_the_same_features(signal):
    extractor = opensmile_sets.Extractor("egemaps_functionals")
    fresh = pickle.loads(pickle.dumps(extractor))
    assert fresh._smile is None  # built lazily, e.g. in DoFn.setup()
    first = fresh(signal, RATE)
    used = pickle.loads(pickle.dumps(fresh))  # a used extractor pickles too
    np.testing.assert_array_equal(used.setup()(signal, RATE), first)
    np.testing.assert_array_equal(opensmile_sets.extract(signal, RATE, "egemaps_functionals"),
                                  first)


def test_too_short_signal_raises_instead_of_returning_nan():
    with pytest.raises(ValueError, match=r"egemaps_lld returned 25 NaN.*0\.006 s"):
        opensmile_sets.extract(tone(0.00625, RATE), RATE, "egemaps_lld")


@pytest.mark.parametrize("bad, message", [
    (np.zeros((100, 2), np.float32), "mono 1-D"), (np.zeros(0, np.float32), "empty"),
    (np.zeros(1000, np.int16), "float"), (np.full(1000, np.nan, np.float32), "NaN"),
])
def test_bad_signals(bad, message):
    with pytest.raises(ValueError, match=message):
        opensmile_sets.extract(bad, RATE, "egemaps_functionals")


def test_unknown_set_and_inconsistent_specs():
    with pytest.raises(ValueError, match="unknown openSMILE feature set 'mfcc'"):
        opensmile_sets.get_spec("mfcc")
    wrong_dim = opensmile_sets.FeatureSetSpec("x", "eGeMAPSv02", "Functionals", dim=80)
    with pytest.raises(ValueError, match="promises 80 features but .* gives 88"):
        opensmile_sets.Extractor(wrong_dim).setup()
    missing = opensmile_sets.FeatureSetSpec("y", "emobase", "LowLevelDescriptors", dim=1,
                                            frame_rate_hz=100.0, columns=("nope_de",))
    with pytest.raises(ValueError, match="has no column 'nope'"):
        opensmile_sets.Extractor(missing).setup()


_NO_TF_SCRIPT = """
import json, sys
import numpy as np
from tfser.features import augment, frames, opensmile_sets
signal = (0.3 * np.sin(2 * np.pi * 150 * np.arange(8000) / 16000)).astype(np.float32)
shape = opensmile_sets.extract(signal, 16000, "emobase_lld").shape
augment.speed_perturb(signal, 16000, 1.1)
print(json.dumps({"shape": list(shape), "tf": "tensorflow" in sys.modules}))
"""


def test_numpy_front_ends_do_not_import_tensorflow():
    done = subprocess.run([sys.executable, "-c", _NO_TF_SCRIPT], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["shape"][1] == 45
    assert result["tf"] is False
