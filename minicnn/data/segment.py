"""Segmenting a whole volume with a 2D network, slice by slice.

    probabilities = segment_volume(model, volume, axis, multiple)    # (X, Y, Z, K)

chains the steps of ``minicnn.data`` that take a volume to the network and
back:

    x, _, positions = extract_slices(volume, axis)     (N, H, W, 1), non-empty slices
    x, margins = pad_to_multiple(x, multiple)          (N, H', W', 1)
    p = model.predict(x)                               (N, H', W', K)
    p = undo_margins(p, margins)                       (N, H, W, K)
    slices_to_volume(p, positions, axis, shape)        (X, Y, Z, K)

Padding to a multiple of `multiple` is what a U-Net with L poolings needs
(2**L); undoing it and stacking the slices back is the exact inverse of the
slicing, so voxel (i, j, k) of the result is the prediction for voxel
(i, j, k) of the input. Slices with no non-zero voxel are not run through the
network: they come back as all-zero probabilities (argmax: background).

The volume must be normalised as the network's training data were, and the
network must accept (H', W', 1) inputs: build it for
``padded_slice_shape(volume.shape, axis, multiple) + (1,)``. A fully
convolutional network (the U-Nets, the plain CNNs) runs on any H' and W'.
"""
import numpy as np

from .._validate import as_array, positive_int
from .padding import pad_to_multiple, undo_margins
from .reassemble import slices_to_volume
from .slicing import extract_slices


def _axis(axis):
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    return axis


def padded_slice_shape(volume_shape, axis, multiple):
    """(H', W'): the plane of `volume_shape` (X, Y, Z) across `axis`, each side
    rounded up to a multiple of `multiple` (the network's input size)."""
    multiple = positive_int(multiple, "multiple")
    plane = [n for a, n in enumerate(volume_shape) if a != _axis(axis)]
    return tuple(-(-n // multiple) * multiple for n in plane)


def segment_volume(model, volume, axis, multiple, batch_size=16):
    """Class probabilities (X, Y, Z, K) of a normalised volume (X, Y, Z).

    model: a trained network with ``predict`` and ``output_shape`` (..., K);
    slices along `axis` are padded to a multiple of `multiple` and run in
    batches of `batch_size`.
    """
    volume = as_array(volume, "volume")
    if volume.ndim != 3:
        raise ValueError(f"volume must be (X, Y, Z), got shape {volume.shape}")
    multiple = positive_int(multiple, "multiple")
    batch_size = positive_int(batch_size, "batch_size")
    x, _, positions = extract_slices(volume, axis=_axis(axis))     # (N, H, W, 1), non-empty
    n_classes = model.output_shape[-1]
    if len(x) == 0:
        return np.zeros(volume.shape + (n_classes,), dtype=np.float32)
    x, margins = pad_to_multiple(x, multiple)                      # (N, H', W', 1)
    prob = model.predict(x, batch_size=batch_size, verbose=0)      # (N, H', W', K)
    prob = undo_margins(prob, margins)                             # (N, H, W, K)
    return slices_to_volume(prob, positions, axis, volume.shape)
