"""Label fields: one head per view, masks become weights, traces align with frames."""

import numpy as np
import pytest

from tfser import labels
from tfser.features import example_codec
from tfser.beam import label_fields

SPEC = {
    "class_mapping": "exclude_other",
    "views": [
        {"name": "emotion", "kind": "hard"},
        {"name": "soft", "kind": "soft", "params": {"a": 0.75}},
        {"name": "secondary", "kind": "secondary", "params": {"normalize": True}},
        {"name": "rater", "kind": "per_rater"},
        {"name": "dims", "kind": "dimensional"},
        {"name": "speaker", "kind": "speaker"},
    ],
}


@pytest.fixture(scope="module")
def derived(synth_table):
    return labels.derive(synth_table, SPEC)


def test_one_field_per_view_with_shapes_and_names(derived):
    specs = {s.head: s for s in label_fields.label_field_specs(derived)}
    assert list(specs) == [v["name"] for v in SPEC["views"]]
    assert specs["emotion"].shape == () and specs["emotion"].classes[0] == "angry"
    assert specs["soft"].shape == (8,)
    assert specs["rater"].shape == (10, 8) and specs["rater"].element_mask
    assert specs["dims"].shape == (3,) and specs["dims"].classes == (
        "arousal", "dominance", "valence")
    assert specs["speaker"].classes[0] == "synthetic:S01F"
    meta = label_fields.label_metadata(derived)
    assert meta["rater"]["raters"][0] == "synthetic:R01"
    assert meta["dims"]["target_range"] == [-1.0, 1.0]


def test_masked_views_keep_their_head_with_zero_weight(derived):
    hard = derived["emotion"]
    tied = int(np.flatnonzero(~hard.mask & (np.asarray(hard.status) == "tie"))[0])
    values = label_fields.label_values(derived, tied)
    assert set(values) == {v["name"] for v in SPEC["views"]}
    assert values["emotion"].weight == 0.0 and values["emotion"].value == -1
    assert values["soft"].weight == 1.0
    assert label_fields.has_any_label(values)


def test_per_rater_and_dimensional_element_masks(derived):
    index = 0
    rater = label_fields.label_values(derived, index)["rater"]
    rated = derived["rater"].mask[index]
    assert rater.element_mask.shape == (10, 8)
    np.testing.assert_array_equal(rater.element_mask[:, 0], rated.astype(np.float32))
    assert rater.weight == 1.0
    dims = label_fields.label_values(derived, index)["dims"]
    np.testing.assert_array_equal(dims.element_mask, derived["dims"].mask[index])


def test_a_recording_without_ratings_has_no_label(derived, synth_table):
    index = int(np.flatnonzero(synth_table.utterances["utt_id"].str.startswith("cont_"))[0])
    values = label_fields.label_values(derived, index)
    without_speaker = {k: v for k, v in values.items() if k != "speaker"}
    assert not label_fields.has_any_label(without_speaker)


def test_values_encode_with_the_codec(derived):
    specs = {s.head: s for s in label_fields.label_field_specs(derived)}
    features = {"x": np.zeros(2, np.float32)}
    serialized = example_codec.encode_example({"utt_id": "u"}, features,
                                              label_fields.label_values(derived, 5), specs)
    decoded = example_codec.decode_example(serialized, [example_codec.FeatureSpec("x", 2)],
                                           list(specs.values()))
    assert decoded["targets"]["rater"].shape == (10, 8)
    assert decoded["masks"]["dims"].shape == (3,)


def test_consensus_traces_load_as_columns(synth_table):
    targets = label_fields.load_trace_targets(synth_table, "cont_S01F_001", rate_hz=10.0)
    assert targets.shape == (205, 3)
    assert label_fields.load_trace_targets(synth_table, "utt_S01F_0001") is None
    with pytest.raises(ValueError, match="expected 25.0 Hz"):
        label_fields.load_trace_targets(synth_table, "cont_S01F_001", rate_hz=25.0)
    au = label_fields.load_feature_trace(synth_table, "cont_S01F_001", "au", 10.0)
    assert au.shape == (205, 10)


def test_alignment_shifts_the_targets_and_truncates_to_the_shortest():
    features = {"f": np.arange(20, dtype=np.float32).reshape(10, 2),
                "au": np.zeros((12, 3), np.float32)}
    targets = np.arange(11, dtype=np.float32)[:, None]
    shift = label_fields.shift_frames(0.2, 10.0)
    aligned, target = label_fields.align_sequences(features, targets, shift)
    assert shift == 2
    # Feature frame k is paired with the rating given 0.2 s later.
    np.testing.assert_array_equal(target[:, 0], np.arange(2, 11))
    assert aligned["f"].shape == (9, 2) and aligned["au"].shape == (9, 3)
    with pytest.raises(ValueError, match="no frames left"):
        label_fields.align_sequences(features, targets, 11)
    with pytest.raises(ValueError, match=">= 0"):
        label_fields.shift_frames(-0.5, 10.0)
