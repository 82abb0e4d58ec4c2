"""Recipes: whole procedures that chain every stage (the last floor; may import all).

* :mod:`tfser.recipes.demo` - ``make demo``: the synthetic corpus through annotate,
  featurize, train, evaluate, compare, export and predict (``tfser-demo``).
"""
