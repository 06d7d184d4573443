"""``minicnn predict``: segment your own skull-stripped T1 with trained weights.

    minicnn predict --weights minicnn-train/model.npz --input t1.nii.gz --output labels.nii.gz

Steps, each undone in reverse so the label map overlays the input exactly:

1. read the 3D NIfTI (a 4D file, or anything that is not NIfTI, is refused);
2. turn it to RAS+ voxel order, as the network was trained (permutations
   and flips only: ``minicnn.data.to_ras``);
3. resample it to the training voxel size if its voxels differ by more than
   10 % (``--no-resample`` turns this off): linear interpolation,
   ``minicnn.data.grid_for_voxel_size`` and ``minicnn.data.resample``;
4. normalise it as training did (the model card's settings of
   ``minicnn.data.scale_by_brain_percentile``);
5. slice along ``--axis``, pad to the network's multiple, predict in batches,
   unpad, stack back (``minicnn.data.segment_volume``);
6. resample the class probabilities back to the input grid, take the argmax,
   undo the reorientation (``minicnn.data.from_ras``);
7. write the labels (uint8, 0 .. K-1) with the input's affine and header,
   and print the volume of each class in mL (``minicnn.data.class_volumes_ml``:
   voxels x |det A| / 1000, A the 3 x 3 part of the affine).
"""
import os
import time

import numpy as np

from .. import data
from ..backend import BACKENDS, set_backend
from . import recipe
from .arguments import positive_int

RESAMPLE_TOLERANCE = 0.10   # relative voxel-size difference that triggers resampling


def add_arguments(parser):
    parser.add_argument("--weights", required=True,
                        help="model .npz written by 'minicnn train' (its model card, the "
                        ".json of the same name, must sit beside it)")
    parser.add_argument("--input", required=True,
                        help="skull-stripped T1 volume, .nii or .nii.gz, 3D")
    parser.add_argument("--output", required=True,
                        help="label map to write, .nii or .nii.gz")
    parser.add_argument("--axis", type=int, choices=(0, 1, 2), default=None,
                        help="slice axis after turning the volume to RAS+ (2 axial, "
                        "1 coronal, 0 sagittal); default: the axis the model was "
                        "trained on")
    parser.add_argument("--batch-size", type=positive_int, default=16,
                        help="slices per forward pass (default 16)")
    parser.add_argument("--no-resample", action="store_true",
                        help="keep the input's voxel size even if it differs from the "
                        "training voxel size")
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="kernels: 'numba' (compiled) or 'numpy' (default: the "
                        "library's, numba when it imports)")


def run(args):
    start = time.perf_counter()
    output = os.fspath(args.output)
    if not output.lower().endswith((".nii", ".nii.gz")):
        raise ValueError(f"--output must end in .nii or .nii.gz, got {output!r}")
    if os.path.abspath(output) == os.path.abspath(args.input):
        raise ValueError(f"--output {output!r} is the input image; it would be overwritten "
                         "with labels: choose another file name")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--output: no folder {folder!r} to write into")
    card = recipe.load_card(args.weights)        # before the image: fail fast
    if args.backend is not None:
        set_backend(args.backend)
    image, affine, header = data.load_nifti(args.input, ndim=3)
    if image.dtype.kind not in "biuf":
        raise ValueError(f"{args.input}: voxels of type {image.dtype} are not an image")
    axis = card["axis"] if args.axis is None else args.axis
    if axis != card["axis"]:
        print(f"note: the model was trained on slices along axis {card['axis']}; "
              f"slicing along axis {axis} as asked")

    ras, ras_affine, back = data.to_ras(image.astype(np.float32), affine)
    sizes = data.voxel_sizes(ras_affine)
    target = card["voxel_mm"]
    needs_resampling = (not args.no_resample
                and np.any(np.abs(sizes / target - 1) > RESAMPLE_TOLERANCE))
    work = ras
    if needs_resampling:
        shape, ratios = data.grid_for_voxel_size(ras.shape, sizes, target)
        work = data.resample(ras, ratios, shape)
        print(f"resampled {_size_text(sizes)} mm voxels to {target:g} mm for the network "
              f"({ras.shape} -> {shape})")
    normalised = recipe.normalise(work, card)
    shape = data.padded_slice_shape(normalised.shape, axis, card["pad_multiple"])
    model, card = recipe.load_model(args.weights, shape + (1,))
    n_slices = int(normalised.shape[axis])
    print(f"segmenting {n_slices} slices of {shape[0]} x {shape[1]} with "
          f"{card['model']!r} ({model.count_params():,} parameters) ...")
    prob = data.segment_volume(model, normalised, axis, card["pad_multiple"],
                               args.batch_size)                        # (X', Y', Z', K)
    if needs_resampling:
        prob = data.resample(prob, [m / n for m, n in zip(work.shape, ras.shape)],
                             ras.shape)                                # (X, Y, Z, K)
    labels = data.from_ras(prob.argmax(axis=-1).astype(np.uint8), back)
    data.save_nifti(output, labels, affine, header, dtype=np.uint8)
    print_volumes(labels, affine, card["class_names"])
    print(f"wrote {output} ({time.perf_counter() - start:.1f} s)")
    return 0


def print_volumes(labels, affine, class_names):
    counts, ml = data.class_volumes_ml(labels, affine, len(class_names))
    print(f"  {'class':<16}{'voxels':>10}{'volume (mL)':>14}")
    for name, n, v in zip(class_names, counts, ml):
        print(f"  {name:<16}{n:>10,}{v:>14.1f}")
    print(f"  {'brain (not bg)':<16}{counts[1:].sum():>10,}{ml[1:].sum():>14.1f}")


def _size_text(sizes):
    return " x ".join(f"{s:.3g}" for s in sizes)
