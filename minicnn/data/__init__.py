"""Brain MRI data: from NIfTI files to (x, y) batches and back to NIfTI.

    from minicnn import data, datasets

    image, labels, affine, header = data.load_pair("t1.nii.gz", "seg.nii.gz")
    image = data.zscore_minmax(image, mask=labels > 0)          # normalise
    x, y, pos = data.extract_slices(image, axis=2, labels=labels)
    x, margins = data.pad_to_multiple(x, 2 ** 3)                # H, W % 8 == 0
    ...                                                          # train / predict
    prob = data.undo_margins(prob, margins)                     # back to H x W
    volume = data.slices_to_volume(prob.argmax(-1), pos, 2, image.shape)
    data.save_nifti("pred.nii.gz", volume, affine, header)      # same space

A whole volume through a trained 2D network (in one or more views, with
the model card, as ``minicnn predict`` does) is ``minicnn.segmentation``,
built on these functions.

One concept per module: ``nifti`` (I/O), ``orientation`` (voxel order and
size from the affine), ``normalize``, ``slicing``, ``padding``, ``labels``,
``splits``, ``reassemble``, ``quality`` (does an input look like a
skull-stripped T1?), ``interpolate`` (sampling and resampling),
``augment``, ``batches``, ``synth`` (synthetic subjects). The embedded
template lives in ``minicnn.datasets``.
"""
from .augment import Augmenter, left_right_axis
from .batches import BatchIterator
from .interpolate import grid_for_voxel_size, linear_sample, nearest_sample, resample
from .labels import class_fractions, class_volumes_ml, label_mapping, one_hot, remap_labels
from .nifti import NiftiError, load_nifti, load_pair, save_nifti
from .normalize import (clip_percentiles, minmax, scale_by_brain_percentile, zscore,
                        zscore_minmax)
from .orientation import from_ras, to_ras, voxel_sizes
from .padding import Margins, crop_to_multiple, pad_to_multiple, pad_to_shape, undo_margins
from .reassemble import patches_to_volume, slices_to_volume
from .quality import Finding, check_input
from .slicing import extract_patches, extract_slices, random_crops
from .splits import Fold, kfold, split_positions, split_subjects
from . import synth
from .synth import SynthGenerator, synth_slices

__all__ = [
    "Augmenter", "left_right_axis", "BatchIterator",
    "grid_for_voxel_size", "linear_sample", "nearest_sample", "resample",
    "class_fractions", "class_volumes_ml", "label_mapping", "one_hot", "remap_labels",
    "NiftiError", "load_nifti", "load_pair", "save_nifti",
    "clip_percentiles", "minmax", "scale_by_brain_percentile", "zscore", "zscore_minmax",
    "from_ras", "to_ras", "voxel_sizes",
    "Margins", "crop_to_multiple", "pad_to_multiple", "pad_to_shape", "undo_margins",
    "patches_to_volume", "slices_to_volume", "Finding", "check_input",
    "extract_patches", "extract_slices", "random_crops",
    "Fold", "kfold", "split_positions", "split_subjects",
    "synth", "SynthGenerator", "synth_slices",
]
