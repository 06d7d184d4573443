"""Dropout layer (Keras's name, arguments and defaults).

Training (``training=True``): each input unit is zeroed with probability
`rate` and the survivors are scaled by 1 / (1 - rate), so the expected output
equals the input (inverted dropout; math in ``minicnn.functional.dropout``).
Inference: the identity, forward and backward. Shapes: (N, H, W, C) in and out.

Randomness: each layer owns one generator, ``make_rng(seed)``, which advances
on every training call. Two layers built with the same seed therefore draw
the same sequence of masks; ``seed=None`` takes a child of minicnn's global
generator (see ``minicnn.rng.set_random_seed``).

``noise_shape`` (Keras's argument) is a length-4 tuple of ints or None, e.g.
``(None, 1, 1, None)``: None takes the input's size on that axis, and a 1
shares one draw along the axis (here: drop whole feature maps per sample).
"""
import numbers

from .. import _validate
from ..functional.activations import linear_backward, linear_forward
from ..functional.dropout import dropout_backward, dropout_forward, draw_keep_mask
from ..rng import make_rng
from .base import Layer


class Dropout(Layer):
    """Randomly zero a fraction `rate` of the inputs during training."""

    def __init__(self, rate, noise_shape=None, seed=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.rate = _validate.rate(rate, "rate")
        self.noise_shape = self._check_noise_shape(noise_shape)
        self.seed = seed
        self._rng = make_rng(seed)

    def _check_noise_shape(self, noise_shape):
        if noise_shape is None:
            return None
        n = self.input_ndim
        allowed = f"None or a tuple of {n} entries, each None or an integer >= 1"
        try:
            dims = tuple(noise_shape)
        except TypeError:
            raise TypeError(f"noise_shape must be {allowed}, got {noise_shape!r}") from None
        if isinstance(noise_shape, str) or len(dims) != n:
            raise ValueError(f"noise_shape must be {allowed}, got {noise_shape!r}")
        for d in dims:
            if d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral)
                                  or d < 1):
                raise ValueError(f"noise_shape must be {allowed}, got {noise_shape!r}")
        return tuple(None if d is None else int(d) for d in dims)

    def _mask_shape(self, x_shape):
        """noise_shape with None filled in; each entry must be 1 or the input's size."""
        if self.noise_shape is None:
            return x_shape
        shape = tuple(n if d is None else d for d, n in zip(self.noise_shape, x_shape))
        for axis, (d, n) in enumerate(zip(shape, x_shape)):
            if d not in (1, n):
                raise ValueError(
                    f"{self.name}: noise_shape {self.noise_shape} does not fit inputs "
                    f"of shape {x_shape}: axis {axis} must be None, 1 or {n}")
        return shape

    def _forward(self, x, training):
        mask_shape = self._mask_shape(x.shape)     # checked in inference mode too
        if not training or self.rate == 0.0:
            y, cache = linear_forward(x)
            return y, (False, cache)
        mask = draw_keep_mask(self._rng, mask_shape, self.rate)
        y, cache = dropout_forward(x, mask, self.rate)
        return y, (True, cache)

    def _backward(self, dy, cache):
        dropped, kernel_cache = cache
        backward = dropout_backward if dropped else linear_backward
        return backward(dy, kernel_cache), {}
