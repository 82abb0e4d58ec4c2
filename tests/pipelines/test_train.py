"""tfser-train's own flag handling (training itself is tested in tests/training/)."""

import pytest

from pipelines import train as train_binary


@pytest.mark.parametrize("value, expected", [
    (None, False), ("0", False), ("loso:synthetic:S01F", False), ("all", True),
    ("0,3", True), ("a, b", True)])
def test_the_fold_flag_routes_selections_to_cross_validation(value, expected):
    assert train_binary.is_fold_selection(value) is expected
