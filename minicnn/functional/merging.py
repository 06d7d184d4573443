"""Merging several tensors into one: pure forward/backward kernels.

Add, for K inputs of one common shape (N, H, W, C):
    y = x_1 + x_2 + ... + x_K              dx_k = dy   for every k
Concatenate along axis a, inputs equal in shape except on a:
    y = [x_1 | x_2 | ... | x_K]  (sizes s_1 ... s_K on a, output sum_k s_k)
    dx_k = the slice of dy that x_k was copied into
Neither operation broadcasts: differing shapes raise a ValueError that lists
them, instead of being stretched silently. The ``*_output_shape`` functions
check shapes that may hold None (unknown, e.g. the batch size while a model
is being assembled); the kernels check the concrete shapes of the arrays.
"""
from typing import NamedTuple

import numpy as np


def _agree(sizes):
    """The one known size among `sizes` (None if all unknown), or raise KeyError."""
    known = {s for s in sizes if s is not None}
    if len(known) > 1:
        raise KeyError
    return known.pop() if known else None


def add_output_shape(shapes):
    """Shape of x_1 + ... + x_K: all input shapes must be equal."""
    shapes = [tuple(s) for s in shapes]
    try:
        if len({len(s) for s in shapes}) != 1:
            raise KeyError
        return tuple(_agree(sizes) for sizes in zip(*shapes))
    except KeyError:
        raise ValueError(
            f"inputs must all have the same shape, got shapes {shapes}") from None


def concatenate_output_shape(shapes, axis):
    """Shape of the concatenation: equal except on `axis`, which adds up."""
    shapes = [tuple(s) for s in shapes]
    try:
        if len({len(s) for s in shapes}) != 1:
            raise KeyError
        axis = axis % len(shapes[0])
        out = [_agree(sizes) for a, sizes in enumerate(zip(*shapes)) if a != axis]
    except KeyError:
        raise ValueError(
            f"inputs must have the same shape except on the concatenation axis "
            f"{axis}, got shapes {shapes}") from None
    sizes = [s[axis] for s in shapes]
    out.insert(axis, None if None in sizes else sum(sizes))
    return tuple(out)


def add_forward(xs):
    """Element-wise sum of a list of same-shape arrays. Cache: the input count."""
    add_output_shape([x.shape for x in xs])
    y = xs[0].copy()
    for x in xs[1:]:
        y += x
    return y, len(xs)


def add_backward(dy, cache):
    """[dy, dy, ...]: one independent copy per input.

    Copies, not the same array K times, so that a caller accumulating into one
    input's gradient cannot change another's.
    """
    return [dy.copy() for _ in range(cache)]


class ConcatenateCache(NamedTuple):
    """Where each input's slice of the output is."""
    sizes: list                   # each input's size along the axis
    axis: int                     # non-negative


def concatenate_forward(xs, axis=-1):
    """Join arrays along `axis`. Cache: a ConcatenateCache."""
    concatenate_output_shape([x.shape for x in xs], axis)
    axis = axis % xs[0].ndim
    sizes = [x.shape[axis] for x in xs]
    return np.concatenate(xs, axis=axis), ConcatenateCache(sizes, axis)


def concatenate_backward(dy, cache):
    """Split dy back into the inputs' slices (contiguous copies)."""
    sizes, axis = cache
    bounds = np.cumsum(sizes)[:-1]                 # split points along axis
    return [np.ascontiguousarray(part) for part in np.split(dy, bounds, axis=axis)]
