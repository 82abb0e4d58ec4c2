"""The option vocabulary of the corpus loaders: each loader declares its options once.

A loader module lists its keyword options in ``OPTIONS`` (a tuple of :class:`Option`:
name, kind, default, help). :func:`tfser.corpora.load_corpus` reads that list to check
the options a user passes (``tfser-annotate --option=key=value``) by name and type
before the loader runs, so a typo or a bad value is one clear line, not a ``TypeError``
from deep inside a loader. Options with the same meaning have the same name in every
loader; the shared ones are defined here (``AUDIO_CHECK``, ``REQUIRE_AUDIO``, ...) and a
loader only changes their default or help where its corpus needs it.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import warnings
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from tfser.config.errors import UserError


class OptionError(UserError, ValueError):
    """An option a loader does not know, or a value of the wrong type.

    A :class:`ValueError` too, so callers that caught the loaders' ``ValueError`` for a
    bad option keep working.
    """


_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise TypeError


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError
    number = float(value)           # ValueError for text that is no number
    if math.isnan(number):
        raise ValueError
    return number


def _text(value: Any) -> str:
    # A value given on the command line is parsed as JSON when it can be (``007`` is
    # text, ``7`` the number 7); a text option takes the number back as its spelling.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError
    return str(value)


def _text_list(value: Any) -> list:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError
    return list(value)


def _integer_list(value: Any) -> list:
    items = _text_list(value) if isinstance(value, str) else value
    if isinstance(items, int) and not isinstance(items, bool):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise TypeError
    numbers = []
    for item in items:
        if isinstance(item, bool) or isinstance(item, float) and not item.is_integer():
            raise TypeError
        numbers.append(int(item))   # ValueError for text that is no integer
    return numbers


def _mapping(value: Any) -> dict:
    if not isinstance(value, Mapping):
        raise TypeError
    return dict(value)


# kind -> (what a value must be, in words; converter raising TypeError/ValueError)
KINDS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "flag": ("true or false", _flag),
    "number": ("a number", _number),
    "text": ("text", _text),
    "choice": ("", _text),              # described by its choices
    "text_list": ("a list of names (JSON list or comma-separated)", _text_list),
    "integer_list": ("a list of integers (JSON list or comma-separated)", _integer_list),
    "mapping": ('a JSON object (e.g. {"a": "b"})', _mapping),
}


@dataclasses.dataclass(frozen=True)
class Option:
    """One keyword option of a corpus loader.

    Attributes:
      name: The keyword of the loader's ``load`` function.
      kind: One of :data:`KINDS`.
      default: The default of the ``load`` function (a test checks they agree).
      help: One sentence for ``--help`` and error messages.
      choices: The allowed values of a ``choice`` option.
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: Tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name}: unknown kind '{self.kind}' "
                             f"(known: {sorted(KINDS)})")

    def with_default(self, default: Any, help: Optional[str] = None) -> "Option":
        """The same option with another default (and help) for one loader."""
        return dataclasses.replace(self, default=default, help=help or self.help)

    @property
    def expected(self) -> str:
        """What a value must be, in words."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return KINDS[self.kind][0]

    def convert(self, value: Any, corpus: str) -> Any:
        """Returns ``value`` as this option's type.

        Raises:
          OptionError: The value has the wrong type or is not one of the choices.
        """
        if value is None and self.default is None:
            return None
        try:
            converted = KINDS[self.kind][1](value)
        except (TypeError, ValueError):
            converted = None
            ok = False
        else:
            ok = self.kind != "choice" or converted in self.choices
        if not ok:
            raise OptionError(f"option {self.name} of {corpus} must be {self.expected}, "
                              f"got {value!r}")
        return converted


# Options with one meaning across loaders, defined once so their names cannot drift.
AUDIO_CHECK = Option(
    "audio_check", "flag", False,
    "Decode every file and record what is wrong with it (silent, clipped, too short, "
    "NaN samples) in extra['audio_problem'].")
REQUIRE_AUDIO = Option(
    "require_audio", "flag", False,
    "Reject utterances whose audio file is missing or unreadable.")
MIN_DURATION_S = Option(
    "min_duration_s", "number", 0.0,
    "Shortest plausible duration in seconds; audio_check reports shorter files.")
TABLE_DIR = Option(
    "table_dir", "text", None,
    "Folder the table will be saved in (tfser-annotate sets it to --out); files the "
    "loader writes are stored relative to it.")

# Old option name -> (loader, new name); the old names keep working for one release.
DEPRECATED = {("synthetic", "check_audio"): "require_audio"}


def _unknown(name: str, corpus: str, options: Sequence[Option]) -> OptionError:
    names = [o.name for o in options]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" did you mean '{close[0]}'?" if close else ""
    known = ", ".join(names) if names else "none"
    return OptionError(f"unknown option '{name}' for corpus {corpus};{hint} options: {known}")


def check_options(corpus: str, declared: Sequence[Option],
                  given: Mapping[str, Any]) -> Dict[str, Any]:
    """Validates options by name and type; returns them converted, keyed by name.

    Args:
      corpus: The corpus name (for messages).
      declared: The loader's ``OPTIONS``.
      given: Option name -> value, as text (``"0.5"``) or already typed (``0.5``).

    Raises:
      OptionError: For an unknown name (with the closest known one) or a bad value.
    """
    by_name = {option.name: option for option in declared}
    checked: Dict[str, Any] = {}
    for name, value in given.items():
        if (corpus, name) in DEPRECATED:
            new = DEPRECATED[(corpus, name)]
            warnings.warn(f"option {name} of {corpus} is renamed {new}; the old name goes "
                          "away in the next release", DeprecationWarning, stacklevel=3)
            name = new
        if name not in by_name:
            raise _unknown(name, corpus, declared)
        checked[name] = by_name[name].convert(value, corpus)
    return checked


def parse_options(items: Sequence[str]) -> Dict[str, Any]:
    """``["key=value", ...]`` (``--option`` flags) -> options; values are JSON when they
    parse (``true``, ``0.5``, ``["a","b"]``), else text (``my.csv``).

    Raises:
      OptionError: For an item without ``=``.
    """
    options: Dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"--option '{item}' is not key=value")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options
