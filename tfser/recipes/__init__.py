"""Recipes: the papers' experiment tables as procedures over every other stage.

A recipe (``configs/recipes/<name>.yaml``, read by :mod:`tfser.recipes.spec`) names its
featurize configs and rows; :func:`tfser.recipes.runner.reproduce` (``tfser-reproduce``)
runs them and :mod:`tfser.recipes.results` writes ``results.json`` / ``results.md``.
This is the last floor: it may import every stage.
"""
