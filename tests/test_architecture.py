"""Data flows one way: a stage imports only stages to its left (see the README).

corpora -> annotations -> labels -> features -> beam -> data -> models -> training
-> evaluation -> export. ``config`` and ``testing`` are shared. Two named
exceptions: loaders read audio headers with ``features.audio_io`` (a duration is a
fact the table records), and ``export`` reuses ``features`` so serving runs the
training front-end.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfser"

# Order of the stages; the table schema (annotations) is what corpora produce, so
# it sits first even though loaders run before it in the data flow.
ORDER = ["annotations", "corpora", "synthetic", "labels", "features", "beam", "data",
         "models", "training", "evaluation", "export", "recipes"]
SHARED = {"config", "testing", "__init__"}
EXCEPTIONS = {("corpora", "features.audio_io"), ("synthetic", "features.audio_io")}


def _tfser_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from tfser.features import audio_io` imports tfser.features.audio_io.
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("tfser."):
                yield name[len("tfser."):]


def test_stages_import_only_upstream():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        stage = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if stage in SHARED:
            continue
        assert stage in ORDER, f"new top-level package {stage}: add it to ORDER"
        for target in _tfser_imports(path):
            target_stage = target.split(".")[0]
            if target_stage in SHARED or target_stage == stage:
                continue
            if any(stage == s and target.startswith(t) for s, t in EXCEPTIONS):
                continue
            if target_stage not in ORDER or ORDER.index(target_stage) > ORDER.index(stage):
                violations.append(f"{path.relative_to(PACKAGE)} imports tfser.{target}")
    assert not violations, "downstream imports:\n" + "\n".join(violations)
