"""Modules that moved floors keep working from their old paths for one release."""

import importlib
import sys
import warnings

import pytest

MOVED = {
    "tfser.features.audio_io": "tfser.audio.audio_io",
    "tfser.corpora.vocabulary": "tfser.annotations.vocabulary",
    "tfser.evaluation.classification": "tfser.metrics.classification",
    "tfser.evaluation.regression": "tfser.metrics.regression",
    "tfser.evaluation.significance": "tfser.metrics.significance",
    "tfser.evaluation.agreement": "tfser.labels.agreement",
    "tfser.evaluation.human": "tfser.labels.human",
}


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_path_is_the_new_module_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message)
               for w in caught)
