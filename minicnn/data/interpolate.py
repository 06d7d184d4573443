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

Resampling a whole volume to another voxel size is the special case of a
regular output grid, and it is cheaper: linear interpolation on a grid is
separable, one (n_out, n_in) matrix per axis
(``minicnn.functional.interpolation.linear_interpolation_matrix``, the
matrix of bilinear upsampling too). Output voxel j of an axis reads the input
at the half-pixel position

    u = (j + 1/2) r - 1/2,    r = output voxel size / input voxel size

clamped to the first and last input voxel (not 0 outside: a volume resampled
to the same field of view has nothing outside it). ``grid_for_voxel_size``
chooses the output shape and the ratios r for a target voxel size;
``resample`` applies them:

    shape, ratios = grid_for_voxel_size(volume.shape, voxel_mm, 2.0)
    resampled = resample(volume, ratios, shape)           # (X', Y', Z'[, C])
"""
import itertools

import numpy as np

from .._validate import as_array, int_tuple, positive_number
from ..functional.interpolation import linear_interpolation_matrix


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


def _three_positive_numbers(values, name):
    """(v_0, v_1, v_2), one finite number > 0 per spatial axis."""
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(f"{name} must be three numbers > 0, one per spatial axis, "
                        f"got {values!r}") from None
    if len(values) != 3:
        raise ValueError(f"{name} must be three numbers > 0, one per spatial axis, "
                         f"got {values!r}")
    return tuple(positive_number(v, f"{name}[{a}]") for a, v in enumerate(values))


def resample(volume, ratios, shape):
    """Resample the 3 spatial axes of `volume` (X, Y, Z[, C]) to `shape` (X', Y', Z').

    ratios[a] is the size of an output voxel in input voxels along axis a:
    output voxel j reads the input at u = (j + 1/2) ratios[a] - 1/2,
    clamped. Separable, so one matrix product per axis,

        out = W_0 . (W_1 . (W_2 . volume)),    W_a (shape[a], X_a)

    with channels (class probabilities, say) interpolated independently.
    Returns float32 (X', Y', Z'[, C]).
    """
    out = as_array(volume, "volume", dtype=np.float32)
    if out.ndim not in (3, 4):
        raise ValueError(f"volume must be (X, Y, Z) or (X, Y, Z, C), got shape {out.shape}")
    ratios = _three_positive_numbers(ratios, "ratios")
    shape = int_tuple(shape, 3, "shape")
    for a in range(3):
        weights = linear_interpolation_matrix(shape[a], out.shape[a], out_spacing=ratios[a],
                                              in_spacing=1, dtype=np.float32)
        out = np.moveaxis(np.tensordot(weights, out, axes=([1], [a])), 0, a)
    return out


def grid_for_voxel_size(shape, voxel_mm, target_mm):
    """(shape, ratios) of the same field of view resampled to voxels of `target_mm`.

    shape (X, Y, Z) and voxel_mm (3,) describe the input grid. The new shape
    is n' = max(1, round(n voxel_mm / target_mm)) per axis and the ratio
    r = n / n', so the new grid covers exactly the input's field of view
    (its voxels are target_mm up to the rounding of n'). Pass both to
    ``resample``; ``resample(out, n' / n, shape)`` goes back.
    """
    shape = int_tuple(shape, 3, "shape")
    voxel_mm = _three_positive_numbers(voxel_mm, "voxel_mm")
    target_mm = positive_number(target_mm, "target_mm")
    new_shape = tuple(max(1, int(round(n * s / target_mm))) for n, s in zip(shape, voxel_mm))
    ratios = tuple(n / m for n, m in zip(shape, new_shape))
    return new_shape, ratios
