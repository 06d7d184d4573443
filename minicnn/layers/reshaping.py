"""UpSampling2D, ZeroPadding2D and Cropping2D (Keras names, arguments, defaults).

None of them has weights; each is a linear map of its input, and its backward
pass is that map's adjoint (see ``minicnn.functional.upsampling`` and
``minicnn.functional.padding`` for the equations):

    UpSampling2D(size=(sh, sw))       (N, H, W, C) -> (N, H*sh, W*sw, C)
        'nearest'   copies each pixel into an sh x sw block; dx sums the blocks
        'bilinear'  y = A_h x A_w^T per channel;  dx = A_h^T dy A_w
    ZeroPadding2D(((t, b), (l, r)))  (N, H, W, C) -> (N, H+t+b, W+l+r, C); dx = crop
    Cropping2D(((t, b), (l, r)))     (N, H, W, C) -> (N, H-t-b, W-l-r, C); dx = pad

In the course's U-Net, UpSampling2D(2) doubles the decoder's feature maps
before they are concatenated with the encoder's skip connection; Cropping2D
and ZeroPadding2D make two such maps the same size when they are not.
"""
from .. import _validate, backend
from ..functional import padding as padding_kernels
from ..functional import upsampling
from .base import Layer


class UpSampling2D(Layer):
    """Upsampling by integer factors `size`, nearest-neighbour or bilinear."""

    def __init__(self, size=2, interpolation="nearest", name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.size = _validate.int_tuple(size, 2, "size")
        self.interpolation = _validate.one_of(
            interpolation, upsampling.INTERPOLATIONS, "interpolation")

    def _forward(self, x, training):
        if self.interpolation == "nearest":            # in the backend table
            return backend.run_forward("upsample_nearest2d", x, self.size)
        return upsampling.upsample_bilinear2d_forward(x, self.size)

    def _backward(self, dy, cache):
        if self.interpolation == "nearest":
            return backend.run_backward(dy, cache), {}
        return upsampling.upsample_bilinear2d_backward(dy, cache), {}

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, *(None if d is None else d * s for d, s in zip((h, w), self.size)), c)


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around the image (not the batch/channels)."""

    def __init__(self, padding=1, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.padding = padding_kernels.hw_pairs(padding, "padding")

    def _forward(self, x, training):
        return padding_kernels.zero_pad2d_forward(x, self.padding)

    def _backward(self, dy, cache):
        return padding_kernels.zero_pad2d_backward(dy, cache), {}

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, *padding_kernels.padded_hw((h, w), self.padding), c)


class Cropping2D(Layer):
    """Removes rows and columns from the edges of the image."""

    def __init__(self, cropping=0, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.cropping = padding_kernels.hw_pairs(cropping, "cropping")

    def build(self, input_shape):
        padding_kernels.cropped_hw(input_shape[1:3], self.cropping)   # refuse now
        super().build(input_shape)

    def _forward(self, x, training):
        return padding_kernels.crop2d_forward(x, self.cropping)

    def _backward(self, dy, cache):
        return padding_kernels.crop2d_backward(dy, cache), {}

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, *padding_kernels.cropped_hw((h, w), self.cropping), c)
