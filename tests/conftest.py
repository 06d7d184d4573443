"""Test configuration: Keras's backend settings, the Keras fixtures, --hide-keras.

Two sets of tests:

- the fast set, ``python -m pytest``: every gradient check, every backend
  pair's agreement, every oracle and behaviour test, and, where Keras is
  installed, every per-layer Keras comparison;
- the slow set, marked ``@pytest.mark.slow``: end-to-end runs (whole
  trainings and whole-volume predictions, the examples, the benchmarks, the
  wheel build, child pytest runs, fresh processes compiling from cold).
  ``python -m pytest --all`` runs both sets, ``python -m pytest -m slow``
  the slow set alone.

Two installs:

- ``pip install -e ".[test]"``: everything, including the comparisons with
  Keras/TensorFlow.
- ``pip install -e . pytest`` (the light install for learners): the tests
  that compare with Keras, or read and write Keras's .weights.h5 files, are
  skipped, each with its reason (keras_helpers.KERAS_PARITY_REASON,
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
    parser.addoption(
        "--all", action="store_true",
        help="run the slow set too (tests marked slow: whole trainings and "
             "predictions, the examples, the benchmarks, the wheel build, fresh "
             "processes compiling from cold); -m slow runs the slow set alone")


def _runs_slow_tests(config):
    """Tests marked slow run with --all, or when -m chooses them."""
    return config.getoption("--all") or bool(config.option.markexpr)


def pytest_collection_modifyitems(config, items):
    if _runs_slow_tests(config):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


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
    lines = []
    if config.getoption("--hide-keras"):
        lines.append(f"--hide-keras: {', '.join(HIDDEN_BY_HIDE_KERAS)} hidden from import")
    if not _runs_slow_tests(config):
        lines.append("the fast set: tests marked slow are deselected "
                     "(--all runs everything, -m slow the slow set alone)")
    return lines


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


@pytest.fixture(scope="session")
def tiny_training(tmp_path_factory):
    """(folder, exit status) of one tiny ``minicnn train`` run
    (cli_helpers.TINY), shared by the tests of its outputs and of predict."""
    from cli_helpers import train_tiny
    out = tmp_path_factory.mktemp("tiny-training")
    return out, train_tiny(out)


@pytest.fixture
def restore_global_state():
    """The command line sets the backend and reseeds the global generator:
    a test that runs it puts both back (``pytestmark = pytest.mark.usefixtures(
    "restore_global_state")``)."""
    import minicnn
    from minicnn import rng
    backend, generator = minicnn.get_backend(), rng._global["rng"]
    yield
    minicnn.set_backend(backend)
    rng._global["rng"] = generator
