"""Activation layers: Activation, ReLU and Softmax (Keras names and defaults).

No weights; the math and its derivatives are in
``minicnn.functional.activations``. Output shape = input shape (N, H, W, C).

- ``Activation('relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | None)``
  applies the named function (softmax over the last axis, the channels).
- ``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``:
  y = x between threshold and max_value, y = max_value above it,
  y = negative_slope * (x - threshold) below the threshold.
- ``Softmax(axis=-1)``: softmax along any one axis.
"""
import numbers
from typing import NamedTuple

from .. import _validate, backend
from ..functional.activations import PROBABILITY_ACTIVATIONS, activation_name
from .base import Layer


class ActivationLayerCache(NamedTuple):
    """The activation's run, and its Logits record when it is a softmax
    (over the last axis) or a sigmoid."""
    activation: backend.Kept
    logits: backend.Logits | None


def _non_negative(value, name, allow_none=False):
    """`value` as a float >= 0 (or None when allowed), as Keras's ReLU checks."""
    if value is None and allow_none:
        return None
    allowed = "None or a number >= 0" if allow_none else "a number >= 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return float(value)


class Activation(Layer):
    """Applies a named activation element-wise (softmax: over the channels)."""

    def __init__(self, activation, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.activation = activation_name(activation)

    def _forward(self, x, training):
        y, kept = backend.activation_forward(self.activation, x)
        logits = (backend.Logits(self.activation, x, y, kept)
                  if self.activation in PROBABILITY_ACTIVATIONS else None)
        return y, ActivationLayerCache(kept, logits)

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache.activation), {}

    def output_logits(self):
        return None if self._cache is None else self._cache.logits

    def _backward_from_logits(self, dz, cache):
        return dz, {}               # the logits are this layer's input


class ReLU(Layer):
    """Rectified linear unit with Keras's max_value, negative_slope, threshold.

        f(x) = max_value                       if x >= max_value
        f(x) = x                               if threshold < x < max_value
        f(x) = negative_slope * (x - threshold)  otherwise
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0,
                 name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.max_value = _non_negative(max_value, "max_value", allow_none=True)
        self.negative_slope = _non_negative(negative_slope, "negative_slope")
        self.threshold = _non_negative(threshold, "threshold")

    def _forward(self, x, training):
        return backend.run_forward("relu", x, self.max_value, self.negative_slope,
                                   self.threshold)

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache), {}


class Softmax(Layer):
    """Softmax along `axis` (-1, the channels, by default): each slice sums to 1."""

    def __init__(self, axis=-1, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.axis = _validate.axis(axis, self.input_ndim)

    def _forward(self, x, training):
        y, kept = backend.run_forward("softmax", x, self.axis)
        # Logits only over the last axis, the classes a cross-entropy reads.
        last = self.axis % x.ndim == x.ndim - 1
        return y, ActivationLayerCache(kept, backend.Logits("softmax", x, y, kept)
                                       if last else None)

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache.activation), {}

    def output_logits(self):
        return None if self._cache is None else self._cache.logits

    def _backward_from_logits(self, dz, cache):
        return dz, {}               # the logits are this layer's input

