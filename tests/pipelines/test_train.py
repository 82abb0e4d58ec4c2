"""tfser-train's own routing of --fold (the runs themselves: tests/training/)."""

import pytest

from pipelines import train


@pytest.mark.parametrize("value, expected", [
    (None, False), ("0", False), ("loso:synthetic:S01F", False), ("all", True),
    ("0,3", True), ("a, b", True)])
def test_the_fold_flag_routes_selections_to_cross_validation(value, expected):
    assert train.is_fold_selection(value) is expected
