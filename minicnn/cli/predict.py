"""``minicnn predict``: segment your own skull-stripped T1 with trained weights.

    minicnn predict --input t1.nii.gz --output labels.nii.gz     # the shipped model
    minicnn predict --weights minicnn-train/model.npz --input t1.nii.gz \\
                    --output labels.nii.gz --figure overlay.png

Without --weights it uses the pretrained model inside the package
(``minicnn.pretrained``) and says so; if this minicnn ships none it stops
with an error saying that, and never falls back to anything else.

The segmentation itself is ``minicnn.segmentation.segment_scan`` (its
docstring lists the steps: reorient, check, resample to the card's voxels,
normalise, segment along the views, and back). This command reads the
NIfTI (a 4D file, or anything that is not NIfTI, is refused), writes the
labels (uint8, 0 .. K-1) with the input's affine and header, prints the
volume of each class in mL (``minicnn.data.class_volumes_ml``: voxels x
|det A| / 1000, A the 3 x 3 part of the affine) and the input checks'
warnings, and with ``--figure`` draws three orthogonal slices of the input
under the labels (``report.plot_overlay``).
"""
import os
import sys
import time

import numpy as np

from .. import data, pretrained, segmentation
from ..segmentation.scan import BATCH_SIZE
from ..backend import BACKENDS, set_backend
from . import report
from .arguments import positive_int, views_argument


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
    card = segmentation.load_card(weights)              # before the image: fail fast
    views = segmentation.views_to_run(args.views, card)
    if args.backend is not None:
        set_backend(args.backend)
    model, card = segmentation.load_model(weights, (card["pad_multiple"],) * 2 + (1,))
    _print_model(weights, args.weights is None, card, model, views)
    image, affine, header = data.load_nifti(args.input, ndim=3)
    if image.dtype.kind not in "biuf":
        raise ValueError(f"{args.input}: voxels of type {image.dtype} are not an image")
    clock.lap("read")
    result = segmentation.segment_scan(model, card, image, affine, views, args.batch_size,
                                       resample=not args.no_resample, say=print)
    clock.add(result.laps)
    data.save_nifti(output, result.labels, affine, header, dtype=np.uint8)
    clock.lap("write")
    print_volumes(result.labels, affine, card["class_names"])
    if args.figure is not None:
        ras, ras_affine, back = data.to_ras(np.asarray(image, dtype=np.float32), affine)
        report.plot_overlay(args.figure, ras, data.to_ras(result.labels, affine)[0],
                            data.voxel_sizes(ras_affine), card["class_names"],
                            title=os.path.basename(args.input))
        clock.lap("figure")
    for finding in result.findings:
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

    def add(self, laps):
        """Laps timed elsewhere, which end now."""
        self.laps += laps
        self.last = time.perf_counter()

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


def print_volumes(labels, affine, class_names):
    counts, ml = data.class_volumes_ml(labels, affine, len(class_names))
    print(f"  {'class':<16}{'voxels':>10}{'volume (mL)':>14}")
    for name, n, v in zip(class_names, counts, ml):
        print(f"  {name:<16}{n:>10,}{v:>14.1f}")
    print(f"  {'brain (not bg)':<16}{counts[1:].sum():>10,}{ml[1:].sum():>14.1f}")
