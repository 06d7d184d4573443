"""Test configuration: Keras must see its backend settings before import."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest  # noqa: E402  (after the environment above)


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
