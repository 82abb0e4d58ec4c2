"""Validation helpers that turn plain YAML data into typed config values.

Every config of tfser (featurize, labels, model, experiment) checks its input with one
:class:`Checks` object, so all config errors read alike: ``<config>: <where>: <what is
wrong>, got <value>``, where ``<where>`` is the dotted key (``optimizer.learning_rate``)
or the named item (``view 'emotion' (hard): seed``). A failed check raises
:class:`ConfigError`, a :class:`~tfser.config.errors.UserError` (binaries print it as one
line) that is also a ``ValueError`` for callers that catch that.
"""

from __future__ import annotations

import collections
import dataclasses
import numbers
from typing import Any, Iterable, Mapping, NoReturn, Optional, Sequence, Tuple, Union

from tfser.config.errors import UserError


class ConfigError(UserError, ValueError):
    """A config key or value the user must fix; the message names the key."""


class Checks:
    """The validation helpers of one config, each raising :class:`ConfigError`.

    Args:
      config: Name put in front of every message (``"experiment config"``); empty for
        configs nested in others, whose callers add their own location.
    """

    def __init__(self, config: str = ""):
        self.prefix = f"{config}: " if config else ""

    def fail(self, where: str, message: str) -> NoReturn:
        """Raises ``ConfigError("<config>: <where>: <message>")``."""
        raise ConfigError(f"{self.prefix}{where}: {message}")

    def keys(self, data: Any, allowed: Iterable[str], where: str,
             what: str = "keys") -> Mapping[str, Any]:
        """Returns ``data`` if it is a mapping whose keys are all ``allowed``.

        Args:
          data: The value to check.
          allowed: The keys it may have.
          where: Location named in the message.
          what: What the keys are called in the message (``"keys"``, ``"params"``).
        """
        if not isinstance(data, Mapping):
            self.fail(where, f"must be a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            self.fail(where, f"unknown {what} {unknown}; allowed: {sorted(allowed)}")
        return data

    def fields(self, data: Any, cls: type, where: str) -> Mapping[str, Any]:
        """Returns ``data`` if it is a mapping of field names of the dataclass ``cls``."""
        return self.keys(data, [field.name for field in dataclasses.fields(cls)], where)

    def number(self, value: Any, where: str, minimum: float = 0.0,
               strict: bool = False) -> float:
        """A finite real ``>= minimum`` (``> minimum`` when ``strict``), as a float.

        A string that ``float()`` reads is accepted: YAML 1.1 loads ``1e-4`` (an
        exponent without a dot) as a string.
        """
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        relation = ">" if strict else ">="
        finite = isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and value == value and abs(value) != float("inf")  # NaN != NaN
        if not finite or value < minimum or (strict and value == minimum):
            self.fail(where, f"must be a finite number {relation} {minimum}, got {value!r}")
        return float(value)

    def integer(self, value: Any, where: str, minimum: int,
                optional: bool = False) -> Optional[int]:
        """An integer ``>= minimum`` (booleans refused); ``None`` too when ``optional``."""
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                or value < minimum:
            self.fail(where, f"must be an integer >= {minimum}"
                             f"{' or null' if optional else ''}, got {value!r}")
        return int(value)

    def boolean(self, value: Any, where: str) -> bool:
        """``true`` or ``false`` exactly (no 0/1 or strings)."""
        if not isinstance(value, bool):
            self.fail(where, f"must be true or false, got {value!r}")
        return value

    def choice(self, value: Any, where: str, options: Sequence[Any]) -> Any:
        """``value`` if it is one of ``options``."""
        if value not in options:
            self.fail(where, f"must be one of {list(options)}, got {value!r}")
        return value

    def string(self, value: Any, where: str) -> str:
        """A non-empty string."""
        if not isinstance(value, str) or not value:
            self.fail(where, f"must be a non-empty string, got {value!r}")
        return value

    def names(self, value: Any, where: str, allow_empty: bool = False,
              optional: bool = False, allow_single: bool = False
              ) -> Union[None, str, Tuple[str, ...]]:
        """A list of distinct non-empty names, as a tuple.

        Args:
          value: The value to check.
          where: Location named in the message.
          allow_empty: Accept an empty list.
          optional: Accept ``None`` (returned as is).
          allow_single: Accept one name given as a plain string (returned as is).
        """
        if value is None and optional:
            return None
        if isinstance(value, str):
            if allow_single:
                return value
            self.fail(where, f"must be a list of names, got the string {value!r}")
        if not isinstance(value, (list, tuple)) or \
                any(not isinstance(v, str) or not v for v in value):
            self.fail(where, f"must be a list of non-empty names, got {value!r}")
        repeated = sorted(n for n, c in collections.Counter(value).items() if c > 1)
        if repeated:
            self.fail(where, f"lists {repeated} more than once")
        if not value and not allow_empty:
            self.fail(where, "must not be empty")
        return tuple(value)
