"""Numba max pooling, NHWC.

The equations are ``functional.pooling``'s. Both keep, next to each maximum,
the offset k = i * pw + j of the window cell that held it (the ``winner``
array, same dtype and meaning), so the backward pass is a scatter of dy to
one cell per window. The forward visits the window cells in row-major order and replaces the
running maximum only on a strict '>', so ties keep the first cell, as in
TensorFlow and the NumPy kernel. Cells in the padding count as -inf, so a
real pixel always wins unless the window holds only -inf or NaN values; then,
as in the NumPy kernel, the first cell keeps the win.

When windows do not overlap (strides >= pool size) every input pixel
receives at most one gradient and output rows are scattered in parallel;
otherwise images are processed in parallel, each by one thread.
"""
import numpy as np
from numba import njit, prange

from ..functional.pooling import MaxPoolCache


@njit(parallel=True, cache=True)
def _max_pool(x, y, winner, ph, pw, sh, sw, top, left):
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = y.shape[1], y.shape[2]
    for r in prange(x.shape[0] * oh):                  # r = n*OH + oy
        n = r // oh
        oy = r - n * oh
        for ox in range(ow):
            for i in range(ph):
                iy = oy * sh + i - top
                for j in range(pw):
                    ix = ox * sw + j - left
                    k = i * pw + j
                    inside = 0 <= iy < h and 0 <= ix < w
                    for ch in range(c):
                        v = x[n, iy, ix, ch] if inside else -np.inf
                        if k == 0 or v > y[n, oy, ox, ch]:
                            y[n, oy, ox, ch] = v
                            winner[n, oy, ox, ch] = k


@njit(cache=True)
def _scatter_row(dy, winner, dx, n, oy, di, dj, sh, sw, top, left):
    """dx += the gradients of output row oy of image n, each to its winner.

    di[k], dj[k] = divmod(k, pw): the window offset of winner k, looked up
    rather than divided per element.
    """
    h, w, c = dx.shape[1], dx.shape[2], dx.shape[3]
    for ox in range(dy.shape[2]):
        grad, win, out = dy[n, oy, ox], winner[n, oy, ox], dx[n]
        for ch in range(c):
            iy = oy * sh + di[win[ch]] - top
            ix = ox * sw + dj[win[ch]] - left
            if 0 <= iy < h and 0 <= ix < w:
                out[iy, ix, ch] += grad[ch]


@njit(parallel=True, cache=True)
def _max_pool_grad(dy, winner, dx, di, dj, ph, pw, sh, sw, top, left):
    """dx (uninitialised) = the scatter of dy to the winners.

    Disjoint windows (strides >= pool size): output row oy owns the input
    rows from oy*sh - top up to the next row's start (the last row: to the
    bottom), zeroes them and scatters into them, in parallel over rows.
    Overlapping windows: dx is zeroed, then one thread scatters each image.
    """
    oh, h = dy.shape[1], dx.shape[1]
    if sh >= ph and sw >= pw:
        for r in prange(dy.shape[0] * oh):
            n = r // oh
            oy = r - n * oh
            first = 0 if oy == 0 else oy * sh - top
            last = h if oy == oh - 1 else min(h, (oy + 1) * sh - top)
            for iy in range(first, last):
                dx[n, iy] = 0
            _scatter_row(dy, winner, dx, n, oy, di, dj, sh, sw, top, left)
    else:
        for n in prange(dy.shape[0]):
            dx[n] = 0
            for oy in range(oh):
                _scatter_row(dy, winner, dx, n, oy, di, dj, sh, sw, top, left)


def max_pool2d_forward(x, geom):
    """Numba twin of ``functional.pooling.max_pool2d_forward``."""
    x = np.ascontiguousarray(x)
    out_shape = (x.shape[0], *geom.out_hw, x.shape[3])
    n_offsets = geom.pool_size[0] * geom.pool_size[1]
    y = np.empty(out_shape, dtype=x.dtype)
    winner = np.empty(out_shape, dtype=np.min_scalar_type(n_offsets - 1))
    (top, _), (left, _) = geom.pads
    _max_pool(x, y, winner, *geom.pool_size, *geom.strides, top, left)
    return y, MaxPoolCache(winner, x.shape, geom)


def max_pool2d_backward(dy, cache):
    """Numba twin of ``functional.pooling.max_pool2d_backward``."""
    winner, x_shape, geom = cache                            # a MaxPoolCache
    dy = np.ascontiguousarray(dy)
    dx = np.empty(x_shape, dtype=dy.dtype)
    (top, _), (left, _) = geom.pads
    offsets = np.arange(geom.pool_size[0] * geom.pool_size[1])
    di, dj = offsets // geom.pool_size[1], offsets % geom.pool_size[1]   # window cell k
    _max_pool_grad(dy, winner, dx, di, dj, *geom.pool_size, *geom.strides, top, left)
    return dx
