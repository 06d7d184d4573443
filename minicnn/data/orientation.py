"""Voxel order and voxel size, read from a NIfTI affine.

The affine A (4 x 4) maps voxel indices (i, j, k) to millimetres in the
scanner's space. Two things a 2D network cares about follow from it.

Orientation. Networks here learn slices of RAS+ volumes: voxel axis 0 runs
left -> right, 1 posterior -> anterior, 2 inferior -> superior (as the
embedded ICBM template). A file stored in another order (LPS, or axes
permuted) is brought to the closest RAS+ order by permuting and flipping
axes only, no interpolation (nibabel's ``io_orientation``):

    ras, ras_affine, back = to_ras(volume, affine)     # ras_affine maps ras's voxels
    ...                                                # work in RAS+
    labels = from_ras(ras_labels, back)                # the file's voxel order again

``from_ras`` applies the inverse permutation and flips, so a label map made
on `ras` lands voxel for voxel on `volume` and is saved with `affine`.

Voxel size. Column c of A's 3 x 3 part is the step in mm of one voxel along
voxel axis c, so the voxel's edge lengths are the norms of the columns,

    voxel_sizes(A)[c] = || A[:3, c] ||

whatever the rotation or flips in A.
"""
import numpy as np
from nibabel import orientations

from .._validate import as_array


def _affine(affine):
    affine = as_array(affine, "affine", dtype=np.float64)
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise ValueError(f"affine must be a finite 4 x 4 matrix, got shape {affine.shape}")
    return affine


def to_ras(volume, affine):
    """(volume permuted/flipped to RAS+, its affine, the transform to undo it).

    volume (X, Y, Z, ...) with `affine` (4, 4); trailing axes (channels)
    are carried along. ``from_ras(result, back)`` restores the voxel order.
    """
    volume = as_array(volume, "volume")
    if volume.ndim < 3:
        raise ValueError(f"volume must have 3 spatial axes, got shape {volume.shape}")
    affine = _affine(affine)
    current = orientations.io_orientation(affine)
    to_canonical = orientations.ornt_transform(current, orientations.axcodes2ornt("RAS"))
    ras = orientations.apply_orientation(volume, to_canonical)
    ras_affine = affine @ orientations.inv_ornt_aff(to_canonical, volume.shape)
    back = orientations.ornt_transform(orientations.axcodes2ornt("RAS"), current)
    return np.ascontiguousarray(ras), ras_affine, back


def from_ras(volume, back):
    """Undo ``to_ras`` on a volume of the RAS+ shape (labels, say)."""
    return np.ascontiguousarray(orientations.apply_orientation(volume, back))


def voxel_sizes(affine):
    """Voxel edge lengths (3,) in mm: the norms of the affine's first three columns."""
    return np.linalg.norm(_affine(affine)[:3, :3], axis=0)
