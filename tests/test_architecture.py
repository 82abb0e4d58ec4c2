"""Data flows one way: a stage imports only stages to its left (see the README).

audio, metrics -> annotations -> corpora -> synthetic -> labels -> features -> beam -> data ->
models -> training -> evaluation -> export -> recipes. ``config`` (the shared config
toolkit) and ``testing`` (fakes and fixtures) may be imported by any stage. No named
exceptions: a module that two stages need lives on the lower floor.

Binaries (``pipelines/``) and benchmarks import the library and the shared flag and
start-up helpers, never another binary. No module imports itself back through a loop,
inside a stage or across stages.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tfser"

# Order of the stages. The table schema (annotations) is what corpora produce, so it
# sits before them even though loaders run first in the data flow. The ground floor:
# audio reading (loaders, the synthetic corpus, front-ends and serving stand on it) and
# pure metric functions (label statistics, training figures and evaluation count alike).
ORDER = ["fileio", "audio", "metrics", "annotations", "corpora", "synthetic", "labels", "features", "beam",
         "data", "models", "training", "evaluation", "export", "recipes"]
SHARED = {"config", "testing", "__init__"}
# pipelines/ modules that are not binaries: any binary may import them.
PIPELINE_HELPERS = {"__init__", "cli", "flags"}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path):
    """Yields every absolute dotted name a file imports (``from a import b`` -> ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def _sources(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


MODULES = {_module_name(p): p for p in _sources("tfser", "pipelines", "benchmarks")}


def _resolve(name: str):
    """The project module a dotted import name lands in (longest known prefix), or None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def test_stages_import_only_upstream():
    violations = []
    for path in _sources("tfser"):
        stage = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if stage in SHARED:
            continue
        assert stage in ORDER, f"new top-level package {stage}: add it to ORDER"
        for target in _imports(path):
            if not target.startswith("tfser."):
                continue
            target_stage = target.split(".")[1]
            if target_stage in SHARED or target_stage == stage:
                continue
            if target_stage not in ORDER or ORDER.index(target_stage) > ORDER.index(stage):
                violations.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not violations, "downstream imports:\n" + "\n".join(violations)


def test_shared_modules_import_no_stage():
    violations = [f"{path.relative_to(ROOT)} imports {target}"
                  for path in _sources("tfser/config")
                  for target in _imports(path)
                  if target.startswith("tfser.") and target.split(".")[1] in ORDER]
    assert not violations, "tfser.config must stand alone:\n" + "\n".join(violations)


def test_binaries_and_benchmarks_import_no_binary():
    violations = []
    for path in _sources("pipelines", "benchmarks"):
        for target in _imports(path):
            if not target.startswith("pipelines."):
                continue
            binary = target.split(".")[1]
            if binary in PIPELINE_HELPERS or path.parts[-2:] == ("pipelines", f"{binary}.py"):
                continue
            violations.append(f"{path.relative_to(ROOT)} imports {target}")
    # A binary's own tests (tests/pipelines/) run it; other tests use the library.
    for path in _sources("tfser", "tests"):
        if path.parent.name == "pipelines":
            continue
        for target in _imports(path):
            if target.startswith("pipelines."):
                violations.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not violations, "imports of a binary:\n" + "\n".join(violations)


def _graph():
    """Module -> project modules it imports at module level or inside functions."""
    graph = {}
    for name, path in MODULES.items():
        edges = set()
        for target in _imports(path):
            resolved = _resolve(target)
            if resolved and resolved != name:
                edges.add(resolved)
        graph[name] = edges
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _without_package_inits(graph):
    """A package's ``__init__`` that re-exports its modules is not a loop of its own:
    an edge to a package stands for edges to the modules the package imports from."""
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    flat = {}
    for name, edges in graph.items():
        if name in packages:
            continue
        targets, seen, todo = set(), set(), list(edges)
        while todo:
            target = todo.pop()
            if target in seen:
                continue
            seen.add(target)
            if target in packages:
                todo.extend(t for t in graph[target] if t.startswith(target + "."))
            else:
                targets.add(target)
        flat[name] = targets - {name}
    return flat


def test_no_import_loops():
    cycles = _cycles(_without_package_inits(_graph()))
    assert not cycles, "import loops:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_loop_finder_finds_loops():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
