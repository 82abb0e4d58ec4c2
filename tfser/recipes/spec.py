"""RecipeSpec: one paper's experiment table as data (``configs/recipes/<name>.yaml``).

A recipe names the featurize config for the synthetic corpus and for a real annotated
table, the label views a corpus must offer, and its rows. A row is a registered
experiment plus YAML deltas and overrides, optionally swept over one value (the best
point chosen on development data only), and scored on one head::

    name: "000"
    title: "Lotfian & Busso (2018): primary and secondary emotions"
    featurize: {synthetic: configs/featurize/synthetic_000_recipe.yaml,
                table: configs/featurize/msp_podcast_000.yaml}
    requires_views: [emotion, emotion_soft, secondary]
    head: emotion
    rows:
      - {name: hard_pe, experiment: 000_hard_pe}
      - name: mtl
        experiment: 000_mtl
        sweep:
          name: alpha
          values: [0.0, 0.5, 1.0]
          overrides: ["model.heads.0.loss_weight={complement}",
                      "model.heads.1.loss_weight={value}"]
          select: {head: emotion, metric: f1}
    published: {hard_pe: {f1: 0.240}}

Sweep overrides are text templates: ``{value}`` is the point, ``{complement}`` is
``1 - value`` (000's ``(1 - alpha) L_primary + alpha L_secondary``); a ``grid`` or
``random`` sweep names its own fields (see :class:`SweepSpec`). A row's overrides may
name another row's run directory as ``{run:<row>}`` (two-stage training:
``model.trunk.init_from={run:mlee_only}``); that row must be listed earlier, and for a
swept row it is the chosen point's run. A row with ``each_rater`` is one run per rater
with enough labels (paper 002's individual models, :class:`EachRaterSpec`). A copy of a recipe
file with other rows, values or experiments is a new recipe; nothing here is specific
to one paper.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import yaml

from tfser.config import checks
from tfser.recipes import classical

RECIPE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "configs", "recipes")
ROW_KEYS = ("name", "experiment", "config_files", "overrides", "sweep", "head", "featurize",
            "description", "checkpoint", "each_rater", "sklearn", "synthetic_overrides")
EACH_RATER_KEYS = ("view", "min_labels", "overrides")
SWEEP_KEYS = ("name", "values", "grid", "random", "overrides", "select")
SELECT_KEYS = ("head", "metric", "part", "goal")
TOP_KEYS = ("name", "title", "paper", "featurize", "requires_views", "head", "protocol",
            "rows", "published", "human", "notes", "smoke_overrides", "synthetic_overrides",
            "tables", "reference", "synthetic_folds", "figures", "synthetic_corpus",
            "attention")
FIGURE_KEYS = ("file", "title", "rows", "x", "xlabel", "per_class", "metric")
TABLE_KEYS = ("title", "rows", "head", "columns", "marks", "gain", "notes", "data")
COLUMN_KEYS = ("label", "metric", "per_class", "percent")


# A recipe error is a config error: one line naming the file and the key.
RecipeError = checks.ConfigError
_CHECK = checks.Checks("recipe")


def _fail(where: str, message: str):
    _CHECK.fail(where, message)


def _check_keys(data: Any, allowed, where: str) -> Mapping[str, Any]:
    return _CHECK.keys(data, allowed, where)


def _featurize(data: Any, where: str, row: bool = False) -> Dict[str, Any]:
    """The featurize configs; a row's may instead (or also) give ``overrides`` of them."""
    _check_keys(data, ("synthetic", "table", "overrides") if row else ("synthetic", "table"),
                where)
    overrides = _strings(data.get("overrides"), f"{where}.overrides") if row else ()
    if not isinstance(data.get("synthetic"), str) and not (row and overrides):
        _fail(f"{where}.synthetic", "must name the synthetic corpus's featurize config"
              + (" (or give overrides of the recipe's)" if row else ""))
    if data.get("table") is not None and not isinstance(data.get("table"), str):
        _fail(f"{where}.table", "must name a featurize config for real tables")
    plain = {k: v for k, v in data.items() if v is not None and k != "overrides"}
    if overrides:
        plain["overrides"] = overrides
    return plain


def _strings(value: Any, where: str) -> Tuple[str, ...]:
    return _CHECK.names(value, where, allow_empty=True, optional=True) or ()


Point = Mapping[str, float]


def grid_points(grid: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The cartesian product of a ``{param: values}`` grid, in the order written (the
    first parameter varies slowest)."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*grid.values())]


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """Values swept over a row; the point is chosen on development data.

    A sweep is one of three shapes:

    - ``values``: one swept number; templates use ``{value}`` and ``{complement}``
      (``1 - value``, 000's ``(1 - alpha) L_primary + alpha L_secondary``).
    - ``grid``: the cartesian product of named values, in the order written; templates
      use the names (``{batch_size}``) and ``{complement}``, 1 minus the sum of the
      point's values (003's MTL1: ``gamma = 1 - alpha - beta``).
    - ``random``: ``n`` points drawn uniformly from named ``[low, high]`` ranges with a
      fixed seed (the paper 003 search); templates use the names.

    Attributes:
      name: What is swept (e.g. ``alpha``), for tables and plots.
      values: The points of a one-value sweep, in order (empty for grid / random).
      overrides: Override templates (``str.format`` fields: see above).
      select_head: Head whose development score picks the point.
      select_metric: The score, e.g. ``f1``, ``ua`` or ``cross_entropy``.
      goal: ``max`` (default) or ``min``: whether a higher or a lower score is better.
      grid: ``((name, values), ...)`` of a grid sweep.
      random: ``(n, seed, ((name, (low, high)), ...))`` of a random search.
    """

    name: str
    values: Tuple[float, ...]
    overrides: Tuple[str, ...]
    select_head: str
    select_metric: str = "f1"
    goal: str = "max"
    grid: Tuple[Tuple[str, Tuple[float, ...]], ...] = ()
    random: Optional[Tuple[int, int, Tuple[Tuple[str, Tuple[float, float]], ...]]] = None

    @property
    def one_dimensional(self) -> bool:
        """True for a ``values`` sweep (a curve); False for a grid or random search."""
        return not self.grid and self.random is None

    def points(self) -> Tuple[Any, ...]:
        """Every point in order: numbers for ``values``, name -> number dicts otherwise."""
        if self.grid:
            return tuple(grid_points(dict(self.grid)))
        if self.random is not None:
            n, seed, ranges = self.random
            rng = np.random.default_rng(seed)
            # Rounded so directory names, reports and the applied overrides agree.
            return tuple({name: round(float(rng.uniform(low, high)), 4)
                          for name, (low, high) in ranges} for _ in range(n))
        return self.values

    def point_overrides(self, point: Any) -> Tuple[str, ...]:
        """The overrides of one point."""
        if isinstance(point, Mapping):
            # ``{complement}`` of a grid or random point is 1 minus the sum of its values:
            # paper 003's MTL1 weights (alpha, beta, 1 - alpha - beta).
            fields = {"complement": round(1.0 - sum(point.values()), 10), **point}
        else:
            fields = {"value": point, "complement": round(1.0 - point, 10)}
        return tuple(t.format(**fields) for t in self.overrides)

    @staticmethod
    def point_name(point: Any) -> str:
        """``0.3`` for one value; ``alpha=0.2,beta=0.1`` for a grid or random point."""
        if isinstance(point, Mapping):
            return ",".join(f"{k}={v:g}" for k, v in point.items())
        return f"{point:g}"

    def point_dir(self, point: Any) -> str:
        """The point's run directory name under the row's ``sweep/`` folder."""
        if isinstance(point, Mapping):
            return self.point_name(point)
        return f"{self.name}={self.point_name(point)}"

    def best(self, scores) -> int:
        """Index of the best development score (the first one on ties)."""
        pick = max if self.goal == "max" else min
        return pick(range(len(scores)), key=lambda i: scores[i])

    @classmethod
    def from_dict(cls, data: Any, where: str, default_head: str) -> "SweepSpec":
        _check_keys(data, SWEEP_KEYS, where)
        shapes = [key for key in ("values", "grid", "random") if data.get(key) is not None]
        if len(shapes) != 1:
            _fail(where, f"needs exactly one of values, grid or random, got {shapes or 'none'}")
        values, grid, random = (), (), None
        if "values" in shapes:
            values = _numbers(data["values"], f"{where}.values")
        elif "grid" in shapes:
            if not isinstance(data["grid"], Mapping) or not data["grid"]:
                _fail(f"{where}.grid", "must map each swept name to a list of values")
            grid = tuple((str(k), _numbers(v, f"{where}.grid.{k}", keep_integers=True))
                         for k, v in data["grid"].items())
        else:
            search = _check_keys(data["random"], ("n", "seed", "params"), f"{where}.random")
            n, seed = search.get("n"), search.get("seed", 0)
            for key, number, low in (("n", n, 1), ("seed", seed, 0)):
                if not isinstance(number, int) or isinstance(number, bool) or number < low:
                    _fail(f"{where}.random.{key}", f"must be an integer >= {low}, got "
                                                   f"{number!r}")
            params = search.get("params")
            if not isinstance(params, Mapping) or not params:
                _fail(f"{where}.random.params", "must map each name to a [low, high] range")
            ranges = []
            for key, bounds in params.items():
                pair = _numbers(bounds, f"{where}.random.params.{key}")
                if len(pair) != 2 or pair[0] > pair[1]:
                    _fail(f"{where}.random.params.{key}", f"must be [low, high] with "
                                                          f"low <= high, got {bounds!r}")
                ranges.append((str(key), (pair[0], pair[1])))
            random = (n, seed, tuple(ranges))
        overrides = _strings(data.get("overrides"), f"{where}.overrides")
        if not overrides:
            _fail(f"{where}.overrides", "must name at least one override template")
        select = _check_keys(data.get("select") or {}, SELECT_KEYS, f"{where}.select")
        if select.get("part", "dev") != "dev":
            _fail(f"{where}.select.part", "a sweep selects on development data only (dev)")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            _fail(f"{where}.name", f"must be a non-empty string, got {name!r}")
        sweep = cls(name=name, values=values, overrides=overrides,
                    select_head=str(select.get("head", default_head)),
                    select_metric=str(select.get("metric", "f1")),
                    goal=_CHECK.choice(select.get("goal", "max"), f"{where}.select.goal",
                                       ("max", "min")),
                    grid=grid, random=random)
        try:
            sweep.point_overrides(sweep.points()[0])
        except (KeyError, IndexError, ValueError) as error:
            _fail(f"{where}.overrides", f"a template names a field the sweep does not have "
                                        f"({error}); use {_fields(sweep)}")
        return sweep


def _numbers(values: Any, where: str, keep_integers: bool = False) -> Tuple[float, ...]:
    """The values as floats (``keep_integers``: integers stay integers, so that a grid's
    batch size or epoch count is not formatted as ``16.0``)."""
    if not isinstance(values, (list, tuple)) or not values or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        _fail(where, f"must be a non-empty list of numbers, got {values!r}")
    return tuple(v if keep_integers and isinstance(v, int) else float(v) for v in values)


def _fields(sweep: "SweepSpec") -> str:
    if sweep.grid:
        return ", ".join("{%s}" % name for name, _ in sweep.grid)
    if sweep.random is not None:
        return ", ".join("{%s}" % name for name, _ in sweep.random[2])
    return "{value}, {complement}"


RUN_REFERENCE = re.compile(r"\{run:([^{}]+)\}")


def run_references(overrides) -> Tuple[str, ...]:
    """Row names referenced as ``{run:<row>}`` in overrides, in order of appearance."""
    names = []
    for override in overrides:
        for name in RUN_REFERENCE.findall(override):
            if name not in names:
                names.append(name)
    return tuple(names)


# Characters that would end or change a plain scalar inside an override's YAML flow value
# (a sweep point's directory is e.g. "batch_size=16,learning_rate=0.001").
_YAML_SPECIAL = re.compile(r"[,\[\]{}#&*!|>'\"%@`]|: |^[\s-]")


def _yaml_path(path: str) -> str:
    return json.dumps(path) if _YAML_SPECIAL.search(path) else path


def resolve_run_references(overrides, run_dirs: Mapping[str, Any]) -> Tuple[str, ...]:
    """Replaces each ``{run:<row>}`` with that row's run directory (``run_dirs``), quoted
    where YAML needs it; a row with several runs (``each_rater``: a list of
    directories) becomes them all, comma-separated (for use inside a list)."""
    def paths(match):
        dirs = run_dirs[match.group(1)]
        return ", ".join(_yaml_path(d) for d in ([dirs] if isinstance(dirs, str) else dirs))
    return tuple(RUN_REFERENCE.sub(paths, o) for o in overrides)


@dataclasses.dataclass(frozen=True)
class EachRaterSpec:
    """A row that is one run per rater (paper 002's individual models E_n).

    The row expands to ``<row>/<rater>`` runs (``runs/<row>/<rater>/``), one per rater of
    the per-rater label view ``view`` with at least ``min_labels`` labelled utterances
    in the featurized data; each learns that rater's slice ``<view>.<rater>``
    (:mod:`tfser.data.rater_slices`) and is scored like any row (against the recipe's
    ``reference``: the consensus label). Raters below ``min_labels`` are skipped and
    listed in the results. Another row's ``{run:<row>}`` names all the runs,
    comma-separated (for a list: ``model.trunk={fuse: [{run:a}, {run:<row>}]}``).

    Attributes:
      view: The per-rater label view.
      min_labels: Fewest labelled utterances a rater needs for a model of their own.
      overrides: Override templates giving each run its head: ``{head}`` is the slice
        head (``rater.<rater>``), ``{rater}`` the rater id.
    """

    view: str = "rater"
    min_labels: int = 1
    overrides: Tuple[str, ...] = ("model.heads.0.name={head}",)

    def run_overrides(self, head: str, rater: str) -> Tuple[str, ...]:
        """The overrides of one rater's run."""
        return tuple(t.format(head=head, rater=rater) for t in self.overrides)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "EachRaterSpec":
        _check_keys(data, EACH_RATER_KEYS, where)
        view, min_labels = data.get("view", cls.view), data.get("min_labels", cls.min_labels)
        if not isinstance(view, str) or not view:
            _fail(f"{where}.view", f"must name a per-rater label view, got {view!r}")
        if not isinstance(min_labels, int) or isinstance(min_labels, bool) or min_labels < 1:
            _fail(f"{where}.min_labels", f"must be an integer >= 1, got {min_labels!r}")
        overrides = _strings(data.get("overrides"), f"{where}.overrides") or cls.overrides
        spec = cls(view=view, min_labels=min_labels, overrides=overrides)
        try:
            spec.run_overrides("h", "r")
        except (KeyError, IndexError, ValueError) as error:
            _fail(f"{where}.overrides", f"a template names an unknown field ({error}); "
                                        "use {head} and {rater}")
        return spec


@dataclasses.dataclass(frozen=True)
class RowSpec:
    """One row of a paper's table: an experiment, its deltas, and the head it is scored on.

    Attributes:
      name: The row name (the contract: results.json and ``runs/<name>/``).
      experiment: A registered base experiment (``tfser.training.EXPERIMENTS``).
      config_files: YAML deltas (paths relative to the repository), applied in order.
      overrides: ``key.path=value`` overrides after the deltas.
      sweep: A swept value, or None.
      head: The head the row is scored on.
      description: Free text for the report.
      featurize: The row's own featurize configs (``{"synthetic": ..., "table": ...}``),
        e.g. another split of the same corpus, and/or ``overrides`` of them (or of the
        recipe's), e.g. paper 001's training set "dominant" as
        ``{"overrides": ("select.labelled_by=emotion",)}``; empty: the recipe's.
      checkpoint: The checkpoint evaluated: ``best`` (lowest development loss) or
        ``last`` (papers that train a fixed number of epochs, e.g. 004, whose
        development loss also holds a speaker loss on unseen speakers).
      synthetic_overrides: Overrides of this row on the synthetic corpus only (after the
        recipe's), e.g. a narrower new trunk where two-stage rows restore theirs.
    """

    name: str
    experiment: str
    config_files: Tuple[str, ...] = ()
    overrides: Tuple[str, ...] = ()
    sweep: Optional[SweepSpec] = None
    head: str = "emotion"
    description: str = ""
    featurize: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    checkpoint: str = "best"
    each_rater: Optional[EachRaterSpec] = None
    sklearn: Optional[classical.SklearnSpec] = None
    synthetic_overrides: Tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Any, where: str, default_head: str) -> "RowSpec":
        _check_keys(data, ROW_KEYS, where)
        if isinstance(data, Mapping) and data.get("sklearn") is not None:
            return cls._sklearn_row(data, where, default_head)
        name, experiment = data.get("name"), data.get("experiment")
        for key, value in (("name", name), ("experiment", experiment)):
            if not isinstance(value, str) or not value:
                _fail(f"{where}.{key}", f"must be a non-empty string, got {value!r}")
        # Names may hold "/" (001's method/target/trainset) but never leave runs/.
        if name.startswith("/") or ".." in name.split("/") or "" in name.split("/"):
            _fail(f"{where}.name", f"must be a relative name like a/b, got {name!r}")
        head = str(data.get("head", default_head))
        sweep = data.get("sweep")
        featurize = _featurize(data.get("featurize"), f"{where}.featurize", row=True) \
            if data.get("featurize") is not None else {}
        each_rater = data.get("each_rater")
        if each_rater is not None and sweep is not None:
            _fail(where, "give sweep or each_rater, not both (each rater's run takes the "
                         "row's fixed settings)")
        return cls(name=name, experiment=experiment, featurize=featurize,
                   each_rater=None if each_rater is None else EachRaterSpec.from_dict(
                       each_rater, f"{where}.each_rater"),
                   checkpoint=_CHECK.choice(data.get("checkpoint", "best"),
                                            f"{where}.checkpoint", ("best", "last")),
                   config_files=_strings(data.get("config_files"), f"{where}.config_files"),
                   overrides=_strings(data.get("overrides"), f"{where}.overrides"),
                   synthetic_overrides=_strings(data.get("synthetic_overrides"),
                                                f"{where}.synthetic_overrides"),
                   sweep=None if sweep is None else SweepSpec.from_dict(
                       sweep, f"{where}.sweep", head),
                   head=head, description=str(data.get("description", "")))

    @classmethod
    def _sklearn_row(cls, data: Mapping[str, Any], where: str,
                     default_head: str) -> "RowSpec":
        """A row fitted by scikit-learn (:mod:`tfser.recipes.classical`): no experiment."""
        extra = [k for k in ("experiment", "config_files", "overrides", "sweep", "featurize",
                             "checkpoint", "each_rater") if data.get(k) is not None]
        if extra:
            _fail(where, f"a sklearn row takes no {extra} (it trains no network)")
        name = data.get("name")
        if not isinstance(name, str) or not name or name.startswith("/") or \
                ".." in name.split("/") or "" in name.split("/"):
            _fail(f"{where}.name", f"must be a relative name like a/b, got {name!r}")
        spec = classical.SklearnSpec.from_dict(data["sklearn"], f"{where}.sklearn")
        return cls(name=name, experiment=spec.label, head=str(data.get("head", default_head)),
                   description=str(data.get("description", "")), sklearn=spec)


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    """A figure over rows (paper 003's Fig. 3: CCC per attribute against stages).

    Attributes:
      file: PNG file name in the recipe's output directory.
      title: Figure title.
      rows: The rows, one x value each.
      x: The x value of each row.
      xlabel: Name of the x axis.
      per_class: A per-class mapping of the pooled metrics (one curve per class),
        e.g. ``ccc``.
      metric: A pooled scalar drawn as one more curve (e.g. ``mean_ccc``).
    """

    file: str
    rows: Tuple[str, ...]
    x: Tuple[float, ...]
    title: str = ""
    xlabel: str = ""
    per_class: str = ""
    metric: str = ""

    @classmethod
    def from_dict(cls, data: Any, where: str, row_names) -> "FigureSpec":
        _check_keys(data, FIGURE_KEYS, where)
        file = data.get("file")
        if not isinstance(file, str) or not file.endswith(".png") or "/" in file:
            _fail(f"{where}.file", f"must be a PNG file name like fig3.png, got {file!r}")
        rows = _strings(data.get("rows"), f"{where}.rows")
        unknown = [r for r in rows if r not in row_names]
        if not rows or unknown:
            _fail(f"{where}.rows", f"must list rows of the recipe; unknown: {unknown}")
        x = data.get("x")
        if not isinstance(x, (list, tuple)) or len(x) != len(rows) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
            _fail(f"{where}.x", f"must be one number per row ({len(rows)}), got {x!r}")
        if not data.get("per_class") and not data.get("metric"):
            _fail(where, "needs per_class or metric (what to draw)")
        return cls(file=file, rows=rows, x=tuple(float(v) for v in x),
                   title=str(data.get("title", "")), xlabel=str(data.get("xlabel", "")),
                   per_class=str(data.get("per_class", "")),
                   metric=str(data.get("metric", "")))


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """One column of a paper table: a pooled metric, or one column per class.

    Attributes:
      label: Column heading (for ``per_class``: ignored, the class names are used).
      metric: Key of the head's pooled metrics (``f1``, ``cross_entropy``, ...).
      per_class: A per-class mapping of the pooled metrics (``per_class_recall``):
        expands to one column per class.
      percent: Show as a percentage (fractions in results.json either way).
    """

    label: str
    metric: str = ""
    per_class: str = ""
    percent: bool = True

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "ColumnSpec":
        _check_keys(data, COLUMN_KEYS, where)
        metric, per_class = data.get("metric", ""), data.get("per_class", "")
        if bool(metric) == bool(per_class):
            _fail(where, "needs exactly one of metric or per_class")
        return cls(label=str(data.get("label", metric or per_class)), metric=str(metric),
                   per_class=str(per_class), percent=bool(data.get("percent", True)))


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One of the paper's tables: which rows, scored on which head, with which columns.

    Attributes:
      title: Heading (the paper's table number and caption).
      rows: Row names in order; ``human`` is the leave-one-rater-out row.
      head: The head the table scores (default: each row's own head).
      columns: The columns.
      marks: Significance marks: ``*`` when a row beats ``marks`` (a row name), ``**``
        when it beats every other model row (one-tailed exact McNemar on the shared
        test utterances, alpha 0.05). Empty: no marks.
      gain: ``[baseline, model]``: add a row of the relative gain of model over baseline.
      notes: Text under the table.
      data: A table of each row's training data rather than its scores: the columns
        read :func:`tfser.data.label_summary` of the row's head (``labelled``, and
        ``distribution`` per class) over the featurized corpus (paper 002's Table 1).
    """

    title: str
    rows: Tuple[str, ...]
    columns: Tuple[ColumnSpec, ...]
    head: str = ""
    marks: str = ""
    gain: Tuple[str, ...] = ()
    notes: str = ""
    data: bool = False

    @classmethod
    def from_dict(cls, data: Any, where: str, row_names) -> "TableSpec":
        _check_keys(data, TABLE_KEYS, where)
        rows = _strings(data.get("rows"), f"{where}.rows")
        unknown = [r for r in rows if r not in row_names and r != "human"]
        if not rows or unknown:
            _fail(f"{where}.rows", f"must list rows of the recipe; unknown: {unknown}")
        columns = data.get("columns")
        if not isinstance(columns, (list, tuple)) or not columns:
            _fail(f"{where}.columns", "must be a non-empty list")
        gain = _strings(data.get("gain"), f"{where}.gain")
        if gain and (len(gain) != 2 or any(g not in rows for g in gain)):
            _fail(f"{where}.gain", f"must be [baseline, model] of the table's rows, got {gain}")
        marks = str(data.get("marks", ""))
        is_data = _CHECK.boolean(data.get("data", False), f"{where}.data")
        if is_data and (marks or gain):
            _fail(where, "a data table has no marks or gain (it shows data, not scores)")
        if marks and marks not in rows:
            _fail(f"{where}.marks", f"must be one of the table's rows, got {marks!r}")
        return cls(title=str(data.get("title", "")), rows=rows,
                   columns=tuple(ColumnSpec.from_dict(c, f"{where}.columns.{i}")
                                 for i, c in enumerate(columns)),
                   head=str(data.get("head", "")), marks=marks, gain=gain,
                   notes=str(data.get("notes", "")), data=is_data)


@dataclasses.dataclass(frozen=True)
class AttentionSpec:
    """A figure of several rows' attention weights on the same test utterances.

    Attributes:
      rows: Row names (attention trunks); the first one's data chooses the utterances.
      utterances: How many test utterances (those the recipe's reference labels).
    """

    rows: Tuple[str, ...]
    utterances: int = 3

    @classmethod
    def from_dict(cls, data: Any, where: str, row_names) -> "AttentionSpec":
        _check_keys(data, ("rows", "utterances"), where)
        rows = _strings(data.get("rows"), f"{where}.rows")
        unknown = [r for r in rows if r not in row_names]
        if not rows or unknown:
            _fail(f"{where}.rows", f"must list rows of the recipe; unknown: {unknown}")
        count = data.get("utterances", 3)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            _fail(f"{where}.utterances", f"must be an integer >= 1, got {count!r}")
        return cls(rows=rows, utterances=count)


@dataclasses.dataclass(frozen=True)
class RecipeSpec:
    """A validated recipe (build with :func:`load_recipe`).

    Attributes:
      name: Recipe name (``--recipe``).
      title: The paper, for the report's heading.
      featurize_synthetic: Featurize config for the embedded synthetic corpus.
      featurize_table: Featurize config for a real annotated table (``--table``).
      requires_views: Label views the corpus must provide.
      head: Default head of the rows.
      rows: The rows, in table order.
      published: Row name -> the paper's own figures (metric -> value, as fractions).
      human: Add a human row: ``true`` (or ``raters``) leave one rater out where the
        corpus has several raters; ``perception`` the per-utterance recognition rates of
        a perception test stored with the corpus (EmoDB's ``recognition_pct``).
      notes: Free text for the report (what the paper did that the recipe does not).
      smoke_overrides: Overrides every row gets under ``--smoke`` (e.g. fewer epochs).
      synthetic_overrides: Overrides every row gets on the synthetic corpus (e.g. a
        narrower network so that the recipe fits its time budget on 2 cores); the
        report lists them.
      tables: The paper's tables, in order.
      reference: A hard label view every row is evaluated and scored against
        (``tfser-evaluate --reference``), so that hard, soft and MLEE-only rows are
        scored on the same utterances; None: each row's head against its own targets.
      synthetic_folds: The protocol's folds trained on the synthetic corpus (``all``,
        or fold names / indices), to fit a recipe's time budget there; a real table
        trains every fold (``tfser-reproduce --folds`` overrides both).
      attention: An attention-weight figure over some rows (paper 001), or None.
      path: The file it was read from.
    """

    name: str
    title: str
    featurize_synthetic: str
    featurize_table: Optional[str]
    requires_views: Tuple[str, ...]
    head: str
    rows: Tuple[RowSpec, ...]
    published: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    human: Any = False
    notes: str = ""
    smoke_overrides: Tuple[str, ...] = ()
    synthetic_overrides: Tuple[str, ...] = ()
    tables: Tuple[TableSpec, ...] = ()
    reference: Optional[str] = None
    synthetic_folds: Any = "all"
    figures: Tuple[FigureSpec, ...] = ()
    synthetic_corpus: Mapping[str, Mapping[str, Any]] = dataclasses.field(
        default_factory=dict)
    attention: Optional[AttentionSpec] = None
    path: str = ""

    def row(self, name: str) -> RowSpec:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"recipe {self.name} has no row {name!r}")

    @classmethod
    def from_dict(cls, data: Any, path: str) -> "RecipeSpec":
        where = os.path.basename(path) or "<recipe>"
        _check_keys(data, TOP_KEYS, where)
        name = data.get("name")
        if not isinstance(name, (str, int)) or not str(name):
            _fail(f"{where}: name", f"must be a non-empty string, got {name!r}")
        featurize = _featurize(data.get("featurize") or {}, f"{where}: featurize")
        head = str(data.get("head", "emotion"))
        raw_rows = data.get("rows")
        if not isinstance(raw_rows, (list, tuple)) or not raw_rows:
            _fail(f"{where}: rows", "must be a non-empty list of rows")
        rows = tuple(RowSpec.from_dict(r, f"{where}: rows.{i}", head)
                     for i, r in enumerate(raw_rows))
        names = [r.name for r in rows]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            _fail(f"{where}: rows", f"duplicate row names {duplicates}")
        _check_stacked(rows, where)
        for index, row in enumerate(rows):
            for ref in run_references(row.overrides):
                if ref not in names[:index]:
                    _fail(f"{where}: rows.{index}.overrides",
                          f"{{run:{ref}}} must name a row listed before {row.name!r}"
                          + ("" if ref in names else f" (no row {ref!r}; rows: {names})"))
        published = data.get("published") or {}
        _check_keys(published, names + ["human"], f"{where}: published")
        for row_name, figures in published.items():
            _check_keys(figures, list(figures) if isinstance(figures, Mapping) else [],
                        f"{where}: published.{row_name}")
        reference = data.get("reference")
        if reference is not None and (not isinstance(reference, str) or not reference):
            _fail(f"{where}: reference", f"must be the name of a hard label view (e.g. "
                                         f"emotion), got {reference!r}")
        return cls(name=str(name), title=str(data.get("title", name)),
                   featurize_synthetic=featurize["synthetic"],
                   featurize_table=featurize.get("table"),
                   requires_views=_strings(data.get("requires_views"),
                                           f"{where}: requires_views"),
                   head=head, rows=rows,
                   published={k: dict(v) for k, v in published.items()},
                   human=_human(data.get("human", False), f"{where}: human"), notes=str(data.get("notes", "")),
                   smoke_overrides=_strings(data.get("smoke_overrides"),
                                            f"{where}: smoke_overrides"),
                   synthetic_overrides=_strings(data.get("synthetic_overrides"),
                                                f"{where}: synthetic_overrides"),
                   tables=tuple(TableSpec.from_dict(t, f"{where}: tables.{i}", names)
                                for i, t in enumerate(data.get("tables") or ())),
                   reference=reference,
                   figures=tuple(FigureSpec.from_dict(f, f"{where}: figures.{i}", names)
                                 for i, f in enumerate(data.get("figures") or ())),
                   synthetic_corpus=_synthetic_corpus(data.get("synthetic_corpus"),
                                                      f"{where}: synthetic_corpus"),
                   path=os.path.abspath(path),
                   attention=None if data.get("attention") is None else
                   AttentionSpec.from_dict(data["attention"], f"{where}: attention", names),
                   synthetic_folds=_fold_selection(data.get("synthetic_folds", "all"),
                                                   f"{where}: synthetic_folds"))


def _human(value: Any, where: str) -> Any:
    """``False``, ``raters`` (also ``true``) or ``perception``."""
    if value is True:
        return "raters"
    if value is False or value in ("raters", "perception"):
        return value
    _fail(where, f"must be true, false, raters or perception, got {value!r}")


def _fold_selection(value: Any, where: str) -> Any:
    """``all`` or a non-empty list of fold names / indices."""
    if value == "all":
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return tuple(value)
    _fail(where, f"must be 'all' or a list of fold names or indices, got {value!r}")


def _check_stacked(rows: Tuple[RowSpec, ...], where: str) -> None:
    """A sklearn row stacks rows that come before it (they run first)."""
    seen = set()
    for index, row in enumerate(rows):
        if row.sklearn is not None:
            later = [r for r in row.sklearn.rows if r not in seen]
            if later:
                _fail(f"{where}: rows.{index}.sklearn.rows", f"{later} must be rows listed "
                                                             f"before {row.name!r}")
        seen.add(row.name)


SIZES = ("default", "small")


def _synthetic_corpus(data: Any, where: str) -> Dict[str, Dict[str, Any]]:
    """Per synthetic corpus size (``default``, ``small`` under --smoke), fields of
    :class:`tfser.synthetic.SynthConfig` this recipe changes (e.g. more continuous
    recordings); the other recipes keep the default corpus."""
    _check_keys(data or {}, SIZES, where)
    out = {}
    for size, fields in (data or {}).items():
        if not isinstance(fields, Mapping):
            _fail(f"{where}.{size}", f"must map SynthConfig fields to values, got {fields!r}")
        out[size] = dict(fields)
    return out


def recipe_path(name_or_path: str) -> str:
    """``000`` -> ``configs/recipes/000.yaml``; an existing file path is returned as is."""
    if os.path.isfile(name_or_path):
        return name_or_path
    path = os.path.join(RECIPE_DIR, f"{name_or_path}.yaml")
    if not os.path.isfile(path):
        known = sorted(f[:-5] for f in os.listdir(RECIPE_DIR) if f.endswith(".yaml")) \
            if os.path.isdir(RECIPE_DIR) else []
        raise RecipeError(f"unknown recipe {name_or_path!r}: no {path}; shipped recipes: "
                          f"{known}, or pass the path of a recipe YAML file")
    return path


def load_recipe(name_or_path: str) -> RecipeSpec:
    """Reads and validates a shipped recipe by name, or any recipe file by path.

    Raises:
      RecipeError: Unknown recipe, unreadable YAML, unknown keys or bad values.
    """
    path = recipe_path(name_or_path)
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as error:
            _fail(path, f"not valid YAML ({error})")
    return RecipeSpec.from_dict(data, path)


def plain(spec: RecipeSpec) -> Dict[str, Any]:
    """The recipe as plain data (for results.json)."""
    return dataclasses.asdict(spec)
