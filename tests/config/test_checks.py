"""The shared config checks: one message format, one user-error type."""

import dataclasses

import pytest

from tfser.config import checks
from tfser.config.errors import UserError

CHECK = checks.Checks("demo config")


def _message(call, *args, **kwargs) -> str:
    with pytest.raises(checks.ConfigError) as error:
        call(*args, **kwargs)
    return str(error.value)


def test_config_error_is_a_user_error_and_a_value_error():
    error = checks.ConfigError("x")
    assert isinstance(error, UserError) and isinstance(error, ValueError)


def test_messages_name_the_config_and_the_key():
    assert _message(CHECK.fail, "a.b", "is wrong") == "demo config: a.b: is wrong"
    assert _message(checks.Checks().fail, "a.b", "is wrong") == "a.b: is wrong"


def test_keys():
    assert CHECK.keys({"a": 1}, ("a", "b"), "top") == {"a": 1}
    assert _message(CHECK.keys, {"c": 1}, ("b", "a"), "top") == \
        "demo config: top: unknown keys ['c']; allowed: ['a', 'b']"
    assert _message(CHECK.keys, {"c": 1}, ("a",), "view 'v'", what="params") == \
        "demo config: view 'v': unknown params ['c']; allowed: ['a']"
    assert _message(CHECK.keys, [1], ("a",), "top") == \
        "demo config: top: must be a mapping, got list"


def test_fields_are_the_dataclass_field_names():
    @dataclasses.dataclass
    class Point:
        x: int = 0
        y: int = 0

    assert CHECK.fields({"x": 1}, Point, "point") == {"x": 1}
    assert "point: unknown keys ['z']; allowed: ['x', 'y']" in \
        _message(CHECK.fields, {"z": 1}, Point, "point")


def test_number():
    assert CHECK.number(2, "n") == 2.0
    # YAML 1.1 reads an exponent without a dot as a string.
    assert CHECK.number("1e-4", "n", strict=True) == 1e-4
    for bad in (True, "fast", None, float("nan"), float("inf"), -1):
        assert "n: must be a finite number >= 0.0" in _message(CHECK.number, bad, "n")
    assert "n: must be a finite number > 0.0, got 0" in \
        _message(CHECK.number, 0, "n", strict=True)


def test_integer_boolean_choice_string():
    assert CHECK.integer(3, "i", 1) == 3
    assert CHECK.integer(None, "i", 1, optional=True) is None
    assert _message(CHECK.integer, 1.5, "i", 0) == \
        "demo config: i: must be an integer >= 0, got 1.5"
    assert "or null" in _message(CHECK.integer, 0, "i", 1, optional=True)
    assert "got True" in _message(CHECK.integer, True, "i", 0)
    assert CHECK.boolean(False, "b") is False
    assert _message(CHECK.boolean, "yes", "b") == \
        "demo config: b: must be true or false, got 'yes'"
    assert CHECK.choice("x", "c", ("x", "y")) == "x"
    assert _message(CHECK.choice, "z", "c", ("x", "y")) == \
        "demo config: c: must be one of ['x', 'y'], got 'z'"
    assert CHECK.string("s", "s") == "s"
    assert "must be a non-empty string" in _message(CHECK.string, "", "s")


def test_names():
    assert CHECK.names(["a", "b"], "n") == ("a", "b")
    assert CHECK.names([], "n", allow_empty=True) == ()
    assert CHECK.names(None, "n", optional=True) is None
    assert CHECK.names("a", "n", allow_single=True) == "a"
    assert "must not be empty" in _message(CHECK.names, [], "n")
    assert "got the string 'a'" in _message(CHECK.names, "a", "n")
    assert "list of non-empty names" in _message(CHECK.names, ["a", ""], "n")
    assert "lists ['a'] more than once" in _message(CHECK.names, ["a", "b", "a"], "n")
