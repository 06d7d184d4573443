"""Putting per-slice or per-patch predictions back into a 3D volume.

The inverse of ``minicnn.data.slicing``. With the positions/origins returned
when the pieces were cut, and the volume's spatial shape (X, Y, Z):

    slices_to_volume(pred (N, H, W[, K]), positions (N,), axis, shape)
        -> (X, Y, Z[, K]); slice n goes to index positions[n] along `axis`.
    patches_to_volume(pred (N, P0, P1, P2[, K]), origins (N, 3), shape)
        -> (X, Y, Z[, K]); where patches overlap the values are averaged:

        out[v] = sum_{n covering v} pred_n[v - origin_n] / #{n covering v}

Voxels that no piece covers (dropped empty slices, say) get `fill`
(default 0: background for labels, zero for probabilities).

Averaging is meant for probabilities or scores (take the argmax after);
averaging integer labels is refused, since the mean of classes 1 and 3 is not
class 2. To write the result next to its input:

    save_nifti("pred.nii.gz", volume, affine, header)   # the input's affine
"""
import numpy as np

from .._validate import as_array


def _spatial_shape(shape):
    try:
        shape = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of 3 ints, got {shape!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be 3 positive ints (X, Y, Z), got {shape!r}")
    return shape


def _positions(index, name, count, upper):
    index = np.asarray(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype {index.dtype}")
    if len(index) != count:
        raise ValueError(f"{name} has {len(index)} entries but there are {count} "
                         "predictions; they must correspond one to one")
    if index.size and (index.min() < 0 or (index > upper).any()):
        raise ValueError(f"{name} must lie inside the volume (0 .. {upper}), got "
                         f"values in [{index.min()}, {index.max()}]")
    return index


def slices_to_volume(slices, positions, axis, shape, fill=0):
    """Stack per-slice predictions back into a (X, Y, Z[, K]) volume."""
    slices = as_array(slices, "slices")
    shape = _spatial_shape(shape)
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    if slices.ndim not in (3, 4):
        raise ValueError(f"slices must be (N, H, W) or (N, H, W, K), got shape {slices.shape}")
    plane = shape[:axis] + shape[axis + 1:]
    if slices.shape[1:3] != plane:
        raise ValueError(f"slices along axis {axis} of a {shape} volume must be "
                         f"{plane}, got {slices.shape[1:3]}")
    positions = _positions(positions, "positions", len(slices), shape[axis] - 1)
    if len(np.unique(positions)) != len(positions):
        raise ValueError("positions must be distinct: two predictions for one slice")
    stack = np.full((shape[axis],) + slices.shape[1:], fill, dtype=slices.dtype)  # (S, H, W[, K])
    stack[positions] = slices
    return np.moveaxis(stack, 0, axis)                        # (X, Y, Z[, K])


def patches_to_volume(patches, origins, shape, fill=0):
    """Average overlapping patch predictions into a (X, Y, Z[, K]) volume."""
    patches = as_array(patches, "patches")
    shape = _spatial_shape(shape)
    if patches.ndim not in (4, 5):
        raise ValueError(f"patches must be (N, P0, P1, P2) or (N, P0, P1, P2, K), "
                         f"got shape {patches.shape}")
    if patches.dtype.kind != "f":
        raise TypeError(f"patches must be float (probabilities or scores) to be "
                        f"averaged, got dtype {patches.dtype}; one-hot encode labels first")
    origins = np.asarray(origins)
    if origins.ndim != 2 or origins.shape[1] != 3:
        raise ValueError(f"origins must have shape (N, 3), got {origins.shape}")
    size = patches.shape[1:4]
    if any(p > n for p, n in zip(size, shape)):
        raise ValueError(f"patch size {size} exceeds the volume shape {shape}")
    origins = _positions(origins, "origins", len(patches), max(shape) - 1)
    if ((origins + size) > shape).any():
        raise ValueError(f"origins place patches of size {size} outside the volume {shape}")
    total = np.zeros(shape + patches.shape[4:], dtype=np.float64)  # (X, Y, Z[, K])
    count = np.zeros(shape, dtype=np.int64)                      # (X, Y, Z)
    # One vectorised block addition per patch (not per voxel).
    for patch, (i, j, k) in zip(patches, origins):
        block = (slice(i, i + size[0]), slice(j, j + size[1]), slice(k, k + size[2]))
        total[block] += patch
        count[block] += 1
    covered = count > 0
    out = np.full(total.shape, fill, dtype=patches.dtype)
    out[covered] = total[covered] / count[covered].reshape(-1, *([1] * (total.ndim - 3)))
    return out
