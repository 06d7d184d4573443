"""Numba cross-entropies: each pixel's row of C class scores in one pass.

The equations are those of ``minicnn.functional.losses`` (read them there);
NumPy evaluates them as a dozen whole-array operations (max, subtract, exp,
sum, log, take_along_axis, a one-hot comparison, ...), each a pass over
(N, H, W, C) memory. Here a row of C numbers is read once, everything for it
is computed in registers, and the arrays the cache needs are written once.
Per-pixel losses go to an array that is averaged afterwards, so the value does
not depend on how rows were split between threads.

Twins exist for the class axis last (the channels, as Keras uses it):

    categorical, from logits      softmax(z) per row; loss -sum y log softmax
    categorical, probabilities    r = p / sum p, q = clip(r, eps, 1 - eps)
    sparse, from logits           softmax(z); loss log sum exp - (z_k - max)

Sparse cross-entropy on probabilities stays NumPy's. The caches are the NumPy
kernels' dicts, so either backend can run backward.
"""
import numpy as np
from numba import njit, prange

from ..functional.losses import EPSILON
from .activations import softmax_row


@njit(parallel=True, cache=True)
def _softmax_xent(z, y, soft, loss):
    """soft[r] = softmax(z[r]); loss[r] = -sum_c y[r, c] * log soft[r, c]."""
    for r in prange(z.shape[0]):
        row = z[r]
        top, log_sum = softmax_row(row, soft[r])
        value = 0.0
        for c in range(row.size):
            value -= y[r, c] * (row[c] - top - log_sum)
        loss[r] = value


@njit(parallel=True, cache=True)
def _softmax_xent_grad(soft, y, scale, d):
    """d[r] = scale * (soft[r] * sum(y[r]) - y[r])."""
    for r in prange(soft.shape[0]):
        mass = 0.0
        for c in range(y.shape[1]):
            mass += y[r, c]
        for c in range(y.shape[1]):
            d[r, c] = scale * (soft[r, c] * mass - y[r, c])


@njit(parallel=True, cache=True)
def _prob_xent(p, y, eps, s, ratio, q, inside, loss):
    """r = p / sum p, q = clip(r), the clip mask, and -sum y log q per row."""
    for r in prange(p.shape[0]):
        total = p[r].sum()
        s[r, 0] = total
        value = 0.0
        for c in range(p.shape[1]):
            v = p[r, c] / total
            ratio[r, c] = v
            inside[r, c] = eps <= v <= 1 - eps
            q[r, c] = min(max(v, eps), 1 - eps)
            value -= y[r, c] * np.log(q[r, c])
        loss[r] = value


@njit(parallel=True, cache=True)
def _prob_xent_grad(y, q, ratio, inside, s, scale, d):
    """g = scale * [inside] (-y / q); d = (g - sum(g * r)) / s per row."""
    for r in prange(y.shape[0]):
        inner = 0.0
        for c in range(y.shape[1]):
            g = -scale * y[r, c] / q[r, c] if inside[r, c] else 0.0
            d[r, c] = g
            inner += g * ratio[r, c]
        for c in range(y.shape[1]):
            d[r, c] = (d[r, c] - inner) / s[r, 0]


@njit(parallel=True, cache=True)
def _sparse_xent(z, labels, soft, onehot, loss):
    """soft[r] = softmax(z[r]); onehot[r] = (c == labels[r]); loss = -log soft[label]."""
    for r in prange(z.shape[0]):
        row = z[r]
        top, log_sum = softmax_row(row, soft[r])
        for c in range(row.size):
            onehot[r, c] = c == labels[r]
        loss[r] = log_sum - (row[labels[r]] - top)


@njit(parallel=True, cache=True)
def _sparse_xent_grad(soft, onehot, scale, d):
    """d = scale * (soft - onehot)."""
    for r in prange(soft.shape[0]):
        for c in range(soft.shape[1]):
            d[r, c] = scale * (soft[r, c] - onehot[r, c])


def _rows(a):
    """a (..., C) as a C-contiguous (pixels, C) array."""
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])


def categorical_crossentropy_forward(y_true, y_pred, from_logits=False, axis=-1):
    """Numba twin of ``functional.losses.categorical_crossentropy_forward`` (last axis)."""
    p = _rows(y_pred)                                            # (pixels, C)
    y = _rows(np.asarray(y_true, dtype=p.dtype))
    loss = np.empty(p.shape[0])
    cache = {"from_logits": from_logits, "axis": axis, "y": y_true,
             "count": p.shape[0]}
    if from_logits:
        soft = np.empty_like(p)
        _softmax_xent(p, y, soft, loss)
        cache["softmax"] = soft.reshape(y_pred.shape)
    else:
        s = np.empty((p.shape[0], 1), dtype=p.dtype)
        ratio, q = np.empty_like(p), np.empty_like(p)
        inside = np.empty(p.shape, dtype=np.bool_)
        _prob_xent(p, y, p.dtype.type(EPSILON), s, ratio, q, inside, loss)
        cache.update(s=s.reshape(y_pred.shape[:-1] + (1,)), r=ratio.reshape(y_pred.shape),
                     q=q.reshape(y_pred.shape), inside=inside.reshape(y_pred.shape))
    return p.dtype.type(loss.mean()), cache


def categorical_crossentropy_backward(dy, cache):
    """Numba twin of ``functional.losses.categorical_crossentropy_backward`` (last axis)."""
    y_true = cache["y"]
    shape = y_true.shape
    if cache["from_logits"]:
        soft = _rows(cache["softmax"])
        scale = soft.dtype.type(dy / cache["count"])
        d = np.empty_like(soft)
        _softmax_xent_grad(soft, _rows(np.asarray(y_true, dtype=soft.dtype)), scale, d)
        return d.reshape(shape)
    q = _rows(cache["q"])
    d = np.empty_like(q)
    _prob_xent_grad(_rows(np.asarray(y_true, dtype=q.dtype)), q, _rows(cache["r"]),
                    _rows(cache["inside"]), _rows(cache["s"]),
                    q.dtype.type(dy / cache["count"]), d)
    return d.reshape(shape)


def sparse_categorical_crossentropy_forward(labels, y_pred, from_logits=False):
    """Numba twin of ``functional.losses.sparse_categorical_crossentropy_forward``
    for from_logits=True."""
    z = _rows(y_pred)                                            # (pixels, C)
    labels = np.ascontiguousarray(labels).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= z.shape[1]):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise IndexError(f"labels: index {bad} is out of bounds for {z.shape[1]} classes")
    soft = np.empty_like(z)
    onehot = np.empty(z.shape, dtype=np.bool_)
    loss = np.empty(z.shape[0])
    _sparse_xent(z, labels, soft, onehot, loss)
    cache = {"from_logits": True, "count": z.shape[0],
             "onehot": onehot.reshape(y_pred.shape), "softmax": soft.reshape(y_pred.shape)}
    return z.dtype.type(loss.mean()), cache


def sparse_categorical_crossentropy_backward(dy, cache):
    """Numba twin of ``functional.losses.sparse_categorical_crossentropy_backward``
    for from_logits=True."""
    soft = _rows(cache["softmax"])
    d = np.empty_like(soft)
    _sparse_xent_grad(soft, _rows(cache["onehot"]), soft.dtype.type(dy / cache["count"]), d)
    return d.reshape(cache["softmax"].shape)
