"""existence_labels: multi-hot presence with a vote threshold."""

import numpy as np
import pytest

from tfser.labels.existence import existence_labels

COUNTS = np.array([[2, 1, 0], [0, 0, 0], [1, 1, 1], [3, 0, 2]])


def test_any_rater_is_enough_by_default():
    values, mask = existence_labels(COUNTS)
    np.testing.assert_array_equal(values, [[1, 1, 0], [0, 0, 0], [1, 1, 1], [1, 0, 1]])
    assert mask.tolist() == [True, False, True, True]


def test_threshold_two():
    values, mask = existence_labels(COUNTS, threshold=2)
    np.testing.assert_array_equal(values, [[1, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 1]])
    # A voted utterance with no class over the threshold is still a labelled "none".
    assert mask.tolist() == [True, False, True, True]


@pytest.mark.parametrize("threshold", [0, 1.5, True])
def test_bad_threshold(threshold):
    with pytest.raises(ValueError, match="threshold"):
        existence_labels(COUNTS, threshold=threshold)
