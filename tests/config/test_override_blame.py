"""A config error after --params_override names the override, not the file it came over."""

import pytest

from tfser.config import overrides


def _build(data):
    unknown = sorted(set(data) - {"epochs", "seed"})
    if unknown:
        raise ValueError(f"unknown keys {unknown}")
    if not isinstance(data.get("epochs", 1), int):
        raise ValueError("epochs must be an integer")
    return data


def test_the_first_override_that_breaks_the_config_is_named():
    with pytest.raises(ValueError, match=r"^--params_override 'epochz=3' \(over base.yaml\): "
                                         r"unknown keys \['epochz'\]$"):
        overrides.build_with_overrides({"epochs": 2}, ["seed=1,epochz=3"], _build,
                                       "base.yaml")
    with pytest.raises(ValueError, match=r"^--params_override 'epochs=x'"):
        overrides.build_with_overrides({"epochs": 2}, ["seed=1", "epochs=x"], _build,
                                       "base.yaml")


def test_a_bad_file_is_named_when_the_overrides_are_innocent():
    with pytest.raises(ValueError, match=r"^base.yaml: unknown keys \['bad'\]$"):
        overrides.build_with_overrides({"bad": 1}, ["seed=1"], _build, "base.yaml")
    assert overrides.build_with_overrides({"epochs": 2}, ["seed=1"], _build, "b") == {
        "epochs": 2, "seed": 1}
