"""Recipes: whole procedures that chain every stage (the last floor; may import all).

* :mod:`tfser.recipes.demo` - ``make demo``: the synthetic corpus through annotate,
  featurize, train, evaluate, compare, export and predict (``tfser-demo``).
* The papers' experiment tables: a recipe (``configs/recipes/<name>.yaml``, read by
  :mod:`tfser.recipes.spec`) names its featurize configs and rows;
  :func:`tfser.recipes.runner.reproduce` (``tfser-reproduce``) runs them and
  :mod:`tfser.recipes.results` writes ``results.json`` / ``results.md``.
"""
