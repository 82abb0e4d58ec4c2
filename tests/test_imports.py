"""Training and serving do not load Apache Beam: the reader side of dataset_info.json lives
beside the TFRecord codec, and only featurization imports tfser.beam. The one exception
is Beam by design: the Beam prediction path of tfser-predict --runner
(tfser.export.beam_predict), which nothing else imports."""

import subprocess
import sys

BEAM_BY_DESIGN = ("tfser.export.beam_predict",)
SCRIPT = f"""
import importlib, pkgutil, sys
for name in ("tfser.data", "tfser.training", "tfser.evaluation", "tfser.export"):
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        if info.name not in {BEAM_BY_DESIGN!r}:
            importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m == "apache_beam" or m.startswith("tfser.beam"))
print("LOADED", loaded)
"""


def test_data_training_evaluation_export_import_no_beam():
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED []" in done.stdout, done.stdout[-2000:]
