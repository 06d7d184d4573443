"""Compiled once per machine: the kernels load from Numba's disk cache, and an
edit to any kernel source is picked up by the next process.

Both tests start fresh interpreters with ``NUMBA_CACHE_DIR`` pointing into a
new temporary folder, so the first one compiles from cold: they are in the
slow set.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One small training step of each U-Net variant (nearest and transpose
# upsampling, so every kernel a training step runs is reached) and the wide
# direct convolution at both channel-block widths; prints the minicnn
# kernels Numba had to compile (a cache miss) as JSON.
TRAINING_STEP = """
import json, numpy as np, minicnn
from numba.core import event
from minicnn import losses, models, optimizers
from minicnn.functional.conv import conv_geometry
from minicnn.numba_kernels import direct_conv

compiled = []

class Compiles(event.Listener):
    def on_start(self, ev):
        function = ev.data["dispatcher"].py_func
        if function.__module__.startswith("minicnn"):
            compiled.append(function.__qualname__)

    def on_end(self, ev):
        pass

event.register("numba:compile", Compiles())
minicnn.set_backend("numba")
rng = np.random.default_rng(0)
x = rng.random((2, 16, 24, 1), dtype=np.float32)
y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, (2, 16, 24))]
for upsampling in ("nearest", "transpose"):
    minicnn.set_random_seed(0)
    model = models.unet((16, 24, 1), 3, filters=(8, 16), bottleneck=32, upsampling=upsampling)
    model.compile(optimizer=optimizers.Adam(1e-3), loss=losses.CategoricalCrossentropy())
    model.train_on_batch(x, y)
for c_out in (16, 32):
    wide = rng.standard_normal((1, 6, 30, 8), dtype=np.float32)
    kernel = rng.standard_normal((3, 3, 8, c_out), dtype=np.float32)
    direct_conv.convolve(wide, kernel, None, conv_geometry((6, 30), (3, 3), (1, 1), (1, 1),
                                                           "same"), relu=True)
print(json.dumps(sorted(compiled)))
"""


def _run(code, cache_dir, pythonpath=None):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=900, cwd=str(cache_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _files(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, names in os.walk(folder) for f in names)


def test_a_second_process_compiles_nothing(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    first = _run(TRAINING_STEP, cache)
    assert any("rows" in name for name in first) and any("padded" in name for name in first)
    files = _files(cache)
    second = _run(TRAINING_STEP, cache)
    assert second == [], f"compiled again in a second process: {second}"
    assert _files(cache) == files


# Process 1 and 2 compute the same softmax cross-entropy from logits with the
# compiled kernel of numba_kernels/losses.py, which inlines softmax_row from
# numba_kernels/activations.py. Between them, activations.py is edited so
# that softmax_row returns twice the log-sum: the loss must change with it.
CROSS_ENTROPY = """
import json, numpy as np
from minicnn.numba_kernels import losses
z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
print(json.dumps(float(losses.categorical_crossentropy_forward(y, z, from_logits=True)[0])))
"""


def test_an_edit_to_an_inlined_helper_reaches_the_kernels_that_inline_it(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "minicnn"), copy / "minicnn",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nii.gz", "*.npz"))
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    before = _run(CROSS_ENTROPY, cache, pythonpath=copy)

    source = copy / "minicnn" / "numba_kernels" / "activations.py"
    text = source.read_text()
    assert text.count("return top, np.log(total)") == 1
    source.write_text(text.replace("return top, np.log(total)",
                                   "return top, 2 * np.log(total)"))
    after = _run(CROSS_ENTROPY, cache, pythonpath=copy)

    # loss = mean over rows of -sum_c y (z - max - log_sum); doubling log_sum
    # adds the mean log_sum once more.
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    top = z.max(axis=1)
    log_sum = np.log(np.exp(z - top[:, None]).sum(axis=1))
    assert before == pytest.approx(np.mean(-(np.array([2.0, 0.0]) - top - log_sum)), rel=1e-12)
    assert after == pytest.approx(before + log_sum.mean(), rel=1e-12)
