"""Max pooling whose backward gives dy to every input equal to the window's maximum.

A window's output is its maximum; when two inputs tie, the output does not
move if either moves down, and TensorFlow (and the library) credits the
first in row-major order only. Crediting every tied input sends the same
gradient twice. The forward is right.
"""
import numpy as np


def _windows(geom):
    (ph, pw), (sh, sw), (oh, ow) = geom.pool_size, geom.strides, geom.out_hw
    for i in range(ph):
        for j in range(pw):
            yield slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw)


def max_pool2d_forward(x, geom):
    """Each window's maximum; the cache keeps the padded input and the output."""
    xp = np.pad(x, ((0, 0), *geom.pads, (0, 0)), constant_values=-np.inf)
    y = np.full((x.shape[0], *geom.out_hw, x.shape[3]), -np.inf, x.dtype)
    for rows, cols in _windows(geom):
        np.maximum(y, xp[:, rows, cols], out=y)
    return y, (xp, y, geom)


def max_pool2d_backward(dy, cache):
    """dy to the inputs that equal their window's maximum."""
    xp, y, geom = cache
    dxp = np.zeros(xp.shape, dy.dtype)
    for rows, cols in _windows(geom):
        dxp[:, rows, cols] += np.where(xp[:, rows, cols] == y, dy, 0)   # THE MISTAKE: every tie
    (top, bottom), (left, right) = geom.pads
    return dxp[:, top:xp.shape[1] - bottom, left:xp.shape[2] - right]
