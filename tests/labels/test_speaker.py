"""Speaker-id targets."""

import numpy as np
import pytest

from tfser.labels import derive
from tfser.labels.speaker import speaker_index

from tests.labels.builders import make_table, rating


def test_speaker_index_default_vocabulary_is_sorted():
    index, mask, vocab = speaker_index(["crema:1002", "crema:1001", None, "crema:1002"])
    assert vocab == ("crema:1001", "crema:1002")
    assert index.tolist() == [1, 0, -1, 1]
    assert mask.tolist() == [True, True, False, True]


def test_fixed_vocabulary_masks_unseen_speakers():
    index, mask, _ = speaker_index(["a", "b", "c"], vocabulary=["c", "a"])
    assert index.tolist() == [1, -1, 0]
    assert mask.tolist() == [True, False, True]
    with pytest.raises(ValueError, match="duplicates"):
        speaker_index(["a"], vocabulary=["a", "a"])


def test_speaker_view():
    table = make_table([rating("u1", "e1", "sad"), rating("u2", "e1", "sad"),
                        rating("u3", "e1", "sad")],
                       speakers={"u1": "unit:B", "u2": "unit:A", "u3": "unit:B"})
    view = derive(table, {"views": [{"name": "spk", "kind": "speaker"}]})["spk"]
    assert view.metadata["vocabulary"] == ("unit:A", "unit:B")
    np.testing.assert_array_equal(view.values, [1, 0, 1])
    assert view.mask.all()
