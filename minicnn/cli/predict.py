"""``minicnn predict``: segment your own skull-stripped T1 with trained weights.

    minicnn predict --input t1.nii.gz --output labels.nii.gz     # the shipped model
    minicnn predict --weights minicnn-train/model.npz --input t1.nii.gz \\
                    --output labels.nii.gz --figure overlay.png

Without --weights it uses the pretrained model inside the package
(``minicnn.pretrained``) and says so; if this minicnn ships none it stops
with an error saying that, and never falls back to anything else.

Steps, each undone in reverse so the label map overlays the input exactly:

1. read the 3D NIfTI (a 4D file, or anything that is not NIfTI, is refused);
2. turn it to RAS+ voxel order, as the network was trained (permutations
   and flips only: ``minicnn.data.to_ras``);
3. check that it looks like a skull-stripped T1 (``minicnn.data.check_input``);
   what does not is printed as WARNING lines at the end, and the
   segmentation is still written;
4. resample it to the model card's voxel size if its voxels differ from it
   by more than 10 % along any axis, so anisotropic voxels (1 x 1 x 3 mm)
   become the card's cubes, and say so (``--no-resample`` keeps the input's
   voxels): linear interpolation, ``minicnn.data.grid_for_voxel_size`` and
   ``minicnn.data.resample``;
5. normalise it as training did (the card's settings of
   ``minicnn.data.scale_by_brain_percentile``);
6. segment it along each view of ``--views`` (default ``all``: every view
   the card lists; a view the model was not trained on is refused), the
   slices cut from the brain's bounding box plus the card's margin and
   padded to the network's multiple, and average the views' class
   probabilities (``minicnn.data.segment_views``);
7. resample the probabilities back to the input grid, take the argmax,
   undo the reorientation (``minicnn.data.from_ras``);
8. write the labels (uint8, 0 .. K-1) with the input's affine and header,
   print the volume of each class in mL (``minicnn.data.class_volumes_ml``:
   voxels x |det A| / 1000, A the 3 x 3 part of the affine), and with
   ``--figure`` draw three orthogonal slices of the input under the labels
   (``report.plot_overlay``).
"""
import argparse
import os
import sys
import time

import numpy as np

from .. import data, pretrained
from ..backend import BACKENDS, set_backend
from . import recipe, report
from .arguments import positive_int

RESAMPLE_TOLERANCE = 0.10   # relative voxel-size difference that triggers resampling
# Slices per forward pass. Small batches keep the convolutions' im2col
# buffers in cache: on 1 mm slices of 168 x 200 the course's U-Net took
# 15-17 s per view in batches of 2 or 4, 19-25 s in batches of 16 (and held
# 2.8 GB); at 2 mm, 4 is as fast as 16.
BATCH_SIZE = 4


def views_argument(text):
    """'all', or one or more comma-separated view names (a list)."""
    if text == "all":
        return text
    views = [v.strip() for v in text.split(",")]
    try:
        data.view_axes(views)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'all' or view names among {', '.join(data.VIEWS)} (comma-separated, "
            f"each once), got {text!r}") from None
    return views


def add_arguments(parser):
    parser.add_argument("--weights", default=None,
                        help="model .npz written by 'minicnn train' (its model card, the "
                        ".json of the same name, must sit beside it); default: the "
                        "pretrained model shipped inside minicnn")
    parser.add_argument("--input", required=True,
                        help="skull-stripped T1 volume, .nii or .nii.gz, 3D")
    parser.add_argument("--output", required=True,
                        help="label map to write, .nii or .nii.gz")
    parser.add_argument("--views", type=views_argument, default="all",
                        help="'all' (default: every view the model was trained on, "
                        "probabilities averaged), or 'axial', 'coronal', 'sagittal', or a "
                        "comma-separated list of them; views the model was not trained on "
                        "are refused")
    parser.add_argument("--figure", default=None,
                        help="also draw three orthogonal slices of the input with the "
                        "labels over them to this image file (.png, .pdf, .svg ...)")
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE,
                        help=f"slices per forward pass (default {BATCH_SIZE})")
    parser.add_argument("--no-resample", action="store_true",
                        help="keep the input's voxel size even if it differs from the "
                        "model's voxel size")
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="kernels: 'numba' (compiled) or 'numpy' (default: the "
                        "library's, numba when it imports)")


def run(args):
    clock = Clock()
    output = _output_path(args)
    if args.figure is not None:
        report.check_figure_path(args.figure, "--figure")
    weights = pretrained.weights_path() if args.weights is None else args.weights
    card = recipe.load_card(weights)              # before the image: fail fast
    views = _views(args.views, card)
    if args.backend is not None:
        set_backend(args.backend)
    model, card = recipe.load_model(weights, (card["pad_multiple"],) * 2 + (1,))
    _print_model(weights, args.weights is None, card, model, views)
    image, affine, header = data.load_nifti(args.input, ndim=3)
    if image.dtype.kind not in "biuf":
        raise ValueError(f"{args.input}: voxels of type {image.dtype} are not an image")
    ras, ras_affine, back = data.to_ras(image.astype(np.float32), affine)
    sizes = data.voxel_sizes(ras_affine)
    clock.lap("read")

    findings = data.check_input(ras, sizes)
    clock.lap("check")
    work, work_sizes = _to_card_voxels(ras, sizes, card["voxel_mm"], args.no_resample)
    normalised = recipe.normalise(work, card)
    margin = recipe.crop_margin_voxels(card, float(min(work_sizes)))
    print(f"segmenting {_shape_text(work.shape)} voxels along {', '.join(views)} ...")
    prob = data.segment_views(model, normalised, views, card["pad_multiple"], margin,
                              args.batch_size)                          # (X', Y', Z', K)
    clock.lap("segment")
    if work.shape != ras.shape:
        prob = data.resample(prob, [m / n for m, n in zip(work.shape, ras.shape)],
                             ras.shape)                                # (X, Y, Z, K)
    ras_labels = prob.argmax(axis=-1).astype(np.uint8)
    labels = data.from_ras(ras_labels, back)
    clock.lap("resample back")
    data.save_nifti(output, labels, affine, header, dtype=np.uint8)
    clock.lap("write")
    print_volumes(labels, affine, card["class_names"])
    if args.figure is not None:
        report.plot_overlay(args.figure, ras, ras_labels, sizes, card["class_names"],
                            title=os.path.basename(args.input))
        clock.lap("figure")
    for finding in findings:
        if not finding.ok:
            print(f"WARNING: {finding.message}. Check the segmentation by eye "
                  "(--figure) before using it.", file=sys.stderr)
    written = output if args.figure is None else f"{output} and {args.figure}"
    print(f"wrote {written} ({clock.total():.1f} s: {clock.text()})")
    return 0


class Clock:
    """Seconds spent in each named step, for the last line."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps = []

    def lap(self, name):
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    def total(self):
        return time.perf_counter() - self.start

    def text(self):
        return ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.laps)


def _output_path(args):
    output = os.fspath(args.output)
    if not output.lower().endswith((".nii", ".nii.gz")):
        raise ValueError(f"--output must end in .nii or .nii.gz, got {output!r}")
    if os.path.abspath(output) == os.path.abspath(args.input):
        raise ValueError(f"--output {output!r} is the input image; it would be overwritten "
                         "with labels: choose another file name")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--output: no folder {folder!r} to write into")
    return output


def _views(asked, card):
    """The views to segment along: every view of the card for 'all', else the
    ones asked for, each of which the card must list."""
    if asked == "all":
        return list(card["views"])
    unseen = [v for v in asked if v not in card["views"]]
    if unseen:
        raise ValueError(f"--views {','.join(asked)}: the model was not trained on "
                         f"{' or '.join(unseen)} slices; its card lists "
                         f"{', '.join(card['views'])} (use --views all, or those)")
    return list(asked)


def _print_model(weights, shipped, card, model, views):
    source = "the pretrained model shipped with minicnn, " if shipped else ""
    extra = ""
    if card.get("weights_dtype", "float32") != "float32":
        extra += f", {card['weights_dtype']} weights"
    if "notice" in card:
        extra += (f"; derived from the ICBM152 template, see "
                  f"{os.path.join(os.path.dirname(os.path.abspath(weights)), card['notice'])}")
    print(f"model: {source}{weights}")
    print(f"  {card['model']!r} ({model.count_params():,} parameters), trained at "
          f"{card['voxel_mm']:g} mm on {', '.join(card['views'])} slices{extra}")


def _to_card_voxels(ras, sizes, voxel_mm, keep):
    """(volume, its voxel sizes): `ras` resampled to `voxel_mm` cubes when any
    axis differs by more than RESAMPLE_TOLERANCE (unless `keep`), saying so."""
    differs = bool(np.any(np.abs(sizes / voxel_mm - 1) > RESAMPLE_TOLERANCE))
    if not differs:
        return ras, sizes
    if keep:
        print(f"note: keeping the input's {_size_text(sizes)} mm voxels (--no-resample); "
              f"the model was trained at {voxel_mm:g} mm")
        return ras, sizes
    shape, ratios = data.grid_for_voxel_size(ras.shape, sizes, voxel_mm)
    print(f"resampled {_size_text(sizes)} mm voxels to {voxel_mm:g} mm for the network "
          f"({_shape_text(ras.shape)} -> {_shape_text(shape)})")
    return data.resample(ras, ratios, shape), sizes * np.array(ratios)


def print_volumes(labels, affine, class_names):
    counts, ml = data.class_volumes_ml(labels, affine, len(class_names))
    print(f"  {'class':<16}{'voxels':>10}{'volume (mL)':>14}")
    for name, n, v in zip(class_names, counts, ml):
        print(f"  {name:<16}{n:>10,}{v:>14.1f}")
    print(f"  {'brain (not bg)':<16}{counts[1:].sum():>10,}{ml[1:].sum():>14.1f}")


def _size_text(sizes):
    return " x ".join(f"{s:.3g}" for s in sizes)


def _shape_text(shape):
    return " x ".join(str(n) for n in shape)
