"""Merging layers: Add and Concatenate (Keras's names and arguments).

Both take a list of two or more NHWC arrays and return one; ``backward``
returns a list of input gradients in the same order. Math in
``minicnn.functional.merging``.

- ``Add()``: y = x_1 + ... + x_K; all shapes must be equal. (Keras also
  broadcasts size-1 axes here; minicnn refuses them, so a shape slip in a
  skip connection is reported instead of stretched.)
- ``Concatenate(axis=-1)``: joins along `axis`; the other sizes must agree.
  The U-Net's decoder uses ``Concatenate(axis=3)`` (= -1, the channels) to
  stack the upsampled features onto the skip connection:
  (N, H, W, C1) and (N, H, W, C2) -> (N, H, W, C1 + C2).
  axis=0 joins batches (N1 + N2 samples), as Keras allows.
"""

from .. import _validate, backend
from ..functional.merging import (add_backward, add_forward, add_output_shape,
                                  concatenate_output_shape)
from .base import Layer


class Add(Layer):
    """Element-wise sum of two or more inputs of the same shape."""

    n_inputs = None

    def _check_inputs(self, inputs):
        xs = super()._check_inputs(inputs)
        add_output_shape([x.shape for x in xs])    # before build: report real shapes
        return xs

    def build(self, input_shape):
        add_output_shape(input_shape)              # also when assembling a model
        super().build(input_shape)

    def _forward(self, xs, training):
        return add_forward(xs)

    def _backward(self, dy, cache):
        return add_backward(dy, cache), {}

    def compute_output_shape(self, input_shape):
        return add_output_shape(input_shape)


class Concatenate(Layer):
    """Concatenate two or more inputs along `axis` (-1: the channels)."""

    n_inputs = None

    def __init__(self, axis=-1, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.axis = _validate.axis(axis, self.input_ndim)

    def _check_inputs(self, inputs):
        xs = super()._check_inputs(inputs)
        concatenate_output_shape([x.shape for x in xs], self.axis)
        return xs

    def build(self, input_shape):
        concatenate_output_shape(input_shape, self.axis)
        super().build(input_shape)

    def _forward(self, xs, training):
        return backend.run_forward("concatenate", xs, self.axis)

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache), {}

    def compute_output_shape(self, input_shape):
        return concatenate_output_shape(input_shape, self.axis)
