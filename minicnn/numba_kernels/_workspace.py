"""Scratch buffers reused from call to call.

An im2col matrix is large (8 images of 128 x 128 with a 3 x 3 kernel on 32
channels: 131072 x 288 floats, 151 MB) and lives only inside one call. Asking
the allocator for a fresh one every call costs page faults and zeroing on
every step, and holds peak memory high. Instead each thread keeps one flat
buffer per purpose and per dtype, grown when a larger one is needed and
otherwise handed out again as a view of the requested shape.

The views alias: a caller must be done with one before asking for the same
purpose again. Each kernel uses its buffer only inside one call and never
returns it.
"""
import threading

import numpy as np

_local = threading.local()


def scratch(purpose, shape, dtype):
    """An uninitialised C-contiguous array of `shape`, reused across calls."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    dtype = np.dtype(dtype)
    size = 1
    for n in shape:
        size *= int(n)
    key = (purpose, dtype)
    flat = buffers.get(key)
    if flat is None or flat.size < size:
        buffers.pop(key, None)             # free the old one before the new exists
        flat = buffers[key] = np.empty(size, dtype=dtype)
    return flat[:size].reshape(shape)


def release():
    """Drop this thread's scratch buffers (for tests and memory-tight code)."""
    _local.buffers = {}


def ones(size, dtype):
    """A read-only vector of `size` ones, kept between calls.

    ``ones(M) @ rows`` sums the rows of an (M, C) matrix as a BLAS
    matrix-vector product, many times faster than ``rows.sum(axis=0)``.
    """
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    key = ("ones", np.dtype(dtype))
    vector = buffers.get(key)
    if vector is None or vector.size < size:
        vector = buffers[key] = np.ones(size, dtype=dtype)
        vector.flags.writeable = False
    return vector[:size]
