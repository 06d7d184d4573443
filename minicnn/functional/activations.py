"""Element-wise activations and softmax: pure forward/backward kernels.

Every kernel works on an array of any shape (NHWC in the layers) and keeps its
dtype. ``xxx_forward(x) -> (y, cache)``; ``xxx_backward(dy, cache) -> dx``,
where ``dy = dL/dy`` has the shape of ``y`` and ``dx = dL/dx`` the shape of
``x``. ``dy`` is read, never modified.

linear    y = x                                   dx = dy
relu      Keras's ReLU with max_value m, negative_slope a, threshold t:
              y = a * (x - t)   if x <= t         dx = a * dy
              y = x             if t < x < m      dx = dy
              y = m             if x >= m         dx = 0
          (defaults m = inf, a = 0, t = 0 give max(x, 0)). At a kink the
          derivative is that of the piece the point belongs to above: a at
          x = t (0 by default, like TensorFlow's relu at 0), 0 at x = m (like
          TensorFlow's relu6 at 6). Keras is not consistent there: its clip
          passes 1 at x = m for other max_values, and 0 at x = t with a
          max_value. Gradient checks keep inputs away from the kinks.
sigmoid   y = 1 / (1 + exp(-x))                   dx = dy * y * (1 - y)
tanh      y = tanh(x)                             dx = dy * (1 - y**2)
softmax   along one axis k (the channels, -1, by default):
              y_i = exp(x_i - max_j x_j) / sum_j exp(x_j - max_j x_j)
          Subtracting the max changes nothing mathematically (it cancels
          between numerator and denominator) but keeps exp from overflowing.
          Jacobian dy_i/dx_j = y_i * (delta_ij - y_j), so
              dx_j = sum_i dy_i * y_i * (delta_ij - y_j)
                   = y_j * (dy_j - sum_i dy_i * y_i)
          i.e. dx = y * (dy - sum(dy * y, axis=k, keepdims=True)).

``get_activation(identifier)`` maps a Keras activation name ('relu', ...)
or None to its (forward, backward) pair; layers such as Conv2D use it for
their ``activation=`` argument.

Caches: linear keeps nothing, sigmoid and tanh their output y; relu and
softmax a named tuple (``ReluCache``, ``SoftmaxCache``), which their
compiled twins in ``minicnn.numba_kernels`` return too.
"""
from typing import NamedTuple

import numpy as np

from .._validate import one_of


class ReluCache(NamedTuple):
    """What relu_backward needs: where the input was, and the ReLU's settings."""
    x: np.ndarray                 # the input (or any array positive exactly where it is)
    max_value: float | None
    negative_slope: float
    threshold: float


def relu_cache_of_output(y):
    """The cache of a plain ReLU (max(z, 0)) built from its output y instead of
    its input z: its backward only asks where z > 0, which is exactly where
    y > 0. A fused convolution + ReLU keeps y this way and never stores z."""
    return ReluCache(y, None, 0.0, 0.0)


class SoftmaxCache(NamedTuple):
    """The output y, the axis, and log_normaliser = log sum_j exp(x_j) (with
    the axis kept, size 1): log y = x - log_normaliser, which a cross-entropy
    computed from the same logits reads instead of a second softmax."""
    y: np.ndarray
    axis: int
    log_normaliser: np.ndarray


# --------------------------------------------------------------------- linear
def linear_forward(x):
    """Identity: y = x. The cache is empty: ()."""
    return x, ()


def linear_backward(dy, cache):
    """dx = dy (the same array: no kernel ever writes into a gradient)."""
    return dy


# ----------------------------------------------------------------------- relu
def relu_forward(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras's ReLU (see the module docstring). Cache: the input x."""
    # Start from the piece below the threshold, then overwrite the other two.
    y = negative_slope * (x - threshold)
    above = x > threshold
    y = np.where(above, x, y)
    if max_value is not None:
        y = np.where(above & (x >= max_value), max_value, y)
    y = y.astype(x.dtype, copy=False)
    return y, ReluCache(x, max_value, negative_slope, threshold)


def relu_backward(dy, cache):
    """dx = dy * f'(x): a below the threshold, 1 between t and m, 0 above m."""
    x, max_value, negative_slope, threshold = cache          # a ReluCache
    above = x > threshold
    slope = np.where(above, 1.0, negative_slope)
    if max_value is not None:
        slope = np.where(above & (x >= max_value), 0.0, slope)
    return (dy * slope).astype(dy.dtype, copy=False)


# -------------------------------------------------------------------- sigmoid
def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|.

    With e = exp(-|x|) (always in (0, 1]):
      x >= 0:  y = 1 / (1 + e)
      x <  0:  y = e / (1 + e)     (= exp(x) / (1 + exp(x)))
    so exp never sees a large positive argument. Cache: the output y.
    """
    e = np.exp(-np.abs(x))
    y = np.where(x >= 0, 1.0, e) / (1.0 + e)
    y = y.astype(x.dtype, copy=False)
    return y, y


def sigmoid_backward(dy, cache):
    """dx = dy * y * (1 - y), from the cached output y."""
    y = cache
    return dy * y * (1.0 - y)


# ----------------------------------------------------------------------- tanh
def tanh_forward(x):
    """y = tanh(x). Cache: the output y."""
    y = np.tanh(x)
    return y, y


def tanh_backward(dy, cache):
    """dx = dy * (1 - y**2), from the cached output y."""
    y = cache
    return dy * (1.0 - y * y)


# -------------------------------------------------------------------- softmax
def softmax_forward(x, axis=-1):
    """Softmax along `axis` (max-subtracted). Cache: a SoftmaxCache."""
    top = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - top)
    total = np.sum(e, axis=axis, keepdims=True)
    y = e / total
    return y, SoftmaxCache(y, axis, top + np.log(total))


def softmax_backward(dy, cache):
    """dx = y * (dy - sum(dy * y, axis, keepdims=True))."""
    y, axis = cache.y, cache.axis
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


# ------------------------------------------------------------------- registry
_REGISTRY = {
    "linear": (linear_forward, linear_backward),
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "softmax": (softmax_forward, softmax_backward),   # over the last axis
}

ACTIVATION_NAMES = tuple(_REGISTRY)

# Activations whose output is a probability computed from logits: Keras's fit
# computes a cross-entropy that follows them from those logits (minicnn.losses).
PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid")


def activation_name(identifier):
    """The registry name of a Keras activation: None means 'linear'.

    Raises a TypeError or ValueError naming the allowed names otherwise."""
    if identifier is None:
        return "linear"
    if not isinstance(identifier, str):
        raise TypeError(
            f"activation must be None or one of {ACTIVATION_NAMES}, "
            f"got {identifier!r}")
    return one_of(identifier, ACTIVATION_NAMES, "activation")


def get_activation(identifier):
    """(forward, backward) for a Keras activation name, or linear for None.

    ``forward(x) -> (y, cache)`` and ``backward(dy, cache) -> dx`` with the
    default arguments (ReLU is max(x, 0); softmax runs over the last axis,
    the channels, as Keras's ``activation='softmax'`` does).
    """
    return _REGISTRY[activation_name(identifier)]
