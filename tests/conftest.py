"""Test configuration: Keras's backend settings, the Keras fixtures, --hide-keras.

Two ways to run the suite:

- ``pip install -e ".[test]" && python -m pytest`` (what CI runs): every
  test, including the comparisons with Keras/TensorFlow.
- ``pip install -e . pytest && python -m pytest`` (the light install for
  learners): every gradient check, oracle test and behaviour test runs; the
  tests that compare with Keras, or read and write Keras's .weights.h5 files,
  are skipped, each with its reason (keras_helpers.KERAS_PARITY_REASON,
  keras_helpers.H5PY_REASON).

Only those tests may need Keras, and they ask for it when they run: through
the ``keras``, ``tf`` and ``h5py`` fixtures below, or keras_helpers's
import_keras() / import_tensorflow() / import_h5py(). No test module imports
Keras, TensorFlow or h5py when it is imported, or a missing Keras would skip
the whole module, gradient checks and all.

``python -m pytest --hide-keras`` runs the light suite in the full install:
keras, tensorflow and h5py (the test extra's Keras stack; h5py is there for
Keras's weight files) and their submodules then raise ModuleNotFoundError
when imported, exactly as where they are not installed. CI runs it after the
full suite, so a module-level Keras import fails CI at collection. It hides
them from this pytest process only, not from the subprocesses some tests
start; those run minicnn, which imports none of them unless it is given a
.weights.h5 file.
"""
import importlib.abc
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest  # noqa: E402  (after the environment above)

from keras_helpers import import_h5py, import_keras, import_tensorflow  # noqa: E402

HIDDEN_BY_HIDE_KERAS = ("keras", "tensorflow", "h5py")


class HiddenPackages(importlib.abc.MetaPathFinder):
    """Makes importing the given top-level packages fail as if not installed."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden by --hide-keras)",
                                      name=fullname)
        return None                     # not ours: let the next finder look


def pytest_addoption(parser):
    parser.addoption(
        "--hide-keras", action="store_true",
        help="run as if keras, tensorflow and h5py were not installed (the light "
             "install): the Keras comparisons skip, everything else must run")


def pytest_configure(config):
    if not config.getoption("--hide-keras"):
        return
    # A package imported before this point could not be hidden any more.
    already = sorted(name for name in HIDDEN_BY_HIDE_KERAS if name in sys.modules)
    if already:
        raise pytest.UsageError(f"--hide-keras: {', '.join(already)} already imported "
                                "before the tests (by a plugin?), so it cannot be hidden")
    finder = HiddenPackages(HIDDEN_BY_HIDE_KERAS)
    sys.meta_path.insert(0, finder)
    config.add_cleanup(lambda: sys.meta_path.remove(finder))


def pytest_report_header(config):
    if config.getoption("--hide-keras"):
        return f"--hide-keras: {', '.join(HIDDEN_BY_HIDE_KERAS)} hidden from import"
    return None


@pytest.fixture(scope="session")
def keras():
    """The keras module; skips the test where Keras or TensorFlow is missing."""
    return import_keras()


@pytest.fixture(scope="session")
def tf():
    """The tensorflow module; skips the test where it is missing."""
    return import_tensorflow()


@pytest.fixture(scope="session")
def h5py():
    """The h5py module, for Keras's .weights.h5 files; skips the test where it is missing."""
    return import_h5py()


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    """Run the test once per kernel backend: the NumPy reference and Numba.

    Gradient checks and Keras parity tests take this fixture, so the compiled
    twins in minicnn.numba_kernels are held to the same bounds as the NumPy
    kernels. The previous backend is restored afterwards.
    """
    import minicnn
    previous = minicnn.get_backend()
    minicnn.set_backend(request.param)
    yield request.param
    minicnn.set_backend(previous)
