"""Cutting volumes into network inputs: 2D slices, 2.5D stacks, 3D patches.

A volume has shape (X, Y, Z) or (X, Y, Z, C) (C channels, e.g. T1 and T2).
Every function returns the pieces AND where they came from, so predictions
can be put back with ``minicnn.data.reassemble``.

2D slices along `axis` (0, 1 or 2): slice p is volume.take(p, axis); the two
remaining spatial axes, in their original order, become H and W:

    axis=0: (Y, Z)   axis=1: (X, Z)   axis=2: (X, Y)
    x: (N, H, W, C)    y: (N, H, W)    positions: (N,)

(The course sliced its 92 x 110 x 92 volumes along axis 0: 110 x 92 slices.)

2.5D: with context=k each slice carries its 2k + 1 neighbours p-k .. p+k as
channels, neighbour-major: channel (o + k) * C + c is channel c of slice
p + o. Neighbours beyond the volume are zeros (outside the field of view).

    x: (N, H, W, (2k + 1) C)

3D patches of size (P0, P1, P2) every `stride` voxels per axis. Origins
along an axis of size n are 0, s, 2s, ... and, if that misses the end,
n - P, so that every voxel is covered (and reassembly can recover it all):

    x: (N, P0, P1, P2, C)    y: (N, P0, P1, P2)    origins: (N, 3)

Empty pieces (no non-zero label, or no non-zero voxel when no labels are
given) carry little information; by default slices drop them and patches
keep them. `keep_empty` keeps a random fraction of the empty ones (seeded).

Random crops of slices, size (h, w), `per_slice` from each slice: so that
a 1 mm slice (e.g. 150 x 186) costs a network about what a whole 2 mm
slice (75 x 93, padded to 80 x 96) does. A crop's centre (r, c) is a
voxel drawn uniformly from the slice's brain (label > 0; any voxel if the
slice has none), and its window is moved inside the slice:

    origin = clip(centre - (h // 2, w // 2), 0, (H - h, W - w))

    x: (N * per_slice, h, w, C)   y: (N * per_slice, h, w)   where: (N * per_slice, 3)

where[i] = (slice index, row, column of the crop's first voxel); crop i
is x[where[i, 0], r0:r0 + h, c0:c0 + w].
"""
import numpy as np

from .._validate import as_array, int_tuple, positive_int
from ..rng import make_rng


def _volume_and_labels(volume, labels):
    volume = as_array(volume, "volume")
    if volume.ndim not in (3, 4):
        raise ValueError(f"volume must be (X, Y, Z) or (X, Y, Z, C), got shape {volume.shape}")
    if volume.ndim == 3:
        volume = volume[..., None]  # (X, Y, Z) -> (X, Y, Z, 1)
    if labels is not None:
        labels = as_array(labels, "labels")
        if labels.dtype.kind not in "biu":
            raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
        if labels.shape != volume.shape[:3]:
            raise ValueError(f"labels must have the spatial shape of volume "
                             f"{volume.shape[:3]}, got {labels.shape}")
    return volume, labels


def _keep(nonempty, drop_empty, keep_empty, seed):
    """Boolean mask of the pieces to keep: all non-empty + a share of the empty."""
    if not 0.0 <= keep_empty <= 1.0:
        raise ValueError(f"keep_empty must be a fraction in [0, 1], got {keep_empty!r}")
    if not drop_empty:
        return np.ones_like(nonempty)
    empty = np.flatnonzero(~nonempty)
    n_keep = int(round(keep_empty * empty.size))
    keep = nonempty.copy()
    keep[make_rng(seed).choice(empty, size=n_keep, replace=False)] = True
    return keep


def extract_slices(volume, axis=0, labels=None, context=0, drop_empty=True,
                   keep_empty=0.0, seed=None):
    """2D (or 2.5D) slices of `volume` along `axis`.

    Returns (x, y, positions): x (N, H, W, C * (2 context + 1)) in the
    volume's dtype, y (N, H, W) labels or None, positions (N,) the slice index
    of each along `axis`, increasing.
    """
    volume, labels = _volume_and_labels(volume, labels)
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    context = positive_int(context, "context", minimum=0)
    stack = np.moveaxis(volume, axis, 0)                   # (S, H, W, C)
    if labels is not None:
        label_stack = np.moveaxis(labels, axis, 0)         # (S, H, W)
        nonempty = label_stack.reshape(len(label_stack), -1).any(axis=1)
    else:
        nonempty = stack.reshape(len(stack), -1).any(axis=1)
    positions = np.flatnonzero(_keep(nonempty, drop_empty, keep_empty, seed))
    padded = np.pad(stack, ((context, context), (0, 0), (0, 0), (0, 0)))  # (S + 2k, H, W, C)
    # padded[p + k + o] is slice p + o; gather all offsets o = -k..k.
    x = np.concatenate([padded[positions + context + o] for o in range(-context, context + 1)],
                       axis=-1)                             # (N, H, W, (2k + 1) C)
    y = None if labels is None else label_stack[positions]  # (N, H, W)
    return x, y, positions


def patch_origins(shape, patch_size, stride):
    """Origins (N, 3) of patches covering a volume of spatial `shape`."""
    starts = []
    for n, p, s in zip(shape, patch_size, stride):
        if p > n:
            raise ValueError(f"patch_size {tuple(patch_size)} exceeds the volume's "
                             f"spatial shape {tuple(shape)}; pad the volume first")
        axis_starts = list(range(0, n - p + 1, s))
        if axis_starts[-1] != n - p:  # the last patch is flush with the end
            axis_starts.append(n - p)
        starts.append(axis_starts)
    grid = np.meshgrid(*starts, indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1)       # (N, 3)


def extract_patches(volume, patch_size, stride=None, labels=None, drop_empty=False,
                    keep_empty=0.0, seed=None):
    """3D patches of `volume` covering it entirely (stride defaults to patch_size).

    Returns (x, y, origins): x (N, P0, P1, P2, C), y (N, P0, P1, P2) or None,
    origins (N, 3) the voxel index of each patch's first corner.
    """
    volume, labels = _volume_and_labels(volume, labels)
    patch_size = int_tuple(patch_size, 3, "patch_size")
    stride = patch_size if stride is None else int_tuple(stride, 3, "stride")
    origins = patch_origins(volume.shape[:3], patch_size, stride)
    # A read-only view of every possible patch, indexed by its origin:
    # windows[i, j, k] has shape (C, P0, P1, P2).
    windows = np.lib.stride_tricks.sliding_window_view(volume, patch_size, axis=(0, 1, 2))
    x = np.moveaxis(windows[tuple(origins.T)], 1, -1)          # (N, P0, P1, P2, C)
    y = None
    if labels is not None:
        label_windows = np.lib.stride_tricks.sliding_window_view(labels, patch_size)
        y = label_windows[tuple(origins.T)]                    # (N, P0, P1, P2)
        nonempty = y.reshape(len(y), -1).any(axis=1)
    else:
        nonempty = x.reshape(len(x), -1).any(axis=1)
    keep = _keep(nonempty, drop_empty, keep_empty, seed)
    return x[keep], None if y is None else y[keep], origins[keep]


def random_crops(x, y, size, per_slice=1, seed=None):
    """Seeded random crops of `size` (h, w) from slices x (N, H, W, C) and
    labels y (N, H, W), centred on brain voxels (see the module docstring).

    Returns (x_crops (N * per_slice, h, w, C), y_crops (N * per_slice, h, w),
    where (N * per_slice, 3)); crops of slice i are rows i * per_slice ..
    (i + 1) * per_slice - 1. The same seed gives the same crops.
    """
    x = as_array(x, "x", ndim=4)
    y = as_array(y, "y", ndim=3)
    if y.dtype.kind not in "biu":
        raise TypeError(f"y must hold integer labels, got dtype {y.dtype}")
    if y.shape != x.shape[:3]:
        raise ValueError(f"y must be (N, H, W) = {x.shape[:3]}, got {y.shape}")
    h, w = int_tuple(size, 2, "size")
    n, height, width = y.shape
    if h > height or w > width:
        raise ValueError(f"size {(h, w)} exceeds the slices' H x W {(height, width)}; "
                         f"pad the slices first (pad_to_multiple) or crop smaller")
    per_slice = positive_int(per_slice, "per_slice")
    rng = make_rng(seed)
    index = np.repeat(np.arange(n), per_slice)                        # (M,) slice of each crop
    brain = y.reshape(n, -1) > 0                                      # (N, H W)
    counts = brain.sum(axis=1)                                        # (N,)
    # Per crop: the k-th brain voxel of its slice, k uniform; a slice with
    # no brain draws among all its voxels.
    pool = np.where(counts > 0, counts, height * width)[index]        # (M,)
    k = np.minimum((rng.random(len(index)) * pool).astype(np.int64), pool - 1)
    flat = np.flatnonzero(brain)                                      # slice-major
    first = np.cumsum(counts) - counts                                # (N,) of each slice
    centre = k                                                        # (M,) flat H W index
    has = counts[index] > 0
    centre[has] = flat[first[index[has]] + k[has]] - index[has] * (height * width)
    r0 = np.clip(centre // width - h // 2, 0, height - h)
    c0 = np.clip(centre % width - w // 2, 0, width - w)
    rows = r0[:, None] + np.arange(h)                                 # (M, h)
    cols = c0[:, None] + np.arange(w)                                 # (M, w)
    pick = (index[:, None, None], rows[:, :, None], cols[:, None, :])
    return x[pick], y[pick], np.stack([index, r0, c0], axis=1)
