"""Corpus loaders: one module per corpus, each with ``load(root, **options) -> LoadResult``.

Modules are imported on demand so that a missing optional dependency of one corpus
never breaks another.
"""

from __future__ import annotations

import importlib

from tfser.corpora.base import LoadResult, Reject

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


def get_loader(name: str):
    """Returns the ``load`` function of corpus ``name``."""
    if name not in LOADERS:
        raise ValueError(f"unknown corpus '{name}'; known corpora: {sorted(LOADERS)}")
    module = importlib.import_module(f"tfser.corpora.{LOADERS[name]}")
    return module.load


def load_corpus(name: str, root: str, **options) -> LoadResult:
    """Loads corpus ``name`` from ``root``, checks the counts reconcile, returns the result."""
    result = get_loader(name)(root, **options)
    result.check_counts()
    return result


__all__ = ["LOADERS", "LoadResult", "Reject", "get_loader", "load_corpus"]
