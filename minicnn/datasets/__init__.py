"""Brain MRI data that ship inside minicnn: no download, no extra package.

    from minicnn import datasets
    icbm = datasets.icbm152(resolution=2)
    icbm.t1.shape, icbm.labels.shape      # (75, 93, 79), (75, 93, 79)

``icbm152`` is the ICBM 2009a nonlinear symmetric template (Fonov et al.
2009, 2011; Collins et al. 1999), derived by ``build_icbm152.py`` into a
skull-stripped T1 and a 4-class tissue label map (0 background, 1 CSF,
2 grey matter, 3 white matter), cropped to the brain plus 2 mm, in MNI space
with RAS+ voxel axes: axis 0 runs left -> right, axis 1 posterior -> anterior,
axis 2 inferior -> superior. So axial slices are ``axis=2`` (X x Y),
coronal ``axis=1``, sagittal ``axis=0``. Copyright notice and citations:
``minicnn/datasets/data/ICBM152_LICENSE.txt`` (``icbm152_notice()``).

What it is, honestly: ONE template, the average of 152 registered brains; a
single smooth, symmetric, noise-free "subject". It is enough to train and
check a segmentation network end to end, not to measure how well one
generalises to new people. Neighbouring slices are nearly identical, so a
held-out evaluation on it must split by slice position with a gap between
training and test slices (``minicnn.data.split_positions``): never test on
slices next to training slices, nor on augmented copies of training slices.
It is also left-right symmetric: a sagittal slice and its mirror are the
same image, so do not hold out one hemisphere's sagittal slices. For
subject-level cross-validation, generate distinct synthetic subjects from it
with ``minicnn.data.synth``.

Class fractions (measured on the shipped files, rounded; "brain slices" are
the axial slices whose brain covers at least 20% of the slice, 59 of 79 at
2 mm, 119 of 158 at 1 mm):

    resolution   voxels           set             bg     CSF    GM     WM
    2 mm         75 x 93 x 79     whole volume    0.576  0.030  0.251  0.143
    2 mm                          brain slices    0.457  0.037  0.316  0.190
    1 mm         150 x 186 x 158  whole volume    0.572  0.036  0.247  0.144
    1 mm                          brain slices    0.456  0.044  0.311  0.189
"""
import os
from dataclasses import dataclass

import numpy as np

from ..data.nifti import load_nifti

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
CLASS_NAMES = ("background", "CSF", "grey matter", "white matter")


@dataclass(frozen=True)
class ICBM152:
    """The embedded template at one resolution (see the module docstring).

    t1          : float32 (X, Y, Z), skull-stripped T1 scaled to [0, 1]
                  (the template's 0..255 divided by 255); 0 outside the brain.
    labels      : int32 (X, Y, Z), 0 background, 1 CSF, 2 GM, 3 WM.
    tissue      : float32 (X, Y, Z, 4) class probabilities p_c summing to 1
                  per voxel. At 1 mm they are exact, p_c = n_c / 255 with
                  n_c the template's integer values, and labels ==
                  argmax(tissue) everywhere; only GM and WM are stored,
                  n_csf = 255 - n_gm - n_wm and n_bg = 0 inside the brain,
                  n_bg = 255 and the others 0 outside. At 2 mm they are the
                  rounded block means n_c renormalised, p_c = n_c / sum_c n_c;
                  labels == argmax(tissue) at 99.96% of voxels, the rest
                  near-ties that the rounding reordered (labels come from
                  the unrounded block sums).
    mask        : bool (X, Y, Z), the brain: labels > 0.
    affine      : float64 (4, 4), voxel -> MNI millimetres.
    class_names : ('background', 'CSF', 'grey matter', 'white matter').
    resolution  : voxel size in mm (1 or 2).
    """
    t1: np.ndarray
    labels: np.ndarray
    tissue: np.ndarray
    mask: np.ndarray
    affine: np.ndarray
    class_names: tuple
    resolution: int

    def __repr__(self):
        return (f"ICBM152(resolution={self.resolution} mm, shape={self.t1.shape}, "
                f"classes={self.class_names})")


def icbm152(resolution=2):
    """Load the embedded ICBM 2009a template at `resolution` mm (1 or 2)."""
    if resolution not in (1, 2) or isinstance(resolution, bool):
        raise ValueError(f"resolution must be 1 or 2 (mm), got {resolution!r}")
    stem = os.path.join(DATA_DIR, f"icbm152_{resolution}mm_")
    t1, affine, _ = load_nifti(stem + "t1.nii.gz", ndim=3)
    labels, _, _ = load_nifti(stem + "labels.nii.gz", ndim=3)
    stored, _, _ = load_nifti(stem + "tissue.nii.gz", ndim=4)
    mask = labels > 0
    if resolution == 1:
        stored = _four_classes(stored, mask)
    counts = stored.astype(np.float32)
    # The sum is 255 at 1 mm; the rounded 2 mm block means need renormalising.
    tissue = counts / counts.sum(axis=-1, keepdims=True)
    return ICBM152(t1=t1.astype(np.float32) / 255, labels=labels.astype(np.int32),
                   tissue=tissue, mask=mask, affine=affine,
                   class_names=CLASS_NAMES, resolution=resolution)


def _four_classes(gm_wm, mask):
    """(X, Y, Z, 2) stored GM, WM counts and the brain mask -> (X, Y, Z, 4)
    counts of bg, CSF, GM, WM summing to 255 (see build_icbm152)."""
    gm, wm = (gm_wm[..., c].astype(np.int32) for c in (0, 1))
    csf = np.where(mask, 255 - gm - wm, 0)
    return np.stack([255 * ~mask, csf, gm, wm], axis=-1)


def icbm152_notice():
    """The template's copyright and permission notice and citations (text)."""
    with open(os.path.join(DATA_DIR, "ICBM152_LICENSE.txt"), encoding="utf-8") as f:
        return f.read()
