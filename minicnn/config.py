"""Global settings: the default float type and the kernel backend.

Two switches, both explicit:

- ``set_floatx('float32' | 'float64')`` sets the dtype that new layers, losses
  and initializers use when no ``dtype=`` is given (Keras's ``floatx``).
  float32 is the default, as in Keras; gradient checks run in float64.
- ``set_backend('numpy' | 'numba')`` chooses which implementation of the hot
  kernels runs. ``'numpy'`` is the readable reference; ``'numba'`` is the fast
  one. Choosing ``'numba'`` imports Numba at once and raises an ImportError if
  it is missing: minicnn never falls back silently from one to the other.
"""
import numpy as np

_FLOATX_CHOICES = ("float32", "float64")
_BACKEND_CHOICES = ("numpy", "numba")

_state = {"floatx": "float32", "backend": "numpy"}


def floatx():
    """The default float dtype name for new layers: 'float32' or 'float64'."""
    return _state["floatx"]


def set_floatx(name):
    """Set the default float dtype for layers created from now on."""
    if name not in _FLOATX_CHOICES:
        raise ValueError(
            f"set_floatx: name must be one of {_FLOATX_CHOICES}, got {name!r}")
    _state["floatx"] = name


def get_backend():
    """The name of the active kernel backend: 'numpy' or 'numba'."""
    return _state["backend"]


def set_backend(name):
    """Choose the kernel backend. 'numba' requires Numba to be importable."""
    if name not in _BACKEND_CHOICES:
        raise ValueError(
            f"set_backend: name must be one of {_BACKEND_CHOICES}, got {name!r}")
    if name == "numba":
        try:
            import numba  # noqa: F401  (imported to fail loudly now, not later)
        except ImportError as err:
            raise ImportError(
                "set_backend('numba') needs the numba package, which is not "
                "importable; install it (pip install numba) or use "
                "set_backend('numpy')") from err
    _state["backend"] = name


def resolve_dtype(dtype, where="dtype"):
    """Return a NumPy float dtype: `dtype` if given, else the floatx default."""
    if dtype is None:
        return np.dtype(_state["floatx"])
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{where} must be 'float32' or 'float64', got {dtype!r}") from err
    if resolved not in (np.float32, np.float64):
        raise TypeError(f"{where} must be 'float32' or 'float64', got {dtype!r}")
    return resolved
