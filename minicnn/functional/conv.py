"""2D convolution and transpose convolution, NHWC, Keras weight layouts.

Shapes
------
    x       (N, H, W, C_in)             input
    kernel  (kh, kw, C_in, C_out)       Conv2D kernel (Keras layout)
    bias    (C_out,)
    y       (N, OH, OW, C_out)          output; OH, OW from im2col.conv_output_size

Forward (cross-correlation, as in every deep-learning library)
--------------------------------------------------------------
    y[n, oy, ox, f] = b[f] + sum_{i, j, c} xp[n, oy*s_h + i*d_h, ox*s_w + j*d_w, c]
                                          * kernel[i, j, c, f]

with xp the zero-padded input. With cols = im2col(xp), of shape
(N*OH*OW, kh*kw*C_in), and K = kernel reshaped to (kh*kw*C_in, C_out):

    Y = cols @ K + b                          (N*OH*OW, C_out)

Backward: three primitives
--------------------------
The convolution is linear in x and in the kernel, so for dY = dL/dY:

    weight gradient   dK    = cols^T @ dY                     (kh*kw*C_in, C_out)
    bias gradient     db    = sum of dY over N, OH, OW        (C_out,)
    input gradient    dcols = dY @ K^T;  dx = unpad(col2im(dcols))

``conv2d`` (forward without bias), ``conv2d_input_grad`` and
``conv2d_weight_grad`` are the three primitives everything here is built from.

Transpose convolution is the adjoint
------------------------------------
``conv2d_input_grad`` is the linear map A^T, the adjoint of the convolution
A: x -> conv2d(x, K). A transpose convolution ("deconvolution") *is* A^T
applied to its input: each input pixel paints a copy of the kernel, weighted
by its value, into a larger output. So

    Conv2DTranspose forward     y  = A^T x      = conv2d_input_grad(x, K)
    its input gradient          dx = (A^T)^T dy = A dy = conv2d(dy, K)
    its kernel gradient         dK = conv2d_weight_grad with the roles of
                                     input and output gradient swapped

A Keras Conv2DTranspose kernel has shape (kh, kw, C_out, C_in): read as a
Conv2D kernel it maps C_out channels to C_in, which is exactly the
convolution A whose adjoint we need, so no transpose of the weights is ever
made. The transpose output size follows Keras:

    'same'   OH = H * s                         (output_padding None)
    'valid'  OH = H * s + max(k_eff - s, 0)     (output_padding None)
    with output_padding op:
             OH = (H - 1) * s + k_eff - 2 * pad + op,  pad = k_eff // 2 ('same'), 0 ('valid')

and the padding is the 'same'/'valid' padding of the convolution A on an
input of size OH, which is how TensorFlow computes it.
"""
from collections import namedtuple
from typing import NamedTuple

import numpy as np

from .activations import ReluCache, relu_backward, relu_cache_of_output, relu_forward
from .im2col import (col2im, conv_output_size, effective_kernel_size, im2col,
                     pad_hw, padding_amounts, unpad_hw)

ConvGeometry = namedtuple(
    "ConvGeometry", "in_hw kernel_hw strides dilation pads out_hw")
ConvGeometry.__doc__ = """Everything about one convolution but the numbers:
input size, kernel size, strides, dilation, ((top, bottom), (left, right))
padding and output size, all (height, width) pairs."""


class ConvCache(NamedTuple):
    """What the backward of a convolution or transpose convolution needs."""
    x: np.ndarray                 # the input, (N, H, W, C_in)
    kernel: np.ndarray            # in the layer's Keras layout
    has_bias: bool
    geom: ConvGeometry


class ConvReluCache(NamedTuple):
    """The fused convolution + ReLU's cache: the convolution's, then the ReLU's
    (built from the output, ``relu_cache_of_output``)."""
    conv: ConvCache
    relu: ReluCache


def conv_geometry(in_hw, kernel_hw, strides, dilation, padding):
    """The geometry of a convolution, refusing a kernel larger than a 'valid' input."""
    out_hw = tuple(conv_output_size(n, k, s, d, padding)
                   for n, k, s, d in zip(in_hw, kernel_hw, strides, dilation))
    if min(out_hw) < 1:
        spans = tuple(effective_kernel_size(k, d) for k, d in zip(kernel_hw, dilation))
        raise ValueError(
            f"kernel_size {tuple(kernel_hw)} with dilation_rate {tuple(dilation)} "
            f"spans {spans} pixels, more than the input's (height, width) "
            f"{tuple(in_hw)} with padding='valid'; use a smaller kernel or "
            "padding='same'")
    pads = padding_amounts(in_hw, kernel_hw, strides, dilation, padding)
    return ConvGeometry(tuple(in_hw), tuple(kernel_hw), tuple(strides),
                        tuple(dilation), pads, out_hw)


def _padded_shape(n, geom, channels):
    (top, bottom), (left, right) = geom.pads
    return (n, geom.in_hw[0] + top + bottom, geom.in_hw[1] + left + right, channels)


# ------------------------------------------------------------ three primitives
def conv2d(x, kernel, geom):
    """A x: the convolution of x (N, H, W, C_in) with kernel, no bias."""
    n = x.shape[0]
    kh, kw, c_in, c_out = kernel.shape
    cols = im2col(pad_hw(x, geom.pads), geom.kernel_hw, geom.strides,
                  geom.dilation, geom.out_hw)                # (N*OH*OW, kh*kw*C_in)
    y = cols @ kernel.reshape(kh * kw * c_in, c_out)         # (N*OH*OW, C_out)
    return y.reshape(n, *geom.out_hw, c_out)


def conv2d_input_grad(dy, kernel, geom):
    """A^T dy: the gradient of conv2d w.r.t. its input, (N, H, W, C_in)."""
    n = dy.shape[0]
    kh, kw, c_in, c_out = kernel.shape
    dy_rows = dy.reshape(-1, c_out)                           # (N*OH*OW, C_out)
    dcols = dy_rows @ kernel.reshape(kh * kw * c_in, c_out).T  # (N*OH*OW, kh*kw*C_in)
    dxp = col2im(dcols, _padded_shape(n, geom, c_in), geom.kernel_hw,
                 geom.strides, geom.dilation, geom.out_hw)
    return unpad_hw(dxp, geom.pads)


def conv2d_weight_grad(x, dy, kernel_shape, geom):
    """The gradient of conv2d w.r.t. its kernel, shape (kh, kw, C_in, C_out)."""
    kh, kw, c_in, c_out = kernel_shape
    cols = im2col(pad_hw(x, geom.pads), geom.kernel_hw, geom.strides,
                  geom.dilation, geom.out_hw)                # (N*OH*OW, kh*kw*C_in)
    dk = cols.T @ dy.reshape(-1, c_out)                      # (kh*kw*C_in, C_out)
    return dk.reshape(kernel_shape)


# -------------------------------------------------------------------- Conv2D
def conv2d_forward(x, kernel, bias, geom):
    """y = conv(x, kernel) + bias. Returns (y, cache).

    x (N, H, W, C_in), kernel (kh, kw, C_in, C_out), bias (C_out,) or None,
    geom the ConvGeometry of ``conv_geometry(x.shape[1:3], kernel.shape[:2],
    strides, dilation, padding)``, which validates those arguments.
    """
    y = conv2d(x, kernel, geom)
    if bias is not None:
        y += bias                                             # broadcast over N, OH, OW
    return y, ConvCache(x, kernel, bias is not None, geom)


def conv2d_backward(dy, cache):
    """(dx, dkernel, dbias) for the cache of conv2d_forward; dbias None without bias."""
    x, kernel, has_bias, geom = cache                         # a ConvCache
    dx = conv2d_input_grad(dy, kernel, geom)
    dkernel = conv2d_weight_grad(x, dy, kernel.shape, geom)
    dbias = dy.sum(axis=(0, 1, 2)) if has_bias else None
    return dx, dkernel, dbias


# ------------------------------------------------------- Conv2D + ReLU
def conv2d_relu_forward(x, kernel, bias, geom):
    """y = max(conv(x, kernel) + bias, 0), a Conv2D with activation='relu'.

    Here simply the two kernels one after the other. The ReLU's cache holds
    y in place of its input z = conv(x) + bias: its backward only asks where
    z > 0, which is exactly where y > 0, and keeping y lets z be freed (and
    lets a compiled twin apply the ReLU as it writes each output, never
    storing z). Cache: a ConvReluCache."""
    z, conv_cache = conv2d_forward(x, kernel, bias, geom)
    y, _ = relu_forward(z)
    return y, ConvReluCache(conv_cache, relu_cache_of_output(y))


def conv2d_relu_backward(dy, cache):
    """(dx, dkernel, dbias): the ReLU's backward, then the convolution's."""
    return conv2d_backward(relu_backward(dy, cache.relu), cache.conv)


# ----------------------------------------------------------- Conv2DTranspose
def transpose_output_size(n, k, s, d, padding, output_padding=None):
    """Keras's output length of a transpose convolution along one axis."""
    k_eff = effective_kernel_size(k, d)
    if output_padding is None:
        return n * s if padding == "same" else n * s + max(k_eff - s, 0)
    pad = k_eff // 2 if padding == "same" else 0
    return (n - 1) * s + k_eff - 2 * pad + output_padding


def transpose_geometry(in_hw, kernel_hw, strides, dilation, padding, output_padding):
    """Geometry of the convolution A whose adjoint is this transpose convolution.

    A maps the transpose's output (OH, OW) back to its input (H, W).
    """
    ops = output_padding if output_padding is not None else (None, None)
    out_hw = tuple(transpose_output_size(n, k, s, d, padding, op) for n, k, s, d, op
                   in zip(in_hw, kernel_hw, strides, dilation, ops))
    if min(out_hw) < 1:
        raise ValueError(
            f"Conv2DTranspose output would be {out_hw} for input {tuple(in_hw)}; "
            "check kernel_size, strides and output_padding")
    geom = conv_geometry(out_hw, kernel_hw, strides, dilation, padding)
    if geom.out_hw != tuple(in_hw):
        raise ValueError(
            f"output_padding {output_padding} gives an output {out_hw} that a "
            f"stride-{tuple(strides)} convolution does not map back to the input "
            f"{tuple(in_hw)}; output_padding must be smaller than strides")
    return geom


def conv2d_transpose_forward(x, kernel, bias, geom):
    """y = A^T x + bias, the adjoint of a convolution. Returns (y, cache).

    x (N, H, W, C_in), kernel (kh, kw, C_out, C_in) as in Keras, bias (C_out,)
    or None, geom the geometry of A from ``transpose_geometry(x.shape[1:3],
    kernel.shape[:2], strides, dilation, padding, output_padding)``.
    """
    # conv2d_input_grad sees x as "dy" of A: (N, H, W, C_in) with A's C_out = C_in.
    y = conv2d_input_grad(x, kernel, geom)                    # (N, OH, OW, C_out)
    if bias is not None:
        y += bias
    return y, ConvCache(x, kernel, bias is not None, geom)


def conv2d_transpose_backward(dy, cache):
    """(dx, dkernel, dbias) for the cache of conv2d_transpose_forward."""
    x, kernel, has_bias, geom = cache                         # a ConvCache
    dx = conv2d(dy, kernel, geom)                             # A dy: (N, H, W, C_in)
    # y = A^T x is bilinear in (kernel, x) exactly as conv2d is in (input, kernel)
    # with dy playing the input and x the output gradient.
    dkernel = conv2d_weight_grad(dy, x, kernel.shape, geom)
    dbias = dy.sum(axis=(0, 1, 2)) if has_bias else None
    return dx, dkernel, dbias
