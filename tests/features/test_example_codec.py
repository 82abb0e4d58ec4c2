"""TFRecord schema: encode -> parse round trip, masking of missing labels, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from tfser.features import example_codec as codec

FEATURES = [codec.FeatureSpec("egemaps_functionals", 4),
            codec.FeatureSpec("logspec_001", 3, sequence=True, frame_rate_hz=100.0)]
LABELS = [codec.LabelFieldSpec("primary", "hard", (), ("a", "b", "c")),
          codec.LabelFieldSpec("secondary", "secondary", (3,), ("a", "b", "c")),
          codec.LabelFieldSpec("raters", "per_rater", (2, 3), ("r1", "r2"), element_mask=True)]
SPECS = {spec.head: spec for spec in LABELS}


def _example(utt="u1", frames=5, with_secondary=True):
    features = {"egemaps_functionals": np.arange(4, dtype=np.float32),
                "logspec_001": np.arange(frames * 3, dtype=np.float32).reshape(frames, 3)}
    labels = {"primary": codec.LabelValue(np.array(2), 1.0),
              "raters": codec.LabelValue(np.eye(3)[[0, 1]], 1.0, np.array([[1] * 3, [0] * 3]))}
    if with_secondary:
        labels["secondary"] = codec.LabelValue(np.array([0.5, 0, 0.5]), 1.0)
    meta = {"utt_id": utt, "speaker_id": "s1", "session_id": "ses", "group": "s1"}
    return codec.encode_example(meta, features, labels, SPECS)


def test_round_trip():
    out = codec.decode_example(_example(), FEATURES, LABELS)
    assert out["meta"]["utt_id"] == "u1" and out["meta"]["variant"] == ""
    np.testing.assert_array_equal(out["features"]["logspec_001"],
                                  np.arange(15, dtype=np.float32).reshape(5, 3))
    assert out["targets"]["primary"] == 2
    np.testing.assert_allclose(out["targets"]["secondary"], [0.5, 0, 0.5])
    assert out["targets"]["raters"].shape == (2, 3)
    np.testing.assert_array_equal(out["masks"]["raters"][1], [0, 0, 0])
    assert out["weights"] == {"primary": 1.0, "secondary": 1.0, "raters": 1.0}


def test_missing_label_is_masked_not_dropped():
    out = codec.decode_example(_example(with_secondary=False), FEATURES, LABELS)
    assert out["weights"]["secondary"] == 0.0
    np.testing.assert_array_equal(out["targets"]["secondary"], [0, 0, 0])


def test_parser_in_tf_data_with_variable_lengths():
    records = [_example("u1", 5), _example("u2", 7)]
    parse = codec.make_parser(FEATURES, LABELS)
    dataset = tf.data.Dataset.from_tensor_slices(records).map(parse)
    lengths = [int(f["logspec_001"].shape[0]) for _, f, _, _, _ in dataset]
    assert lengths == [5, 7]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="u9: feature 'egemaps_functionals' contains NaN"):
        codec.encode_example({"utt_id": "u9"}, {"egemaps_functionals": np.array([np.nan])},
                             {}, SPECS)
    with pytest.raises(ValueError, match="label 'secondary' has 2 values"):
        codec.encode_example({"utt_id": "u9"}, {},
                             {"secondary": codec.LabelValue(np.zeros(2), 1.0)}, SPECS)


def test_specs_serialise():
    for spec in LABELS:
        assert codec.LabelFieldSpec.from_dict(spec.to_dict()) == spec
    for spec in FEATURES:
        assert codec.FeatureSpec.from_dict(spec.to_dict()) == spec


def test_sequence_labels_for_continuous_heads():
    specs = {"traces": codec.LabelFieldSpec("traces", "dimensional", (3,),
                                            ("arousal", "valence", "liking"), sequence=True)}
    trace = np.linspace(-1, 1, 30, dtype=np.float32).reshape(10, 3)
    record = codec.encode_example({"utt_id": "rec"}, {"au": np.ones((10, 2), np.float32)},
                                  {"traces": codec.LabelValue(trace, 1.0)}, specs)
    out = codec.decode_example(record, [codec.FeatureSpec("au", 2, True, 10.0)],
                               list(specs.values()))
    np.testing.assert_array_equal(out["targets"]["traces"], trace)
    empty = codec.decode_example(codec.encode_example({"utt_id": "x"}, {}, {}, specs), [],
                                 list(specs.values()))
    assert empty["targets"]["traces"].shape == (0, 3) and empty["weights"]["traces"] == 0.0
