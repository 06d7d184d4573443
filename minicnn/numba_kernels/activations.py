"""Numba ReLU and softmax: one pass over memory instead of several.

NumPy evaluates Keras's three-piece ReLU (see ``functional.activations``)
as a chain of whole-array operations (a product, a comparison, two
``np.where``), each reading and writing every element; on a U-Net's
activations that costs more than some convolutions. Here each element is
read once and written once, in parallel blocks:

    y = x                  if t < x < m
    y = m                  if x >= m (and x > t)
    y = a * (x - t)        if x <= t
    dx = dy * (1 if t < x < m, 0 if x >= m, a if x <= t)

The constants are cast to the array's dtype first, so float32 inputs are
computed in float32, as NumPy does. Softmax works along the last axis (the
channels), row by row:

    y = exp(x - max(x)) / sum(exp(x - max(x)))
    dx = y * (dy - sum(dy * y))

Caches are those of the NumPy kernels, so either backend can run backward.
"""
import numpy as np
from numba import njit, prange

from ..functional.activations import ReluCache, SoftmaxCache

# Elements per parallel task: big enough to amortise scheduling, small
# enough to split a 128 x 128 x 16 feature map between threads.
_BLOCK = 1 << 16


@njit(parallel=True, cache=True)
def _relu(x, y, slope, threshold, max_value, has_max):
    """y = relu(x) on flat arrays, one block of _BLOCK elements per task."""
    n = x.size
    for blk in prange((n + _BLOCK - 1) // _BLOCK):
        # Slicing the block first lets LLVM vectorise the loop below.
        xs = x[blk * _BLOCK:min(n, (blk + 1) * _BLOCK)]
        ys = y[blk * _BLOCK:min(n, (blk + 1) * _BLOCK)]
        for k in range(xs.size):
            v = xs[k]
            if v > threshold:
                ys[k] = min(v, max_value) if has_max else v
            else:
                ys[k] = slope * (v - threshold)


@njit(parallel=True, cache=True)
def _relu_grad(dy, x, dx, slope, threshold, max_value, has_max):
    """dx = dy * relu'(x) on flat arrays."""
    n = x.size
    for blk in prange((n + _BLOCK - 1) // _BLOCK):
        xs = x[blk * _BLOCK:min(n, (blk + 1) * _BLOCK)]
        ds = dy[blk * _BLOCK:min(n, (blk + 1) * _BLOCK)]
        out = dx[blk * _BLOCK:min(n, (blk + 1) * _BLOCK)]
        for k in range(xs.size):
            v = xs[k]
            if v > threshold:
                out[k] = 0 if has_max and v >= max_value else ds[k]
            else:
                out[k] = slope * ds[k]


def relu_forward(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Numba twin of ``functional.activations.relu_forward``."""
    flat = np.ascontiguousarray(x).reshape(-1)
    t = flat.dtype.type
    y = np.empty_like(flat)
    _relu(flat, y, t(negative_slope), t(threshold),
          t(0 if max_value is None else max_value), max_value is not None)
    return y.reshape(x.shape), ReluCache(x, max_value, negative_slope, threshold)


def relu_backward(dy, cache):
    """Numba twin of ``functional.activations.relu_backward``."""
    x, max_value, negative_slope, threshold = cache          # a ReluCache
    flat_x = np.ascontiguousarray(x).reshape(-1)
    flat_dy = np.ascontiguousarray(dy).reshape(-1)
    dx = np.empty_like(flat_dy)
    t = flat_x.dtype.type
    _relu_grad(flat_dy, flat_x, dx, t(negative_slope), t(threshold),
               t(0 if max_value is None else max_value), max_value is not None)
    return dx.reshape(dy.shape)


@njit(cache=True, inline="always")   # a call per pixel row would cost more than the row
def softmax_row(row, out):
    """out = softmax(row); returns (max of row, log of sum_c exp(row[c] - max)),
    so that log softmax(row)[c] = row[c] - max - log_sum (the cross-entropies
    in ``numba_kernels.losses`` use it)."""
    top = row.max()
    total = 0.0
    for c in range(row.size):
        out[c] = np.exp(row[c] - top)
        total += out[c]
    for c in range(row.size):
        out[c] /= total
    return top, np.log(total)


@njit(parallel=True, cache=True)
def _softmax_rows(x, y, log_normaliser):
    """y[r] = softmax(x[r]) and log_normaliser[r] = log sum_c exp(x[r, c]) for
    every row r of x (rows, C)."""
    for r in prange(x.shape[0]):
        top, log_sum = softmax_row(x[r], y[r])
        log_normaliser[r] = top + log_sum


@njit(parallel=True, cache=True)
def _softmax_grad_rows(dy, y, dx):
    """dx[r] = y[r] * (dy[r] - <dy[r], y[r]>) for every row r."""
    for r in prange(y.shape[0]):
        inner = 0.0
        for c in range(y.shape[1]):
            inner += dy[r, c] * y[r, c]
        for c in range(y.shape[1]):
            dx[r, c] = y[r, c] * (dy[r, c] - inner)


def softmax_forward(x, axis=-1):
    """Numba twin of ``functional.activations.softmax_forward`` (last axis only)."""
    rows = np.ascontiguousarray(x).reshape(-1, x.shape[-1])     # (pixels, C)
    y = np.empty_like(rows)
    log_normaliser = np.empty(rows.shape[0], dtype=rows.dtype)
    _softmax_rows(rows, y, log_normaliser)
    y = y.reshape(x.shape)
    return y, SoftmaxCache(y, axis, log_normaliser.reshape(x.shape[:-1] + (1,)))


def softmax_backward(dy, cache):
    """Numba twin of ``functional.activations.softmax_backward`` (last axis only)."""
    y = cache.y
    rows_y = y.reshape(-1, y.shape[-1])                           # (pixels, C)
    rows_dy = np.ascontiguousarray(dy, dtype=y.dtype).reshape(rows_y.shape)
    dx = np.empty_like(rows_y)
    _softmax_grad_rows(rows_dy, rows_y, dx)
    return dx.reshape(y.shape)
