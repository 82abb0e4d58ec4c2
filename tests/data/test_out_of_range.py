"""The reader clips normalised features at the featurize config's clip_sigma (issue 10.8)."""

import numpy as np

from tfser import data


def _first_batch(data_dir, **kwargs):
    dataset = data.build_dataset(data_dir, 0, "train", heads=[], batch_size=1000,
                                 shuffle=False, include_variants=False, **kwargs)
    return next(iter(dataset))[0]["egemaps_functionals"].numpy()


def test_reader_clips_at_the_recorded_clip_and_counts_what_it_cut(data_000):
    info = data.load_info(data_000)
    assert info.clip_sigma == 6.0 == info.raw["config"]["clip_sigma"]
    unclipped = _first_batch(data_000, clip_sigma=None)
    clipped = _first_batch(data_000)
    inside = np.abs(unclipped) <= 6.0
    assert np.array_equal(clipped[inside], unclipped[inside])
    assert np.abs(clipped).max() <= 6.0
    counts = data.out_of_range_counts(data_000)["egemaps_functionals"]
    assert counts["values"] == unclipped.size
    assert counts["clipped"] == int(np.count_nonzero(~inside))
    assert counts["max_abs_z"] == float(np.abs(unclipped).max())
    # A tighter clip cuts more (the threshold is the caller's when given).
    assert data.out_of_range_counts(data_000, clip_sigma=3.0)["egemaps_functionals"][
        "clipped"] >= counts["clipped"]
