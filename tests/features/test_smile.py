"""openSMILE after TensorFlow: the guarded import gives the same features as a TF-free process."""

import json
import subprocess
import sys

_SCRIPT = """
import json, sys
import numpy as np
if sys.argv[1] == "tf_first":
    import tensorflow  # loads libtensorflow_framework into the global symbol scope
from tfser.features.smile import make_smile
signal = (0.3 * np.sin(2 * np.pi * 150 * np.arange(32000) / 16000)).astype(np.float32)
values = make_smile().process_signal(signal, 16000).to_numpy().ravel()
print(json.dumps([float(v) for v in values]))
"""


def _features(order):
    done = subprocess.run([sys.executable, "-c", _SCRIPT, order], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_opensmile_after_tensorflow_is_bit_identical():
    without_tf = _features("plain")
    with_tf = _features("tf_first")
    assert len(without_tf) == 88
    assert with_tf == without_tf
