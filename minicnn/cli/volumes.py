"""Segmenting a whole volume with a 2D network, and getting back to its space.

    probabilities = segment_volume(model, volume, axis, multiple)     # (X, Y, Z, K)

slices the normalised volume along `axis`, pads each slice to a multiple of
`multiple` (a U-Net with L poolings needs 2**L), predicts in batches, undoes
the padding and stacks the slices back: the exact inverse of the slicing, so
voxel (i, j, k) of the result is the prediction for voxel (i, j, k) of the
input. Slices with no non-zero voxel are not run through the network; they
come back as all-zero probabilities (argmax: background).

Someone else's T1 differs from the training data in two ways that a 2D
network cannot absorb, and ``predict`` undoes both, exactly invertibly:

Orientation. The network learnt axial slices of a RAS+ volume (voxel axis 0
left -> right, 1 posterior -> anterior, 2 inferior -> superior). A file stored
in another orientation (LPS, or axes in another order) is permuted and
flipped to the closest RAS+ orientation first (no interpolation: nibabel's
``io_orientation``), and the labels are turned back at the end.

Voxel size. A network trained on 2 mm voxels sees a 1 mm brain twice too
large. The volume is resampled to the training voxel size by separable
linear interpolation (output voxel j of an axis reads input position
u = (j + 1/2) r - 1/2, r = new size / old size in mm, edges clamped), the
class probabilities are resampled back to the input grid the same way, and
only then is the argmax taken.
"""
import numpy as np
from nibabel import orientations

from .. import data
from ..functional.interpolation import linear_interpolation_matrix


# ---------------------------------------------------------------- orientation
def to_ras(volume, affine):
    """(volume permuted/flipped to RAS+, its affine, the transform to undo it)."""
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
    """Voxel edge lengths (3,) in mm: the norms of the affine's columns."""
    return np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)


# ----------------------------------------------------------------- resampling
def resample(volume, ratios, shape):
    """Resample the 3 spatial axes of `volume` (X, Y, Z[, C]) to `shape`.

    ratios[a] is the size of an output voxel in input voxels along axis a.
    Linear interpolation is separable, so it is one small matrix product per
    axis: out = W_0 . (W_1 . (W_2 . volume)).
    """
    out = np.asarray(volume, dtype=np.float32)
    for a in range(3):
        weights = linear_interpolation_matrix(shape[a], out.shape[a], out_spacing=ratios[a],
                                              in_spacing=1, dtype=np.float32)
        out = np.moveaxis(np.tensordot(weights, out, axes=([1], [a])), 0, a)
    return out


def grid_for(shape, sizes, target_mm):
    """Shape of the same field of view with voxels of `target_mm`, and the ratios."""
    new_shape = tuple(max(1, int(round(n * s / target_mm))) for n, s in zip(shape, sizes))
    ratios = tuple(n / m for n, m in zip(shape, new_shape))
    return new_shape, ratios


# ----------------------------------------------------------------- prediction
def slice_shape(volume_shape, axis, multiple):
    """The padded (H, W) the network sees for slices of a volume along `axis`."""
    plane = [n for a, n in enumerate(volume_shape) if a != axis]
    return tuple(-(-n // multiple) * multiple for n in plane)


def segment_volume(model, volume, axis, multiple, batch_size=16):
    """Class probabilities (X, Y, Z, K) of a normalised (X, Y, Z) volume."""
    x, _, positions = data.extract_slices(volume, axis=axis)       # (N, H, W, 1), non-empty
    n_classes = model.output_shape[-1]
    if len(x) == 0:
        return np.zeros(volume.shape + (n_classes,), dtype=np.float32)
    x, margins = data.pad_to_multiple(x, multiple)                 # (N, H', W', 1)
    prob = model.predict(x, batch_size=batch_size, verbose=0)      # (N, H', W', K)
    prob = data.undo_margins(prob, margins)                        # (N, H, W, K)
    return data.slices_to_volume(prob, positions, axis, volume.shape)
