"""Global setting: the default float type.

``set_floatx('float32' | 'float64')`` sets the dtype that new layers, losses
and initializers use when no ``dtype=`` is given (Keras's ``floatx``).
float32 is the default, as in Keras; gradient checks run in float64.
(Which kernels run is the other global setting: ``minicnn.backend``.)
"""
import numpy as np

_FLOATX_CHOICES = ("float32", "float64")

_state = {"floatx": "float32"}


def floatx():
    """The default float dtype name for new layers: 'float32' or 'float64'."""
    return _state["floatx"]


def set_floatx(name):
    """Set the default float dtype for layers created from now on."""
    if name not in _FLOATX_CHOICES:
        raise ValueError(
            f"set_floatx: name must be one of {_FLOATX_CHOICES}, got {name!r}")
    _state["floatx"] = name


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
