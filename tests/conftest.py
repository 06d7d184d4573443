"""Test configuration: Keras's backend settings and the Keras fixtures.

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
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest  # noqa: E402  (after the environment above)

from keras_helpers import import_h5py, import_keras, import_tensorflow  # noqa: E402


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
