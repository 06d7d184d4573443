"""MaxPooling2D (Keras name, arguments and defaults); no weights.

The math (each window's maximum; its gradient to the first maximum in
row-major order; -inf padding) and the output sizes are in
``minicnn.functional.pooling``; strides default to pool_size, as in Keras.
The course's U-Net halves the image with MaxPooling2D(2): (104, 104, 32) ->
(52, 52, 32); on an odd size such as 13, 'valid' drops the last row
(13 -> 6) while 'same' keeps it (13 -> 7).
"""
from .. import backend
from ..functional.pooling import pool_arguments, pool_geometry, pool_output_hw
from .base import Layer


class MaxPooling2D(Layer):
    """Max pooling: (N, H, W, C) -> (N, OH, OW, C), channels pooled separately."""

    def __init__(self, pool_size=2, strides=None, padding="valid",
                 name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.pool_size, self.strides, self.padding = pool_arguments(
            pool_size, strides, padding)

    def build(self, input_shape):
        pool_output_hw(input_shape[1:3], self.pool_size, self.strides,
                       self.padding)   # refuse a too-small 'valid' input now
        super().build(input_shape)

    def _forward(self, x, training):
        geom = pool_geometry(x.shape[1:3], self.pool_size, self.strides, self.padding)
        return backend.run_forward("max_pool2d", x, geom)

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache), {}

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, *pool_output_hw((h, w), self.pool_size, self.strides,
                                   self.padding), c)
