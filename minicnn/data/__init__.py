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

One concept per module: ``nifti`` (I/O), ``normalize``, ``slicing``,
``padding``, ``labels``, ``splits``, ``reassemble``, ``interpolate``,
``augment``, ``batches``, ``synth`` (synthetic subjects). The embedded
template lives in ``minicnn.datasets``.
"""
from .augment import Augmenter, left_right_axis
from .batches import BatchIterator
from .interpolate import linear_sample, nearest_sample
from .labels import class_fractions, label_mapping, one_hot, remap_labels
from .nifti import NiftiError, load_nifti, load_pair, save_nifti
from .normalize import clip_percentiles, minmax, zscore, zscore_minmax
from .padding import Margins, crop_to_multiple, pad_to_multiple, undo_margins
from .reassemble import patches_to_volume, slices_to_volume
from .slicing import extract_patches, extract_slices, random_crops
from .splits import Fold, kfold, split_positions, split_subjects
from . import synth
from .synth import SynthGenerator, synth_slices

__all__ = [
    "Augmenter", "left_right_axis", "BatchIterator", "linear_sample", "nearest_sample",
    "class_fractions", "label_mapping", "one_hot", "remap_labels",
    "NiftiError", "load_nifti", "load_pair", "save_nifti",
    "clip_percentiles", "minmax", "zscore", "zscore_minmax",
    "Margins", "crop_to_multiple", "pad_to_multiple", "undo_margins",
    "patches_to_volume", "slices_to_volume", "extract_patches", "extract_slices",
    "random_crops",
    "Fold", "kfold", "split_positions", "split_subjects",
    "synth", "SynthGenerator", "synth_slices",
]
