"""Weight initializers with Keras's names, formulas and fan computation.

For a Conv2D kernel of shape (kh, kw, C_in, C_out) the receptive field is
kh * kw, so

    fan_in  = kh * kw * C_in        fan_out = kh * kw * C_out

- glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))
- he_normal:      normal truncated at 2 standard deviations, with
                  stddev = sqrt(2 / fan_in) / 0.87962566103423978
                  (the divisor restores the variance lost by truncation)
- zeros, ones:    constants

Every initializer takes ``seed``: the same seed gives the same weights.
``get(name_or_callable)`` turns a Keras string into an initializer.
"""
import numpy as np

from .config import resolve_dtype
from .rng import make_rng

# Standard deviation of a unit normal truncated to [-2, 2].
_TRUNCATED_NORMAL_STD = 0.87962566103423978


def compute_fans(shape):
    """(fan_in, fan_out) for a weight of `shape`, as Keras computes them."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = int(np.prod(shape[:-2]))
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base: ``init(shape, dtype=None, seed=None) -> ndarray``."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None, seed=None):
        rng = make_rng(self.seed if seed is None else seed)
        return self.sample(tuple(shape), rng).astype(resolve_dtype(dtype))

    def sample(self, shape, rng):
        return np.zeros(shape)


class Zeros(Initializer):
    """All zeros (Keras's default bias initializer)."""


class Ones(Initializer):
    """All ones (BatchNormalization's gamma and moving variance)."""

    def sample(self, shape, rng):
        return np.ones(shape)


class GlorotUniform(Initializer):
    """Uniform on [-limit, limit], limit = sqrt(6 / (fan_in + fan_out))."""

    def sample(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class HeNormal(Initializer):
    """Truncated normal (2 std) with stddev sqrt(2 / fan_in), variance-corrected."""

    def sample(self, shape, rng):
        fan_in, _ = compute_fans(shape)
        stddev = np.sqrt(2.0 / fan_in) / _TRUNCATED_NORMAL_STD
        values = rng.standard_normal(shape)
        # Redraw the samples that fall outside two standard deviations.
        outside = np.abs(values) > 2.0
        while outside.any():
            values[outside] = rng.standard_normal(int(outside.sum()))
            outside = np.abs(values) > 2.0
        return values * stddev


_BY_NAME = {
    "zeros": Zeros,
    "ones": Ones,
    "glorot_uniform": GlorotUniform,
    "he_normal": HeNormal,
}


def get(identifier):
    """An initializer from a Keras name ('glorot_uniform', ...) or an object."""
    if isinstance(identifier, Initializer) or (
            callable(identifier) and not isinstance(identifier, (str, type))):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(
        f"initializer must be one of {tuple(_BY_NAME)} or an Initializer, "
        f"got {identifier!r}")


glorot_uniform = GlorotUniform
he_normal = HeNormal
zeros = Zeros
ones = Ones
