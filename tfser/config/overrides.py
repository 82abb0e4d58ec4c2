"""``key.path=value`` overrides of a plain config dict (the ``--params_override`` flag).

Each override names a dotted path into the dict (integer parts index lists) and a
YAML value: ``split.protocol=loso``, ``feature_sets=[egemaps_functionals]``,
``labels.views.0.params.a=0.75``. One flag value may hold several overrides separated
by commas outside brackets and quotes. Missing intermediate mappings are created, so
an override can add a key the file does not have; validation of the result is the
config's job.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, List, Mapping, TypeVar

import yaml

from tfser.config import checks

T = TypeVar("T")


def split_overrides(text: str) -> List[str]:
    """Splits ``"a=1,b=[x,y]"`` at the commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, None, []
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> Dict[str, Any]:
    """Returns a deep copy of ``data`` with ``key.path=value`` overrides applied.

    Each item may hold several comma-separated overrides. Values are parsed as YAML;
    integer path parts index into lists.

    Raises:
      ConfigError: (a ``ValueError``) An item without ``=``, or a path through a missing
        list index or a non-container.
    """
    data = json.loads(json.dumps(dict(data)))  # deep copy of plain data
    for item in overrides:
        for override in split_overrides(item):
            if "=" not in override:
                raise checks.ConfigError(f"override {override!r} is not key=value")
            path, text = override.split("=", 1)
            keys = [k for k in path.strip().split(".") if k]
            if not keys:
                raise checks.ConfigError(f"override {override!r} has an empty key")
            node: Any = data
            for key in keys[:-1]:
                node = _child(node, key, override, create=True)
            _set(node, keys[-1], yaml.safe_load(text), override)
    return data


def _child(node: Any, key: str, override: str, create: bool) -> Any:
    if isinstance(node, list):
        index = _index(node, key, override)
        return node[index]
    if not isinstance(node, dict):
        raise checks.ConfigError(f"override {override!r}: '{key}' is inside a "
                                 f"{type(node).__name__}")
    if key not in node or node[key] is None:
        if not create:
            raise checks.ConfigError(f"override {override!r}: no key '{key}'")
        node[key] = {}
    return node[key]


def _set(node: Any, key: str, value: Any, override: str) -> None:
    if isinstance(node, list):
        node[_index(node, key, override)] = value
    elif isinstance(node, dict):
        node[key] = value
    else:
        raise checks.ConfigError(f"override {override!r}: '{key}' is inside a "
                                 f"{type(node).__name__}")


def _index(node: list, key: str, override: str) -> int:
    if not key.lstrip("-").isdigit() or not -len(node) <= int(key) < len(node):
        raise checks.ConfigError(f"override {override!r}: '{key}' is not an index of a "
                                 f"list of {len(node)}")
    return int(key)


def build_with_overrides(data: Mapping[str, Any], overrides: Iterable[str],
                         build: Callable[[Dict[str, Any]], T], source: str) -> T:
    """Applies ``overrides`` to ``data`` and builds (validates) the config of the result.

    A ``ValueError`` of ``build`` is raised again prefixed with where the bad value came
    from: the first override after which ``build`` fails
    (``--params_override 'epochs=x' (over <source>)``), else ``source`` (the files
    ``data`` was read from), so that a typo in an override never blames the YAML file.

    Raises:
      ConfigError: A malformed override, or a config ``build`` refuses (a
        ``ValueError`` too).
    """
    overrides = [item for text in overrides for item in split_overrides(text)]
    merged = apply_overrides(data, overrides)
    try:
        return build(merged)
    except ValueError as error:
        raise checks.ConfigError(f"{_culprit(data, overrides, build, source)}: {error}") \
            from None


def _culprit(data: Mapping[str, Any], overrides: List[str], build: Callable, source: str) -> str:
    # Replays the overrides one by one; only reached on an error, so the cost is moot.
    for count in range(len(overrides) + 1):
        try:
            build(apply_overrides(data, overrides[:count]))
        except ValueError:
            return source if count == 0 else (f"--params_override {overrides[count - 1]!r} "
                                              f"(over {source})")
    return source
