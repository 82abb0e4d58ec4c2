"""Corpus loaders: one module per corpus, each with ``load(root, **options) -> LoadResult``.

Every loader module declares its keyword options in ``OPTIONS`` (see
:mod:`tfser.corpora.options`) and ends with :func:`tfser.corpora.base.finish`.
:func:`load_corpus` is the one entry point for user input: it checks the options by name
and type before the loader runs. Modules are imported on demand so that a missing
optional dependency of one corpus never breaks another.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping, Optional, Tuple

from tfser.config.errors import UserError
from tfser.corpora.base import LoadResult, NothingFoundError, Reject, finish
from tfser.corpora.options import Option, OptionError, check_options

# CLI name -> module under tfser.corpora
LOADERS = {
    "emodb": "emodb",
    "iemocap": "iemocap",
    "msp_podcast": "msp_podcast",
    "crema_d": "crema_d",
    "ravdess": "ravdess",
    "sewa": "sewa",
    "manifest": "manifest",
    "synthetic": "synthetic",
}


class UnknownCorpusError(UserError, ValueError):
    """A corpus name that no loader has."""


def _module(name: str):
    if name not in LOADERS:
        raise UnknownCorpusError(f"unknown corpus '{name}'; known corpora: {sorted(LOADERS)}")
    return importlib.import_module(f"tfser.corpora.{LOADERS[name]}")


def get_loader(name: str):
    """Returns the ``load`` function of corpus ``name``."""
    return _module(name).load


def loader_options(name: str) -> Tuple[Option, ...]:
    """The options the loader of corpus ``name`` declares (its ``OPTIONS``)."""
    return tuple(_module(name).OPTIONS)


def load_corpus(name: str, root: str, options: Optional[Mapping[str, Any]] = None,
                audio_check: bool = False, table_dir: Optional[str] = None) -> LoadResult:
    """Loads corpus ``name`` from ``root`` with options checked by name and type.

    Args:
      name: One of :data:`LOADERS`.
      root: The corpus folder.
      options: Option name -> value, as text (``"0.5"``, from a command line) or
        typed (``0.5``); see each loader's ``OPTIONS``.
      audio_check: Ask the loader to decode every file and record problems, for loaders
        that can (those declaring ``audio_check``); ignored by the others.
      table_dir: The folder the table will be saved in, for loaders that write files
        beside it (those declaring ``table_dir``); an explicit option wins.

    Returns:
      The loader's result; its counts reconcile and it holds at least one item.

    Raises:
      UnknownCorpusError: ``name`` is not a known corpus.
      OptionError: An unknown option (with the closest known name) or a bad value.
      NothingFoundError: ``root`` holds nothing the loader recognises.
      FileNotFoundError, ValueError: As raised by the loader for a bad corpus folder.
    """
    declared = loader_options(name)
    checked = check_options(name, declared, dict(options or {}))
    names = {option.name for option in declared}
    if audio_check and "audio_check" in names:
        checked["audio_check"] = True
    if table_dir and "table_dir" in names:
        checked.setdefault("table_dir", table_dir)
    return get_loader(name)(root, **checked)


def checks_audio(name: str) -> bool:
    """Whether the loader of ``name`` checks audio itself (declares ``audio_check``)."""
    return any(option.name == "audio_check" for option in loader_options(name))


__all__ = ["LOADERS", "LoadResult", "NothingFoundError", "Option", "OptionError", "Reject",
           "UnknownCorpusError", "checks_audio", "finish", "get_loader", "load_corpus",
           "loader_options"]
