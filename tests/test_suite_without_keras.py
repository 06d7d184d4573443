"""Without Keras, only the Keras comparisons may be skipped (see conftest.py).

The light install (``pip install -e . pytest``) has no Keras, TensorFlow or
h5py. A test module that imported one of them when imported would then fail
to collect, or with pytest.importorskip be skipped whole, gradient checks
and oracle tests included. These tests start a fresh pytest with
--hide-keras, which makes those imports fail as they would there: it must
collect every test module, and skip a Keras comparison with its reason.
"""
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
KERAS_TEST = "test_metrics.py::test_dice_is_related_to_keras_iou_per_class"


def run_pytest_hiding_keras(*args):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--hide-keras", "-p", "no:cacheprovider", *args],
        cwd=TESTS.parent, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_every_test_module_is_collected_without_keras():
    done = run_pytest_hiding_keras("--collect-only", "--all", "-q", str(TESTS))
    lines = (done.stdout + done.stderr).splitlines()
    test_ids = [line for line in lines if "::" in line]
    # Everything but the list of test ids: collection errors, skips, the summary.
    report = "\n".join(line for line in lines if "::" not in line)
    assert done.returncode == 0, report
    collected = {Path(test_id.split("::")[0]).name for test_id in test_ids}
    missing = sorted({path.name for path in TESTS.glob("test_*.py")} - collected)
    assert not missing, f"no test collected from {missing} without Keras:\n{report}"


@pytest.mark.slow
def test_a_keras_comparison_is_skipped_with_its_reason_without_keras():
    done = run_pytest_hiding_keras("-q", "-rs", str(TESTS / KERAS_TEST))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "1 skipped" in output and "Keras parity: needs keras + tensorflow" in output, output
