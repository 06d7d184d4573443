"""Slow, obvious max and average pooling written straight from the
definitions: test oracles.

Nothing here is shared with ``pooling.py``: the output size and the 'same'
padding are recomputed from Keras's formulas, and every window is visited by
explicit loops over (n, c, oy, ox). ``np.argmax`` of a flattened window
returns the first maximum in row-major order, which is TensorFlow's
tie-breaking rule, so the oracle encodes that rule independently of the
fast kernel's strict '>' running maximum. The average is taken over the
window clipped to the image, so the oracle counts the real pixels by
slicing, not with the fast kernel's padded mask of ones.
"""
import math

import numpy as np


def _axis_geometry(n, p, s, padding):
    """(out, before, after) along one axis, from Keras's formulas."""
    if padding == "valid":
        return (n - p) // s + 1, 0, 0
    out = math.ceil(n / s)
    total = max((out - 1) * s + p - n, 0)
    return out, total // 2, total - total // 2


def max_pool2d_reference(x, dy, pool_size, strides, padding):
    """(y, dx) of max pooling by direct loops. x (N, H, W, C), dy (N, OH, OW, C) or None."""
    n_batch, h, w, c_in = x.shape
    (ph, pw), (sh, sw) = pool_size, strides
    oh, top, bottom = _axis_geometry(h, ph, sh, padding)
    ow, left, right = _axis_geometry(w, pw, sw, padding)
    xp = np.full((n_batch, h + top + bottom, w + left + right, c_in), -np.inf, dtype=x.dtype)
    xp[:, top:top + h, left:left + w, :] = x
    y = np.empty((n_batch, oh, ow, c_in), dtype=x.dtype)
    dxp = np.zeros(xp.shape, dtype=x.dtype)
    for n in range(n_batch):
        for c in range(c_in):
            for oy in range(oh):
                for ox in range(ow):
                    window = xp[n, oy * sh:oy * sh + ph, ox * sw:ox * sw + pw, c]
                    i, j = divmod(int(np.argmax(window)), pw)
                    y[n, oy, ox, c] = window[i, j]
                    if dy is not None:
                        dxp[n, oy * sh + i, ox * sw + j, c] += dy[n, oy, ox, c]
    return y, dxp[:, top:top + h, left:left + w, :]


def average_pool2d_reference(x, dy, pool_size, strides, padding):
    """(y, dx) of average pooling by direct loops. x (N, H, W, C), dy (N, OH, OW, C) or None."""
    n_batch, h, w, c_in = x.shape
    (ph, pw), (sh, sw) = pool_size, strides
    oh, top, _ = _axis_geometry(h, ph, sh, padding)
    ow, left, _ = _axis_geometry(w, pw, sw, padding)
    y = np.empty((n_batch, oh, ow, c_in), dtype=x.dtype)
    dx = np.zeros(x.shape, dtype=x.dtype)
    for n in range(n_batch):
        for c in range(c_in):
            for oy in range(oh):
                for ox in range(ow):
                    # The window in input coordinates, clipped to the image.
                    y0, x0 = oy * sh - top, ox * sw - left
                    rows = slice(max(y0, 0), min(y0 + ph, h))
                    cols = slice(max(x0, 0), min(x0 + pw, w))
                    window = x[n, rows, cols, c]
                    y[n, oy, ox, c] = window.sum() / window.size
                    if dy is not None:
                        dx[n, rows, cols, c] += dy[n, oy, ox, c] / window.size
    return y, dx
