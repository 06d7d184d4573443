"""Numba concatenation along the channel axis (the U-Net's skip connections).

With NHWC data, joining along the last axis interleaves the inputs pixel by
pixel: each output pixel's channels are input 1's channels, then input 2's.
``np.concatenate`` does it as one strided copy per input; here each input's
rows of channels are copied in parallel into their column range, and the
backward pass copies the ranges back out:

    y[p, o_k : o_k + C_k] = x_k[p, :]        dx_k[p, :] = dy[p, o_k : o_k + C_k]

for every pixel p, with o_k the sum of the channel counts before input k.
The cache is ``functional.merging``'s: (sizes along the axis, axis).
"""
import numpy as np
from numba import njit, prange

from ..functional.merging import ConcatenateCache, concatenate_output_shape


@njit(parallel=True, cache=True)
def _put_channels(src, dst, offset):
    """dst[p, offset : offset + c] = src[p] for every row p; src (P, c), dst (P, C)."""
    for p in prange(src.shape[0]):
        dst[p, offset:offset + src.shape[1]] = src[p]


@njit(parallel=True, cache=True)
def _take_channels(src, offset, dst):
    """dst[p] = src[p, offset : offset + c] for every row p; src (P, C), dst (P, c)."""
    for p in prange(dst.shape[0]):
        dst[p] = src[p, offset:offset + dst.shape[1]]


def concatenate_forward(xs, axis=-1):
    """Numba twin of ``functional.merging.concatenate_forward`` (last axis)."""
    shape = concatenate_output_shape([x.shape for x in xs], axis)
    axis = axis % xs[0].ndim
    dtype = np.result_type(*xs)
    y = np.empty(shape, dtype=dtype)
    rows = y.reshape(-1, shape[-1])                            # (pixels, sum C_k)
    offset = 0
    for x in xs:
        part = np.ascontiguousarray(x, dtype=dtype).reshape(rows.shape[0], -1)
        _put_channels(part, rows, offset)
        offset += part.shape[1]
    return y, ConcatenateCache([x.shape[axis] for x in xs], axis)


def concatenate_backward(dy, cache):
    """Numba twin of ``functional.merging.concatenate_backward`` (last axis)."""
    sizes, _ = cache
    rows = np.ascontiguousarray(dy).reshape(-1, dy.shape[-1])  # (pixels, sum C_k)
    parts, offset = [], 0
    for size in sizes:
        part = np.empty((rows.shape[0], size), dtype=dy.dtype)
        _take_channels(rows, offset, part)
        parts.append(part.reshape(dy.shape[:-1] + (size,)))
        offset += size
    return parts
