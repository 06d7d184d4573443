"""MaxPooling2D and AveragePooling2D (Keras names, arguments and defaults); no weights.

The math (each window's maximum, its gradient to the first maximum in
row-major order and -inf padding; each window's mean over its real pixels,
its gradient shared evenly among them) and the output sizes are in
``minicnn.functional.pooling``; strides default to pool_size, as in Keras.
The course's U-Net halves the image with MaxPooling2D(2): (104, 104, 32) ->
(52, 52, 32); on an odd size such as 13, 'valid' drops the last row
(13 -> 6) while 'same' keeps it (13 -> 7).
"""
from .. import backend
from ..functional.pooling import (average_pool2d_backward, average_pool2d_forward,
                                  pool_arguments, pool_geometry, pool_output_hw)
from .base import Layer


class _Pooling2D(Layer):
    """What Keras's 2D pooling layers share: their arguments and output size."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid",
                 name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.pool_size, self.strides, self.padding = pool_arguments(
            pool_size, strides, padding)

    def build(self, input_shape):
        pool_output_hw(input_shape[1:3], self.pool_size, self.strides,
                       self.padding)   # refuse a too-small 'valid' input now
        super().build(input_shape)

    def _geometry(self, x):
        return pool_geometry(x.shape[1:3], self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, *pool_output_hw((h, w), self.pool_size, self.strides,
                                   self.padding), c)


class MaxPooling2D(_Pooling2D):
    """Max pooling: (N, H, W, C) -> (N, OH, OW, C), channels pooled separately."""

    def _forward(self, x, training):
        return backend.run_forward("max_pool2d", x, self._geometry(x))

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache), {}


class AveragePooling2D(_Pooling2D):
    """Average pooling: (N, H, W, C) -> (N, OH, OW, C), channels pooled separately.

    With padding='same' a border window is the mean of its real pixels only,
    as in Keras. Not in the backend table: a compiled twin would save about
    0.1 % of a U-Net training step (docs/architecture.md has the numbers)."""

    def _forward(self, x, training):
        return average_pool2d_forward(x, self._geometry(x))

    def _backward(self, dy, cache):
        return average_pool2d_backward(dy, cache), {}
