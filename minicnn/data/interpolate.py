"""Sampling a grid of voxels at arbitrary (non-integer) positions.

Deforming an image (a rotation for augmentation, an elastic warp for a
synthetic subject) means: for every output pixel, compute where it comes from
in the input, u = T(v), and read the input there. u is rarely on the grid, so
the value is interpolated from the 2**d grid points around it.

Linear interpolation in d dimensions (bilinear for d = 2, trilinear for 3).
Write u = i + f with i = floor(u) and f in [0, 1) per axis; the corner
i + b, for b in {0, 1}^d, gets the weight prod_a (f_a if b_a else 1 - f_a):

    value(u) = sum_{b in {0,1}^d}  w_b(f) * array[i + b]

The weights are non-negative and sum to 1, so probabilities stay
probabilities. Corners outside the array count as 0 (outside the field of
view is background); the weight is zeroed per axis, which is cheaper than
testing each corner.

Nearest-neighbour sampling reads array[round(u)] (or `fill` outside); it is
used for label maps, whose values are classes and must not be averaged.

Shapes: array (S_0, ..., S_{d-1}, C) - d spatial axes then channels;
coords (P, d) positions in voxel units; result (P, C).
Vectorised over the P points; the only Python loop is over the 2**d corners.
"""
import itertools

import numpy as np

from .._validate import as_array


def _check(array, coords):
    array = as_array(array, "array")
    coords = as_array(coords, "coords")
    if coords.ndim != 2 or not 1 <= coords.shape[1] <= array.ndim - 1:
        raise ValueError(f"coords must be (P, d) with d spatial axes of array "
                         f"{array.shape} (the last axis is channels), got {coords.shape}")
    if coords.shape[1] != array.ndim - 1:
        raise ValueError(f"array must have {coords.shape[1]} spatial axes plus one "
                         f"channel axis, got shape {array.shape}")
    return array, coords


def linear_sample(array, coords, dtype=np.float32):
    """Multilinear interpolation of `array` (S..., C) at `coords` (P, d) -> (P, C)."""
    array, coords = _check(array, coords)
    spatial = array.shape[:-1]
    flat = array.reshape(-1, array.shape[-1])                # (V, C)
    strides = np.cumprod((1,) + spatial[:0:-1])[::-1]        # row-major voxel strides
    lows, weights = [], []
    for a, n in enumerate(spatial):
        u = coords[:, a].astype(dtype)
        i0 = np.floor(u)
        f = u - i0
        i0 = i0.astype(np.intp)
        i1 = i0 + 1
        # Weight 0 for a corner outside the array, index clipped so that the
        # gather below stays legal (its value is multiplied by 0).
        w0 = np.where((i0 >= 0) & (i0 < n), 1 - f, 0).astype(dtype)
        w1 = np.where((i1 >= 0) & (i1 < n), f, 0).astype(dtype)
        lows.append((np.clip(i0, 0, n - 1) * strides[a], np.clip(i1, 0, n - 1) * strides[a]))
        weights.append((w0, w1))
    out = np.zeros((len(coords), array.shape[-1]), dtype=dtype)  # (P, C)
    for corner in itertools.product((0, 1), repeat=len(spatial)):
        index = lows[0][corner[0]]
        weight = weights[0][corner[0]]
        for a in range(1, len(spatial)):
            index = index + lows[a][corner[a]]
            weight = weight * weights[a][corner[a]]
        # np.take gathers rows several times faster than flat[index].
        values = np.take(flat, index, axis=0).astype(dtype, copy=False)  # (P, C)
        values *= weight[:, None]
        out += values
    return out


def nearest_sample(array, coords, fill=0):
    """Nearest-neighbour values of `array` (S..., C) at `coords` (P, d) -> (P, C)."""
    array, coords = _check(array, coords)
    spatial = np.array(array.shape[:-1])
    index = np.rint(coords).astype(np.int64)                   # (P, d)
    inside = ((index >= 0) & (index < spatial)).all(axis=1)    # (P,)
    index = np.clip(index, 0, spatial - 1)
    out = array[tuple(index.T)]                                # (P, C)
    out[~inside] = fill
    return out
