"""Numba nearest-neighbour upsampling, NHWC.

Each input pixel is copied into an sh x sw block; the adjoint sums each block:

    y[n, oy, ox, c] = x[n, oy // sh, ox // sw, c]
    dx[n, h, w, c]  = sum_{a < sh, b < sw} dy[n, h*sh + a, w*sw + b, c]

Rows are done in parallel, each pixel's C channels copied or added as one
run. The cache is ``functional.upsampling``'s: the factors (sh, sw).
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _upsample(x, y, sh, sw):
    """y[n, oy, ox] = x[n, oy // sh, ox // sw] for every output row (n, oy)."""
    w = x.shape[2]
    oh = y.shape[1]
    for r in prange(y.shape[0] * oh):                  # r = n*OH + oy
        n = r // oh
        oy = r - n * oh
        src, dst = x[n, oy // sh], y[n, oy]            # (W, C), (OW, C)
        for iw in range(w):
            for b in range(sw):
                dst[iw * sw + b] = src[iw]


@njit(parallel=True, cache=True)
def _upsample_grad(dy, dx, sh, sw):
    """dx[n, ih, iw] = the sum of dy's sh x sw block, for every input row."""
    h, w = dx.shape[1], dx.shape[2]
    for r in prange(dx.shape[0] * h):                  # r = n*H + ih
        n = r // h
        ih = r - n * h
        out = dx[n, ih]                                # (W, C)
        out[:] = 0
        for a in range(sh):
            src = dy[n, ih * sh + a]                 # (OW, C)
            for iw in range(w):
                acc = out[iw]
                for b in range(sw):
                    acc += src[iw * sw + b]


def upsample_nearest2d_forward(x, size):
    """Numba twin of ``functional.upsampling.upsample_nearest2d_forward``."""
    sh, sw = size
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    y = np.empty((n, h * sh, w * sw, c), dtype=x.dtype)
    _upsample(x, y, sh, sw)
    return y, (sh, sw)


def upsample_nearest2d_backward(dy, cache):
    """Numba twin of ``functional.upsampling.upsample_nearest2d_backward``."""
    sh, sw = cache
    dy = np.ascontiguousarray(dy)
    n, oh, ow, c = dy.shape
    dx = np.empty((n, oh // sh, ow // sw, c), dtype=dy.dtype)
    _upsample_grad(dy, dx, sh, sw)
    return dx
