"""build_dataset on a hand-written data directory: shapes, masks, normalisation, order."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfser import data
from tests.data import builders


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return builders.write_fake_data_dir(str(tmp_path_factory.mktemp("features")))


def _collect(dataset):
    return list(dataset.as_numpy_iterator())


def _utts(dataset):
    return [u.decode() for batch in dataset.as_numpy_iterator() for u in batch[3]["utt_id"]]


def test_shapes_after_padded_batching(fake):
    dataset = data.build_dataset(fake.root, fold=0, part="dev", batch_size=4,
                                 return_meta=True)
    (x, y, w, meta), = _collect(dataset)
    utts = [u.decode() for u in meta["utt_id"]]
    frames = [fake.raw[u]["spec"].shape[0] for u in utts]
    assert x["func"].shape == (4, 4)
    assert x["spec"].shape == (4, max(frames), 3)
    np.testing.assert_array_equal(x["spec_length"], frames)
    assert x["spec_length"].dtype == np.int32
    # Padding is zero past each example's length.
    for row, n in enumerate(frames):
        assert not x["spec"][row, n:].any()
    assert y["primary"].shape == (4,) and y["primary"].dtype == np.int64
    assert y["raters"].shape == (4, 2, 3) and y["dims"].shape == (4, 2)
    assert y["trace"].shape == (4, max(frames), 2)
    assert w["primary"].shape == (4,) and w["raters"].shape == (4, 2)
    assert w["dims"].shape == (4, 2) and w["trace"].shape == (4, max(frames))
    np.testing.assert_array_equal(w["trace"].sum(axis=1), frames)


def test_missing_labels_get_zero_weight(fake):
    (x, y, w, meta), = _collect(data.build_dataset(fake.root, 0, "dev", batch_size=4,
                                                   return_meta=True))
    index = [int(u.decode().split("_")[1]) for u in meta["utt_id"]]
    expected = [0.0 if builders.PRIMARY[i] is None else 1.0 for i in index]
    np.testing.assert_array_equal(w["primary"], expected)
    # The stored placeholder -1 becomes class 0, so a sparse cross-entropy stays finite.
    np.testing.assert_array_equal(y["primary"], [builders.PRIMARY[i] or 0 for i in index])
    # Rater 2 rated odd originals only; the valence of original 1 is missing.
    np.testing.assert_array_equal(w["raters"], [[1, i % 2] for i in index])
    np.testing.assert_array_equal(w["dims"], [[1, float(i != 1)] for i in index])


def test_global_normalisation_uses_the_folds_training_speakers(fake):
    for fold in (0, 1):
        dataset = data.build_dataset(fake.root, fold, "dev", batch_size=8,
                                     normalisation="global", return_meta=True)
        (x, _, _, meta), = _collect(dataset)
        for name in ("func", "spec"):
            mean, std = (np.asarray(v) for v in fake.global_stats[fold][name])
            for row, utt in enumerate(meta["utt_id"]):
                value = fake.raw[utt.decode()][name]
                got = x[name][row, :len(value)] if value.ndim == 2 else x[name][row]
                # Dev speakers of the fake lie up to 14 sigma out: clipped at the
                # directory's clip_sigma (the default 6, as the fake records none).
                expected = np.clip((value - mean) / std, -6.0, 6.0)
                np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_global_normalisation_without_clip_is_the_plain_z_score(fake):
    dataset = data.build_dataset(fake.root, 0, "dev", batch_size=8, normalisation="global",
                                 return_meta=True, clip_sigma=None)
    (x, _, _, meta), = _collect(dataset)
    mean, std = (np.asarray(v) for v in fake.global_stats[0]["func"])
    for row, utt in enumerate(meta["utt_id"]):
        np.testing.assert_allclose(x["func"][row], (fake.raw[utt.decode()]["func"] - mean)
                                   / std, rtol=1e-5, atol=1e-5)


def test_training_data_normalised_with_its_own_stats_is_centred(fake):
    dataset = data.build_dataset(fake.root, 0, "train", batch_size=8, shuffle=False,
                                 include_variants=False, normalisation="global")
    (x, _, _), = _collect(dataset)
    np.testing.assert_allclose(x["func"].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x["func"].std(axis=0), 1.0, atol=1e-4)


def test_per_speaker_normalisation(fake):
    # "auto" takes per_speaker for "spec" from the sidecar; fold 1 dev is spkA.
    dataset = data.build_dataset(fake.root, 1, "dev", batch_size=8, return_meta=True)
    (x, _, _, meta), = _collect(dataset)
    mean, std = (np.asarray(v) for v in fake.speaker_stats["spkA"]["spec"])
    for row, utt in enumerate(meta["utt_id"]):
        value = fake.raw[utt.decode()]["spec"]
        np.testing.assert_allclose(x["spec"][row, :len(value)], (value - mean) / std,
                                   rtol=1e-5, atol=1e-5)
    # Speakers at different levels all come out centred.
    (x, _, _), = _collect(data.build_dataset(
        fake.root, 1, "train", batch_size=16, shuffle=False, include_variants=False,
        normalisation={"func": "per_speaker"}))
    np.testing.assert_allclose(x["func"][:4].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x["func"][4:].mean(axis=0), 0.0, atol=1e-5)


def test_normalisation_none_passes_raw_values(fake):
    (x, _, _, meta), = _collect(data.build_dataset(fake.root, 0, "test", batch_size=8,
                                                   normalisation="none", return_meta=True))
    for row, utt in enumerate(meta["utt_id"]):
        np.testing.assert_array_equal(x["func"][row], fake.raw[utt.decode()]["func"])


def test_evaluation_order_is_deterministic_and_follows_the_files(fake):
    first = _utts(data.build_dataset(fake.root, 0, "train", batch_size=3, shuffle=False,
                                     return_meta=True))
    assert first == fake.order["spkA"]
    dev = data.build_dataset(fake.root, 1, "train", batch_size=3, return_meta=True,
                             shuffle=False, include_variants=False)
    assert _utts(dev) == [u for s in ("spkB", "spkC") for u in fake.order[s] if "@" not in u]
    by_name = data.build_dataset(fake.root, "fold1", "train", batch_size=3, return_meta=True,
                                 shuffle=False, include_variants=False)
    assert _utts(by_name) == _utts(dev)


def test_shuffled_training_order_is_reproducible_with_a_seed(fake):
    def order(seed):
        return _utts(data.build_dataset(fake.root, 1, "train", batch_size=5, seed=seed,
                                        deterministic=True, return_meta=True))

    first = order(3)
    assert first == order(3)
    assert sorted(first) == sorted(fake.order["spkB"] + fake.order["spkC"])
    assert first != fake.order["spkB"] + fake.order["spkC"]


def test_variants_kept_for_training_only_by_default(fake):
    train = _utts(data.build_dataset(fake.root, 0, "train", return_meta=True))
    assert len(train) == 8 and sum("@speed0.9" in u for u in train) == 4
    originals = _utts(data.build_dataset(fake.root, 0, "train", include_variants=False,
                                         return_meta=True))
    assert len(originals) == 4 and not any("@" in u for u in originals)
    # Only training parts list augmented copies.
    dev = _utts(data.build_dataset(fake.root, 0, "dev", include_variants=True,
                                   return_meta=True))
    assert len(dev) == 4 and not any("@" in u for u in dev)


def test_selection_and_no_lengths(fake):
    x, y, w = next(iter(data.build_dataset(fake.root, 0, "dev", features=["func"],
                                           heads=["primary"], batch_size=2)))
    assert set(x) == {"func"} and set(y) == {"primary"} and set(w) == {"primary"}
    x, _, _ = next(iter(data.build_dataset(fake.root, 0, "dev", features="spec", heads=[],
                                           lengths=False)))
    assert set(x) == {"spec"}


def test_bucketing_pads_within_buckets(fake):
    dataset = data.build_dataset(fake.root, 1, "train", batch_size=2, pad_to_bucket=[5],
                                 deterministic=True)
    seen = 0
    for x, y, w in dataset:
        lengths = x["spec_length"].numpy()
        # Each batch stays on one side of the boundary and pads to its own maximum.
        assert (lengths < 5).all() or (lengths >= 5).all()
        assert x["spec"].shape[1] == lengths.max() == y["trace"].shape[1]
        seen += len(lengths)
    assert seen == 16


def test_cache_gives_the_same_batches(fake, tmp_path):
    plain = _collect(data.build_dataset(fake.root, 0, "dev", batch_size=3))
    for cache in (True, str(tmp_path / "cache")):
        cached = data.build_dataset(fake.root, 0, "dev", batch_size=3, cache=cache)
        for _ in range(2):  # the second pass reads the cache
            for a, b in zip(plain, _collect(cached)):
                np.testing.assert_array_equal(a[0]["spec"], b[0]["spec"])


def test_repeat_and_drop_remainder(fake):
    dataset = data.build_dataset(fake.root, 1, "train", batch_size=5, repeat=True,
                                 drop_remainder=True)
    shapes = [x["func"].shape[0] for x, _, _ in dataset.take(7)]
    assert shapes == [5] * 7


def test_steps_per_epoch_and_counts(fake, tmp_path):
    assert data.steps_per_epoch(fake.root, 1, "train", batch_size=5) == 4
    assert data.steps_per_epoch(fake.root, 1, "train", 5, drop_remainder=True) == 3
    assert data.steps_per_epoch(fake.root, 1, "dev", batch_size=3) == 2
    # Without counts in the sidecar the files are read.
    bare = builders.write_fake_data_dir(str(tmp_path), with_counts=False)
    assert data.count_examples(bare.root, 1, "train") == 16
    assert data.count_examples(bare.root, 1, "train", include_variants=False) == 8
    assert data.count_examples(bare.root, 0, "dev") == 4


def test_class_weights_are_inverse_frequency(fake):
    # Fold 1 trains on spkB and spkC: primary classes a, b, (unlabelled), a each.
    weights = data.class_weights(fake.root, 1, "primary")
    counts = np.array([4.0, 2.0, 0.0])
    np.testing.assert_allclose(weights, [6 / (2 * 4), 6 / (2 * 2), 0.0], rtol=1e-6)
    np.testing.assert_allclose((weights * counts).sum(), counts.sum(), rtol=1e-6)
    # Per-rater head: rater rows are counted where the rater rated.
    rater_weights = data.class_weights(fake.root, 0, "raters")
    assert rater_weights.shape == (3,) and np.all(rater_weights > 0)


def test_training_targets_stack_the_training_originals(fake):
    # Fold 1 trains on spkB and spkC; their speed copies are left out.
    targets, weights = data.training_targets(fake.root, 1, "exists")
    np.testing.assert_array_equal(targets, np.array(builders.EXISTS * 2, dtype=np.float32))
    np.testing.assert_array_equal(weights, np.ones(8))
    targets, weights = data.training_targets(fake.root, 1, "primary")
    np.testing.assert_array_equal(targets, [0, 1, -1, 0] * 2)
    np.testing.assert_array_equal(weights, [1, 1, 0, 1] * 2)
    with pytest.raises(ValueError, match="frame-level"):
        data.training_targets(fake.root, 0, "trace")


def test_clear_errors(fake, tmp_path):
    with pytest.raises(ValueError, match=r"unknown fold 5; .* folds 0\.\.1"):
        data.build_dataset(fake.root, fold=5)
    with pytest.raises(ValueError, match=r"unknown part 'valid'.*\['train', 'dev', 'test'\]"):
        data.build_dataset(fake.root, part="valid")
    with pytest.raises(ValueError, match=r"unknown features \['mfcc'\]; valid: \['func'"):
        data.build_dataset(fake.root, features=["mfcc"])
    with pytest.raises(ValueError, match=r"unknown heads \['emotion'\]; valid: \['primary'"):
        data.build_dataset(fake.root, heads=["emotion"])
    with pytest.raises(ValueError, match="normalisation 'minmax' is not one of"):
        data.build_dataset(fake.root, normalisation="minmax")
    with pytest.raises(ValueError, match="lists no files"):
        data.build_dataset(fake.root, fold=1, part="test")
    with pytest.raises(ValueError, match="pad_to_bucket needs a sequence"):
        data.build_dataset(fake.root, features=["func"], heads=["primary"],
                           pad_to_bucket=[4])
    with pytest.raises(ValueError, match="strictly increasing"):
        data.build_dataset(fake.root, pad_to_bucket=[8, 4])
    with pytest.raises(ValueError, match="has no class distribution"):
        data.class_weights(fake.root, 0, "trace")
    with pytest.raises(FileNotFoundError, match="dataset_info.json not found"):
        data.build_dataset(str(tmp_path))
    broken = builders.write_fake_data_dir(str(tmp_path / "broken"))
    os.remove(os.path.join(broken.root, "examples", "spkB-00000-of-00001.tfrecord"))
    with pytest.raises(FileNotFoundError, match="1 of 1 files of fold 0 part 'dev'"):
        data.build_dataset(broken.root, 0, "dev")


def test_keras_fit_accepts_the_element_contract(fake):
    """Per-head weights of every shape go through model.fit with masked losses."""
    import keras

    class ElementSquaredError(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return tf.square(y_true - y_pred)

    spec = keras.Input((None, 3), name="spec")
    lengths = keras.Input((), dtype="int32", name="spec_length")
    # How a model turns the lengths input into a padding mask.
    mask = keras.layers.Lambda(
        lambda t: keras.ops.arange(keras.ops.shape(t[0])[1])[None, :] < t[1][:, None],
        output_shape=(None,))([spec, lengths])
    frames = keras.layers.Dense(8, activation="relu")(spec)
    pooled = keras.layers.GlobalAveragePooling1D()(frames, mask=mask)
    outputs = {"primary": keras.layers.Dense(3, activation="softmax", name="primary")(pooled),
               "raters": keras.layers.Reshape((2, 3), name="raters")(
                   keras.layers.Dense(6, activation="softmax")(pooled)),
               "dims": keras.layers.Dense(2, name="dims")(pooled),
               "trace": keras.layers.Dense(2, name="trace")(frames),
               "exists": keras.layers.Dense(3, activation="sigmoid", name="exists")(pooled)}
    model = keras.Model({"spec": spec, "spec_length": lengths}, outputs)
    model.compile("adam", loss={
        "primary": keras.losses.SparseCategoricalCrossentropy(
            reduction="mean_with_sample_weight"),
        "raters": keras.losses.CategoricalCrossentropy(reduction="mean_with_sample_weight"),
        "dims": ElementSquaredError(reduction="mean_with_sample_weight"),
        "trace": keras.losses.MeanSquaredError(reduction="mean_with_sample_weight"),
        "exists": keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight")})
    train = data.build_dataset(fake.root, 1, "train", features=["spec"], batch_size=4)
    assert int(train.cardinality()) == 4  # stated from the sidecar's counts
    history = model.fit(train, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    assert set(history.history) >= {"primary_loss", "raters_loss", "dims_loss", "trace_loss"}
