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
        # A sklearn row trains no network: its estimator is checked by the spec.
        assert row.sklearn is not None or row.experiment in EXPERIMENTS, row.experiment
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
    ({"rows": [{"name": "a", "experiment": "e",
                "sweep": {"name": "s", "values": [0.5], "grid": {"b": [1]},
                          "overrides": ["k={value}"]}}]},
     r"exactly one of values, grid or random, got \['values', 'grid'\]"),
    ({"rows": [{"name": "a", "experiment": "e",
                "sweep": {"name": "s", "grid": {"lr": [0.1]}, "overrides": ["k={value}"]}}]},
     r"names a field the sweep does not have \('value'\); use \{lr\}"),
    ({"rows": [{"name": "a", "experiment": "e",
                "sweep": {"name": "s", "random": {"n": 0, "params": {"a": [0, 1]}},
                          "overrides": ["k={a}"]}}]}, "random.n: must be an integer >= 1"),
    ({"rows": [{"name": "a", "experiment": "e",
                "sweep": {"name": "s", "random": {"n": 2, "params": {"a": [1, 0]}},
                          "overrides": ["k={a}"]}}]}, "must be \\[low, high\\] with low <= high"),
    ({"rows": [{"name": "a", "experiment": "e",
                "sweep": {"name": "s", "values": [1], "overrides": ["k={value}"],
                          "select": {"goal": "up"}}}]}, "select.goal"),
    ({"rows": [{"name": "a", "experiment": "e", "overrides": ["m.init_from={run:b}"]},
               {"name": "b", "experiment": "e"}]},
     r"rows.0.overrides.*\{run:b\} must name a row listed before 'a'$"),
    ({"rows": [{"name": "a", "experiment": "e", "overrides": ["m.init_from={run:zz}"]}]},
     r"\{run:zz\} must name a row listed before 'a' \(no row 'zz'"),
    ({"rows": [{"name": "a", "experiment": "e", "each_rater": {"min_labels": 0}}]},
     r"rows.0.each_rater.min_labels: must be an integer >= 1"),
    ({"rows": [{"name": "a", "experiment": "e", "each_rater": {"overrides": ["h={x}"]}}]},
     r"each_rater.overrides: a template names an unknown field .*\{head\} and \{rater\}"),
    ({"rows": [{"name": "a", "experiment": "e", "each_rater": {},
                "sweep": {"name": "s", "values": [1], "overrides": ["k={value}"]}}]},
     "give sweep or each_rater, not both"),
    ({"tables": [{"title": "t", "rows": ["a"], "data": True, "marks": "a",
                  "columns": [{"metric": "labelled"}]}]}, "a data table has no marks"),
    ({"rows": [{"name": "a", "experiment": "e", "featurize": {"table": "t.yaml"}}]},
     r"rows.0.featurize.synthetic: must name .* \(or give overrides of the recipe's\)"),
    ({"rows": [{"name": "a", "experiment": "e", "featurize": {"overrides": "x=1"}}]},
     r"rows.0.featurize.overrides"),
    ({"attention": {"rows": ["zz"]}}, r"attention.rows: must list rows .*\['zz'\]"),
    ({"attention": {"rows": ["a"], "utterances": 0}}, r"attention.utterances: must be an "
                                                      r"integer >= 1"),
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


def test_sweep_grid_points_in_order_with_named_fields():
    sweep = spec_lib.SweepSpec.from_dict(
        {"name": "grid", "grid": {"batch_size": [16, 32], "lr": [0.001, 0.01]},
         "overrides": ["batch_size={batch_size}", "optimizer.learning_rate={lr}"],
         "select": {"metric": "cross_entropy", "goal": "min"}}, "w", "emotion")
    points = sweep.points()
    assert points == ({"batch_size": 16, "lr": 0.001}, {"batch_size": 16, "lr": 0.01},
                      {"batch_size": 32, "lr": 0.001}, {"batch_size": 32, "lr": 0.01})
    # Integers stay integers: "batch_size=16.0" is refused by the experiment config.
    assert sweep.point_overrides(points[1]) == ("batch_size=16",
                                                "optimizer.learning_rate=0.01")
    assert sweep.point_dir(points[1]) == "batch_size=16,lr=0.01"
    assert not sweep.one_dimensional
    # goal min: the lowest development score wins, the first one on ties.
    assert sweep.best([0.9, 0.4, 0.7, 0.4]) == 1


def test_sweep_random_points_are_seeded_and_inside_the_ranges():
    data = {"name": "weights", "random": {"n": 6, "seed": 3,
                                          "params": {"alpha": [0, 1], "beta": [0.5, 0.6]}},
            "overrides": ["a={alpha}", "b={beta}"]}
    first = spec_lib.SweepSpec.from_dict(data, "w", "traces").points()
    again = spec_lib.SweepSpec.from_dict(data, "w", "traces").points()
    assert first == again and len(first) == 6
    assert all(0 <= p["alpha"] <= 1 and 0.5 <= p["beta"] <= 0.6 for p in first)
    assert len({p["alpha"] for p in first}) == 6
    other = spec_lib.SweepSpec.from_dict({**data, "random": {**data["random"], "seed": 4}},
                                         "w", "traces").points()
    assert other != first


def test_one_value_sweep_keeps_its_directory_names_and_picks_the_highest():
    sweep = spec_lib.SweepSpec("alpha", (0.3, 0.5), ("a={complement}",), "emotion")
    assert sweep.points() == (0.3, 0.5) and sweep.one_dimensional
    assert sweep.point_dir(0.3) == "alpha=0.3"
    assert sweep.best([0.2, 0.6]) == 1


def test_run_references_resolve_to_the_rows_run_directories():
    overrides = ["model.trunk.fuse=[{run:a/b}, {run:c}]", "x=1", "y={run:a/b}"]
    assert spec_lib.run_references(overrides) == ("a/b", "c")
    assert spec_lib.resolve_run_references(overrides, {"a/b": "/r/ab", "c": "/r/c"}) == (
        "model.trunk.fuse=[/r/ab, /r/c]", "x=1", "y=/r/ab")
    # A sweep point's directory is quoted; an each_rater row gives all its runs.
    resolved = spec_lib.resolve_run_references(
        ["t={fuse: [{run:a/b}, {run:c}]}"], {"a/b": "/r/s/bs=16,lr=0.1", "c": ["/r/1", "/r/2"]})
    assert resolved == ('t={fuse: ["/r/s/bs=16,lr=0.1", /r/1, /r/2]}',)
    assert yaml.safe_load(resolved[0][2:])["fuse"] == ["/r/s/bs=16,lr=0.1", "/r/1", "/r/2"]


def test_selected_rows_bring_the_rows_they_build_on(tmp_path, capsys):
    from tfser.recipes import runner  # pylint: disable=import-outside-toplevel
    recipe = spec_lib.load_recipe(_write(tmp_path, {**BASE, "rows": [
        {"name": "a", "experiment": "e"}, {"name": "b", "experiment": "e"},
        {"name": "c", "experiment": "e", "overrides": ["m={run:a}"]},
        {"name": "d", "experiment": "e", "overrides": ["m=[{run:c}, {run:b}]"]}]}))
    assert [r.name for r in runner._with_dependencies(recipe, ["d"])] == ["a", "b", "c", "d"]
    assert "also running row c (row d builds on it)" in capsys.readouterr().out
    assert [r.name for r in runner._with_dependencies(recipe, ["b"])] == ["b"]


def test_each_rater_rows_give_each_run_its_slice_head(tmp_path):
    recipe = spec_lib.load_recipe(_write(tmp_path, {**BASE, "rows": [
        {"name": "individual", "experiment": "002_individual",
         "each_rater": {"view": "rater", "min_labels": 50}}]}))
    each = recipe.rows[0].each_rater
    assert (each.view, each.min_labels) == ("rater", 50)
    assert each.run_overrides("rater.R01", "s:R01") == ("model.heads.0.name=rater.R01",)


def test_synthetic_folds_are_all_or_a_list(tmp_path):
    assert spec_lib.load_recipe(_write(tmp_path, BASE)).synthetic_folds == "all"
    recipe = spec_lib.load_recipe(_write(tmp_path, {**BASE, "synthetic_folds": [0, "s2"]}))
    assert recipe.synthetic_folds == (0, "s2")
    with pytest.raises(spec_lib.RecipeError, match="synthetic_folds: must be 'all' or a list"):
        spec_lib.load_recipe(_write(tmp_path, {**BASE, "synthetic_folds": 2}))


def test_fold_selection_names_the_folds_and_the_report_says_how_many(data_002):
    from tfser.config.errors import UserError  # pylint: disable=import-outside-toplevel
    from tfser.data import load_info  # pylint: disable=import-outside-toplevel
    from tfser.recipes import results, runner  # pylint: disable=import-outside-toplevel
    names = list(load_info(data_002).fold_names)
    assert len(names) > 2
    assert runner._folds(data_002, [1, 0]) == names[:2]  # protocol order
    assert runner._folds(data_002, "all") == names
    with pytest.raises(UserError, match="--folds: .*nope"):
        runner._folds(data_002, ["nope"])
    text = results._fold_count({"folds": names[:2], "protocol_folds": len(names)})
    assert text == f"2 of its {len(names)} folds ({names[0]}, {names[1]})"
    assert results._fold_count({"folds": names, "protocol_folds": len(names)}) == \
        f"{len(names)} fold(s)"
    assert runner.command_line("002", "o", None, False, 0, folds=["0", "1"]) == \
        "tfser-reproduce --recipe=002 --out=o --folds=0,1"


def test_rows_may_override_the_featurize_config_and_the_synthetic_overrides(tmp_path):
    from tfser.recipes import runner  # pylint: disable=import-outside-toplevel
    recipe = spec_lib.load_recipe(_write(tmp_path, {**BASE, "rows": [
        {"name": "a", "experiment": "e", "featurize": {"overrides": ["select.labelled_by=x"]},
         "synthetic_overrides": ["epochs=1"]}], "attention": {"rows": ["a"]}}))
    row = recipe.row("a")
    assert row.featurize == {"overrides": ("select.labelled_by=x",)}
    assert row.synthetic_overrides == ("epochs=1",)
    assert recipe.attention == spec_lib.AttentionSpec(rows=("a",), utterances=3)
    main = ("/c/main.yaml", ())
    assert runner._row_config(row, recipe, "synthetic", main) == (
        "/c/main.yaml", ("select.labelled_by=x",))
    assert runner.featurized_name("main", ("select.labelled_by=x", "a={b: [1, 2]}")) == \
        "main+select.labelled_by=x+a=-b-1-2-"
    assert runner.featurized_name("main") == "main"
