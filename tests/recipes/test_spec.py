"""Recipe files: every shipped recipe loads and names what exists; bad files say why."""

import glob
import os

import pytest
import yaml

from tfser.recipes import spec as spec_lib
from tfser.training import EXPERIMENTS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = sorted(glob.glob(os.path.join(spec_lib.RECIPE_DIR, "*.yaml")))


def test_recipes_are_shipped():
    assert {os.path.basename(p) for p in SHIPPED} >= {"000.yaml"}


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
def test_shipped_recipe_is_consistent(path):
    first = open(path, encoding="utf-8").readline()
    name = os.path.basename(path)[:-5]
    assert first.startswith(f"# tfser-reproduce --recipe={name} ")
    recipe = spec_lib.load_recipe(name)
    assert recipe.name == name
    for config in (recipe.featurize_synthetic, recipe.featurize_table):
        assert config and os.path.isfile(os.path.join(REPO, config)), config
    for row in recipe.rows:
        assert row.experiment in EXPERIMENTS, row.experiment
    named = {row.name for row in recipe.rows} | {"human"}
    for table in recipe.tables:
        assert set(table.rows) <= named


def _write(tmp_path, data):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


BASE = {"name": "x", "featurize": {"synthetic": "configs/featurize/synthetic_000.yaml"},
        "rows": [{"name": "a", "experiment": "000_hard_pe"}]}


@pytest.mark.parametrize("change, message", [
    ({"rowz": []}, r"unknown keys \['rowz'\]"),
    ({"rows": []}, "rows: must be a non-empty list"),
    ({"rows": [{"name": "a", "experiment": "e"}, {"name": "a", "experiment": "e"}]},
     r"duplicate row names \['a'\]"),
    ({"rows": [{"name": "../a", "experiment": "e"}]}, "must be a relative name"),
    ({"rows": [{"name": "a", "experiment": "e",
                "sweep": {"name": "s", "values": [], "overrides": ["k={value}"]}}]},
     "values: must be a non-empty list of numbers"),
    ({"rows": [{"name": "a", "experiment": "e",
                "sweep": {"name": "s", "values": [0.5], "overrides": ["k={value}"],
                          "select": {"part": "test"}}}]},
     "selects on development data only"),
    ({"tables": [{"title": "t", "rows": ["b"], "columns": [{"metric": "f1"}]}]},
     r"unknown: \['b'\]"),
    ({"tables": [{"title": "t", "rows": ["a"], "columns": [{"metric": "f1",
                                                           "per_class": "x"}]}]},
     "exactly one of metric or per_class"),
    ({"published": {"zz": {"f1": 0.2}}}, r"unknown keys \['zz'\]"),
])
def test_bad_recipes_name_the_key(tmp_path, change, message):
    with pytest.raises(spec_lib.RecipeError, match=message):
        spec_lib.load_recipe(_write(tmp_path, {**BASE, **change}))


def test_unknown_recipe_lists_the_shipped_ones():
    with pytest.raises(spec_lib.RecipeError, match=r"unknown recipe 'nope'.*'000'"):
        spec_lib.load_recipe("nope")


def test_sweep_point_overrides():
    sweep = spec_lib.SweepSpec("alpha", (0.3,), ("a={complement}", "b={value}"), "emotion")
    assert sweep.point_overrides(0.3) == ("a=0.7", "b=0.3")
    assert sweep.point_name(0.3) == "0.3"
