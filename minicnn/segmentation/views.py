"""Segmenting a whole volume with a 2D network, slice by slice, in one or more views.

    probabilities = segment_volume(model, volume, axis, multiple)    # (X, Y, Z, K)
    probabilities = segment_views(model, volume, ["axial", "coronal", "sagittal"],
                                  multiple, margin=4)                  # (X, Y, Z, K)

``segment_volume`` chains the steps of ``minicnn.data`` that take a volume
to the network and back:

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

Views. A RAS+ volume (``minicnn.data.to_ras``) is cut across one of its
voxel axes: sagittal slices across axis 0 (left-right), coronal across 1
(posterior-anterior), axial across 2 (inferior-superior); ``VIEWS`` maps
the names to the axes. ``segment_views`` runs a network trained on slices
of several views along each of them and averages the class probabilities
voxel by voxel before any argmax (a voxel gets a vote from each of its
three slices):

    box = brain_bounding_box(volume, margin)        the non-zero voxels' box,
                                                    grown by `margin` voxels
    p_v = segment_volume(model, volume[box], VIEWS[v], multiple)     per view v
    P[box] = (1 / V) sum_v p_v,    P = e_0 (background) outside the box

Cropping first makes every slice the brain's size rather than the field of
view's (a 1 mm scan's 181 x 217 slice holds a brain of about 140 x 175
voxels), and the network is fully convolutional, so it runs on the cropped
slices as they are, padded to its multiple. A slice with no non-zero voxel
is not run: its voxels count as background, e_0, in the average.
"""
import numpy as np

from .._validate import as_array, positive_int
from ..data import extract_slices, pad_to_multiple, slices_to_volume, undo_margins

VIEWS = {"sagittal": 0, "coronal": 1, "axial": 2}   # view -> the RAS+ axis across its slices


def view_axes(views):
    """The axes (tuple of int) of a non-empty sequence of distinct view names."""
    if isinstance(views, str) or not hasattr(views, "__iter__"):
        raise TypeError(f"views must be a list of view names among {tuple(VIEWS)}, "
                        f"got {views!r}")
    views = list(views)
    unknown = [v for v in views if v not in VIEWS]
    if not views or unknown or len(set(views)) != len(views):
        raise ValueError(f"views must be distinct names among {tuple(VIEWS)}, at least "
                         f"one, got {views!r}")
    return tuple(VIEWS[v] for v in views)


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


def brain_bounding_box(volume, margin=0):
    """The box (3 slices) around the non-zero voxels of `volume` (X, Y, Z),
    grown by `margin` voxels on every side and clipped to the volume; None
    if no voxel is non-zero."""
    volume = as_array(volume, "volume", ndim=3)
    margin = positive_int(margin, "margin", minimum=0)
    box = []
    for a in range(3):
        present = np.flatnonzero(volume.any(axis=tuple(b for b in range(3) if b != a)))
        if present.size == 0:
            return None
        box.append(slice(max(0, int(present[0]) - margin),
                         min(volume.shape[a], int(present[-1]) + 1 + margin)))
    return tuple(box)


def segment_views(model, volume, views, multiple, margin=0, batch_size=16):
    """Class probabilities (X, Y, Z, K) of a normalised volume (X, Y, Z),
    averaged over `views` (names of VIEWS; see the module docstring).

    Each view's slices are cut from the brain's bounding box grown by
    `margin` voxels, padded to a multiple of `multiple` and run in batches
    of `batch_size`. Outside the box, and in slices with no non-zero voxel,
    the probability of class 0 (background) is 1.
    """
    volume = as_array(volume, "volume")
    if volume.ndim != 3:
        raise ValueError(f"volume must be (X, Y, Z), got shape {volume.shape}")
    axes = view_axes(views)
    n_classes = model.output_shape[-1]
    prob = np.zeros(volume.shape + (n_classes,), dtype=np.float32)   # (X, Y, Z, K)
    box = brain_bounding_box(volume, margin)
    if box is None:
        prob[..., 0] = 1
        return prob
    prob[..., 0] = 1                   # background outside the box ...
    prob[box] = 0                      # ... and the views' average inside it
    crop = volume[box]
    for axis in axes:
        part = segment_volume(model, crop, axis, multiple, batch_size)   # (x, y, z, K)
        others = tuple(b for b in range(3) if b != axis)
        empty = ~crop.any(axis=others)                                   # slices not run
        np.moveaxis(part, axis, 0)[empty, ..., 0] = 1                    # background
        prob[box] += part
    prob[box] /= len(axes)
    return prob


def parse_views(text):
    """'all', or comma-separated distinct view names -> 'all' or a list of
    names. What 'all' means is the caller's: every view there is (training)
    or every view a model's card lists (prediction)."""
    if text == "all":
        return text
    views = [v.strip() for v in str(text).split(",")]
    try:
        view_axes(views)
    except ValueError:
        raise ValueError(f"expected 'all' or view names among {', '.join(VIEWS)} "
                         f"(comma-separated, each once), got {text!r}") from None
    return views
