"""Heads: output shapes and ranges per head type, naming, and config checks."""

import numpy as np
import pytest
import keras

from tfser.features import example_codec as codec
from tfser.models import build_model
from tfser.config.checks import ConfigError
from tfser.models.config import FeatureInput, HeadConfig, TrunkConfig
from tfser.models.heads import HEADS, build_heads
from tests.models.builders import features_for, model_config

HEAD_CASES = {
    "categorical": ({"name": "primary", "kind": "hard", "units": 4, "hidden": [5],
                     "dropout": 0.2}, (4,)),
    "speaker": ({"name": "speaker", "kind": "speaker", "units": 7}, (7,)),
    "multilabel": ({"name": "secondary", "kind": "secondary", "units": 4}, (4,)),
    "existence": ({"name": "existence", "kind": "existence", "units": 4}, (4,)),
    "per_rater": ({"name": "raters", "kind": "per_rater", "units": 4,
                   "params": {"num_raters": 3}}, (3, 4)),
    "regression": ({"name": "dims", "kind": "dimensional", "units": 2}, (2,)),
}


def test_every_head_type_has_a_case():
    assert set(HEAD_CASES) == set(HEADS)


@pytest.mark.parametrize("head_type", sorted(HEAD_CASES))
def test_head_output_shape_and_range(head_type):
    keras.utils.set_random_seed(0)
    head, shape = HEAD_CASES[head_type]
    model = build_model(model_config("dnn", [head]))
    outputs = model(features_for("dnn", [1, 1, 1]), training=False)
    assert list(outputs) == [head["name"]]
    values = np.asarray(outputs[head["name"]])
    assert values.shape == (3,) + shape
    if head_type in ("categorical", "speaker", "per_rater"):
        np.testing.assert_allclose(values.sum(axis=-1), 1.0, atol=1e-5)
    elif head_type in ("multilabel", "existence"):
        assert ((values > 0) & (values < 1)).all()


def test_rater_embedding_mode():
    keras.utils.set_random_seed(0)
    head = {"name": "raters", "kind": "per_rater", "units": 4,
            "params": {"num_raters": 50, "rater_mode": "embedding", "embedding_dim": 3}}
    model = build_model(model_config("dnn", [head]))
    assert model(features_for("dnn", [1, 1]))["raters"].shape == (2, 50, 4)
    with pytest.raises(ValueError, match="rater_mode"):
        build_model(model_config("dnn", [{**head, "params": {"num_raters": 2,
                                                             "rater_mode": "tree"}}]))


def test_frame_level_regression_and_utterance_heads_on_frames():
    keras.utils.set_random_seed(0)
    head = {"name": "trace", "kind": "dimensional", "units": 3}
    model = build_model(model_config("lstm_seq", [head]))
    assert model(features_for("lstm_seq", [5, 9]))["trace"].shape == (2, 9, 3)
    with pytest.raises(ValueError, match="pooling trunk"):
        build_model(model_config("lstm_seq", [{"name": "primary", "kind": "hard",
                                               "units": 4}]))


def test_heads_share_one_embedding_and_are_named():
    keras.utils.set_random_seed(0)
    embedding = keras.Input(shape=(6,))
    heads = [HeadConfig.from_dict(case) for case, _ in HEAD_CASES.values()]
    outputs = build_heads(heads, embedding)
    assert list(outputs) == [head.name for head in heads]
    model = keras.Model(embedding, outputs)
    for head in heads:
        assert model.get_layer(head.name) is not None
    with pytest.raises(ValueError, match="duplicate"):
        build_heads(heads + heads[:1], embedding)


def test_head_config_from_label_spec():
    per_rater = codec.LabelFieldSpec("raters", "per_rater", (5, 4), ("a", "b", "c", "d"),
                                     element_mask=True)
    head = HeadConfig.from_label_spec(per_rater, hidden=(8,))
    assert (head.units, head.params["num_raters"], head.head_type) == (4, 5, "per_rater")
    assert head.classes == ("a", "b", "c", "d") and head.hidden == (8,)
    hard = HeadConfig.from_label_spec(codec.LabelFieldSpec("primary", "hard", (), ("x", "y")))
    assert (hard.units, hard.head_type) == (2, "categorical")
    dims = HeadConfig.from_label_spec(codec.LabelFieldSpec(
        "trace", "dimensional", (3,), ("aro", "val", "lik"), sequence=True))
    assert (dims.units, dims.head_type) == (3, "regression")
    spec = codec.LabelFieldSpec("primary", "hard", (), ("x", "y"))
    assert HeadConfig.from_label_spec(spec, classes=["x", "y"]).classes == ("x", "y")
    with pytest.raises(ValueError, match="classes come from the stored label view"):
        HeadConfig.from_label_spec(spec, classes=["y", "x"])
    with pytest.raises(ValueError, match="units come from the stored label view"):
        HeadConfig.from_label_spec(spec, units=3)


@pytest.mark.parametrize("bad, match", [
    ({"name": "h", "units": 3}, "kind or a type"),
    ({"name": "h", "units": 3, "kind": "vibes"}, "unknown label kind"),
    ({"name": "h", "units": 3, "type": "ranking"}, "unknown head type"),
    ({"name": "h", "units": 0, "kind": "hard"}, "positive units"),
    ({"name": "h", "units": 2, "kind": "hard", "classes": ["a"]}, "class names"),
    ({"name": "h", "units": 2, "kind": "hard", "loss_weight": -1}, "negative loss"),
    ({"name": "h", "units": 2, "kind": "hard", "hiden": [8]},
     r"head 'h': unknown keys \['hiden'\]; allowed: \['classes'"),
])
def test_bad_head_configs_raise(bad, match):
    # Config errors are user errors (one line from a binary), and still ValueErrors.
    with pytest.raises(ConfigError, match=match):
        HeadConfig.from_dict(bad)


def test_unknown_keys_of_trunks_features_and_stored_heads_are_named():
    with pytest.raises(ConfigError, match=r"trunk: unknown keys \['layers'\]"):
        TrunkConfig.from_dict({"type": "dnn", "layers": 2})
    with pytest.raises(ConfigError, match=r"feature 'f': unknown keys \['size'\]"):
        FeatureInput.from_dict({"name": "f", "size": 3})
    spec = codec.LabelFieldSpec("emotion", "hard", (), ("a", "b", "c"))
    with pytest.raises(ConfigError, match=r"head 'emotion': unknown keys \['dropuot'\]"):
        HeadConfig.from_label_spec(spec, dropuot=0.5)


def test_per_rater_head_needs_rater_count():
    with pytest.raises(ValueError, match="num_raters"):
        build_model(model_config("dnn", [{"name": "r", "kind": "per_rater", "units": 3}]))
