"""2D upsampling by integer factors, NHWC: nearest neighbour and bilinear.

Shapes
------
    x   (N, H, W, C)                 input
    y   (N, OH, OW, C)               output, OH = H * sh, OW = W * sw
    size (sh, sw)                    the upsampling factors, integers >= 1

Both interpolations are linear maps that act on H and W separately and on
every (n, c) the same way. Each backward pass is the adjoint (transpose) of
its forward pass.

Nearest neighbour (Keras UpSampling2D(interpolation='nearest'))
---------------------------------------------------------------
    y[n, oy, ox, c] = x[n, oy // sh, ox // sw, c]

Every input pixel is copied into an sh x sw block. Viewing y as
(N, H, sh, W, sw, C), the forward pass is a broadcast of x over the two block
axes, and the backward pass sums each block:

    dx[n, h, w, c] = sum_{a < sh, b < sw} dy[n, h*sh + a, w*sw + b, c]

Bilinear (Keras UpSampling2D(interpolation='bilinear'))
-------------------------------------------------------
Keras resizes with tf.image.resize(method='bilinear'), which uses
half-pixel centres: output pixel o along an axis of input length n and
factor s sits at input coordinate

    src(o) = (o + 0.5) / s - 0.5,  clamped to [0, n - 1]

and takes the two nearest input pixels lo = floor(src), hi = min(lo + 1, n - 1)
with weights (1 - f, f), f = src - lo. Collecting these weights gives the
interpolation matrix A of shape (n * s, n):

    A[o, lo(o)] += 1 - f(o),    A[o, hi(o)] += f(o)     (each row sums to 1)

This is ``interpolation.linear_interpolation_matrix`` with output spacing 1
and input spacing s (the module that also resamples volumes to another voxel
size, where the ratio is not an integer). For n = 3, s = 2,
src = (-0.25, 0.25, 0.75, 1.25, 1.75, 2.25) and

        [[1,    0,    0   ],
         [0.75, 0.25, 0   ],
    A =  [0.25, 0.75, 0   ],
         [0,    0.75, 0.25],
         [0,    0.25, 0.75],
         [0,    0,    1   ]]

With A_h (OH, H) and A_w (OW, W) the image is interpolated along H, then W:

    y[n, :, :, c]  = A_h @ x[n, :, :, c] @ A_w^T
    dx[n, :, :, c] = A_h^T @ dy[n, :, :, c] @ A_w

Both are two batched matmuls; the matrices are built once per call from the
sizes alone. (TensorFlow computes these weights and the products in float32
even for float64 tensors; minicnn computes them in the layer's dtype, so a
float64 minicnn layer agrees with Keras only to about 1e-7.)
"""
from typing import NamedTuple

import numpy as np

from .. import _validate
from .interpolation import linear_interpolation_matrix

INTERPOLATIONS = ("nearest", "bilinear")


class BilinearCache(NamedTuple):
    """The two interpolation matrices, whose transposes make the backward."""
    rows: np.ndarray              # A_h (OH, H)
    cols: np.ndarray              # A_w (OW, W)


def upsample_nearest2d_forward(x, size):
    """Nearest-neighbour upsampling: x (N, H, W, C) -> y (N, H*sh, W*sw, C).

    size = (sh, sw), integers >= 1 (``UpSampling2D`` validates them)."""
    sh, sw = size
    n, h, w, c = x.shape
    blocks = np.broadcast_to(x[:, :, None, :, None, :], (n, h, sh, w, sw, c))
    y = blocks.reshape(n, h * sh, w * sw, c)                 # copies: a new array
    return y, size


def upsample_nearest2d_backward(dy, cache):
    """Adjoint of nearest upsampling: sum each sh x sw block of dy. The cache
    is the size (sh, sw)."""
    sh, sw = cache
    n, oh, ow, c = dy.shape
    blocks = dy.reshape(n, oh // sh, sh, ow // sw, sw, c)  # (N, H, sh, W, sw, C)
    return blocks.sum(axis=(2, 4))                           # (N, H, W, C)


def bilinear_matrix(n, scale, dtype=np.float64):
    """The (n * scale, n) half-pixel bilinear interpolation matrix of one axis.

    An input pixel is `scale` output pixels wide: output spacing 1, input
    spacing `scale`, so row o reads src(o) = (o + 0.5) / scale - 0.5."""
    n = _validate.positive_int(n, "n")
    scale = _validate.positive_int(scale, "scale")
    return linear_interpolation_matrix(n * scale, n, out_spacing=1, in_spacing=scale,
                                       dtype=dtype)


def upsample_bilinear2d_forward(x, size):
    """Bilinear upsampling (half-pixel centres): x (N, H, W, C) -> (N, H*sh, W*sw, C)."""
    sh, sw = size
    n, h, w, c = x.shape
    a_h = bilinear_matrix(h, sh, x.dtype)                    # (OH, H)
    a_w = bilinear_matrix(w, sw, x.dtype)                    # (OW, W)
    t = a_h @ x.reshape(n, h, w * c)                         # (N, OH, W*C)
    y = a_w @ t.reshape(n * h * sh, w, c)                    # (N*OH, OW, C)
    return y.reshape(n, h * sh, w * sw, c), BilinearCache(a_h, a_w)


def upsample_bilinear2d_backward(dy, cache):
    """Adjoint of bilinear upsampling: dx = A_h^T dy A_w per (n, c)."""
    a_h, a_w = cache.rows, cache.cols
    n, oh, ow, c = dy.shape
    h, w = a_h.shape[1], a_w.shape[1]
    dt = a_w.T @ dy.reshape(n * oh, ow, c)                 # (N*OH, W, C)
    dx = a_h.T @ dt.reshape(n, oh, w * c)                    # (N, H, W*C)
    return dx.reshape(n, h, w, c)
