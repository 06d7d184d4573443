"""Transpose convolution that crops the padding from the wrong ends.

The transpose stamps each input pixel's kernel into the padded output of
the convolution A it is the adjoint of, then crops A's padding away: top
rows and left columns first. With 'same' padding's odd extra row (at the
bottom, as in Keras) or an output_padding, cropping (bottom, right) from
the top-left moves the whole output by one pixel.
"""
import numpy as np

from minicnn.functional.conv import ConvCache, conv2d, conv2d_weight_grad
from minicnn.functional.im2col import col2im


def conv2d_transpose_forward(x, kernel, bias, geom):
    """y = A^T x + bias: stamp, then crop."""
    n, h, w, c_in = x.shape
    kh, kw, c_out, _ = kernel.shape
    (top, bottom), (left, right) = geom.pads
    oh, ow = geom.in_hw
    padded = (n, oh + top + bottom, ow + left + right, c_out)
    stamps = x.reshape(-1, c_in) @ kernel.reshape(-1, c_in).T     # (N*H*W, kh*kw*C_out)
    yp = col2im(stamps, padded, geom.kernel_hw, geom.strides, geom.dilation, geom.out_hw)
    y = yp[:, bottom:bottom + oh, right:right + ow]    # THE MISTAKE: top and left belong here
    if bias is not None:
        y = y + bias
    return y, ConvCache(x, kernel, bias is not None, geom)


def conv2d_transpose_backward(dy, cache):
    """(dx, dkernel, dbias): dx = A dy, a convolution."""
    x, kernel, has_bias, geom = cache
    dx = conv2d(dy, kernel, geom)
    dkernel = conv2d_weight_grad(dy, x, kernel.shape, geom)
    dbias = dy.sum(axis=(0, 1, 2)) if has_bias else None
    return dx, dkernel, dbias
