"""``minicnn predict``: segment your own skull-stripped T1 with trained weights.

    minicnn predict --input t1.nii.gz --output labels.nii.gz     # the shipped model
    minicnn predict --weights minicnn-train/model.npz --input t1.nii.gz \\
                    --output labels.nii.gz --figure overlay.png
    minicnn predict --input subjects/ --output labels/ --posteriors posteriors/ \\
                    --volumes volumes.csv                       # a folder of subjects

Without --weights it uses the pretrained model inside the package
(``minicnn.pretrained``) and says so; if this minicnn ships none it stops
with an error saying that, and never falls back to anything else.

The segmentation itself is ``minicnn.segmentation.segment_scan`` (its
docstring lists the steps: reorient, check, resample to the card's voxels,
normalise, segment along the views, and back). An input that looks like a
whole head is refused before anything is segmented (one line: the figure,
its limit, the skull-stripping tools to use) unless ``--allow-whole-head``;
a brain volume outside an adult's is warned about. This command reads each
NIfTI (a 4D file, or anything that is not NIfTI, is refused), writes the
labels (uint8, 0 .. K-1) with the input's affine and header, prints the
volume of each class in mL (``minicnn.data.class_volumes_ml``: voxels x
|det A| / 1000, A the 3 x 3 part of the affine) and the input checks'
warnings, and with ``--figure`` draws three orthogonal slices of the input
under the labels (``report.plot_overlay``). ``--posteriors`` and
``--volumes`` write the class probabilities and a table of volumes
(``minicnn.segmentation.outputs``).

Several subjects: ``--input`` takes several files or folders (their NIfTI
files, sorted); ``--output`` (and ``--posteriors``, ``--figure``) is then a
folder, holding ``<name>_labels.nii.gz`` (``_posteriors.nii.gz``,
``_overlay.png``) for each input ``<name>.nii.gz``. The model is loaded
once; each subject prints one line; a subject that fails is reported and
skipped, and the command ends with status 1 if any did.
"""
import os
import sys

import numpy as np

from .. import data, pretrained, segmentation
from ..backend import BACKENDS, set_backend
from ..data.nifti import NiftiError
from ..segmentation import outputs
from ..segmentation.scan import BATCH_SIZE, Clock
from . import report
from .arguments import fail, positive_int, views_argument

# What a subject can get wrong; any other exception is a bug and stops the run.
SUBJECT_ERRORS = (NiftiError, ValueError, OSError)


def add_arguments(parser):
    parser.add_argument("--weights", default=None,
                        help="model .npz written by 'minicnn train' (its model card, the "
                        ".json of the same name, must sit beside it); default: the "
                        "pretrained model shipped inside minicnn")
    parser.add_argument("--input", required=True, nargs="+", metavar="PATH",
                        help="skull-stripped T1 volume(s), .nii or .nii.gz, 3D; or "
                        "folders of them")
    parser.add_argument("--output", required=True,
                        help="label map to write, .nii or .nii.gz; a folder for several "
                        "inputs (made if missing)")
    parser.add_argument("--posteriors", default=None,
                        help="also write the class probabilities, a 4D float32 NIfTI "
                        "(X, Y, Z, classes) with the class names in a .json beside it; a "
                        "folder for several inputs")
    parser.add_argument("--volumes", default=None,
                        help="also write one row per subject (file, voxel size, mL per "
                        "class, brain mL, the input checks) to this .csv or .json")
    parser.add_argument("--views", type=views_argument, default="all",
                        help="'all' (default: every view the model was trained on, "
                        "probabilities averaged), or 'axial', 'coronal', 'sagittal', or a "
                        "comma-separated list of them; views the model was not trained on "
                        "are refused")
    parser.add_argument("--figure", default=None,
                        help="also draw three orthogonal slices of the input with the "
                        "labels over them to this image file (.png, .pdf, .svg ...); a "
                        "folder for several inputs (PNG files)")
    parser.add_argument("--refine", action="store_true",
                        help="refine the network's probabilities by the subject's own "
                        "intensities: the softmax as spatial priors of a Gaussian mixture "
                        "of the brain's intensities fitted by EM (as FSL FAST and ANTs "
                        "Atropos do with template priors); labels, --posteriors and "
                        "--volumes are then the refined ones. Off by default: it helps CSF "
                        "on images without a strong bias field (docs/train.md)")
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE,
                        help=f"slices per forward pass (default {BATCH_SIZE})")
    parser.add_argument("--allow-whole-head", action="store_true",
                        help="segment an input that looks like a whole head (scalp and "
                        "skull left), with a warning, instead of refusing it")
    parser.add_argument("--no-resample", action="store_true",
                        help="keep the input's voxel size even if it differs from the "
                        "model's voxel size")
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="kernels: 'numba' (compiled) or 'numpy' (default: the "
                        "library's, numba when it imports)")


def run(args):
    clock = Clock()
    weights = pretrained.weights_path() if args.weights is None else args.weights
    card = segmentation.load_card(weights)              # before the images: fail fast
    views = segmentation.views_to_run(args.views, card)
    inputs = outputs.subject_files(args.input)
    several = len(inputs) > 1 or any(os.path.isdir(path) for path in args.input)
    plans = [_plan(args, path, several) for path in inputs]
    if args.volumes is not None and \
            not args.volumes.lower().endswith(outputs.VOLUME_FORMATS):
        raise ValueError(f"--volumes must end in .csv or .json, got {args.volumes!r}")
    if args.backend is not None:
        set_backend(args.backend)
    model, card = segmentation.load_model(weights, (card["pad_multiple"],) * 2 + (1,))
    _print_model(weights, args.weights is None, card, model, views)
    clock.lap("model")
    rows, failed = [], []
    for k, plan in enumerate(plans, start=1):
        label = f"[{k}/{len(plans)}] {plan['input']}" if several else None
        try:
            rows.append(_one_subject(args, model, card, views, plan, label))
        except SUBJECT_ERRORS as err:
            if not several or os.environ.get("MINICNN_DEBUG", "0") not in ("", "0"):
                raise
            print(f"{label}: error: {err}; skipped", file=sys.stderr)
            failed.append(plan["input"])
    if args.volumes is not None and rows:
        outputs.write_volumes(args.volumes, rows)
        print(f"wrote the volumes of {len(rows)} subject{'s' * (len(rows) > 1)} to "
              f"{args.volumes}")
    if several:
        _print_table(rows, card["class_names"])
        print(f"{len(rows)} of {len(plans)} subjects segmented ({clock.total():.1f} s)")
    if failed:
        return fail("minicnn predict", f"{len(failed)} of {len(plans)} subjects failed: "
                    f"{', '.join(failed)}")
    return 0


def _plan(args, path, several):
    """The files one subject writes: {'input', 'labels', 'posteriors', 'figure'}."""
    if not several:
        plan = {"input": path, "labels": _output_file(args.output, "--output", path),
                "posteriors": None, "figure": args.figure}
        if args.posteriors is not None:
            plan["posteriors"] = _output_file(args.posteriors, "--posteriors", path)
        if args.figure is not None:
            report.check_figure_path(args.figure, "--figure")
        return plan
    return {"input": path,
            "labels": outputs.output_path(_folder(args.output, "--output"), path,
                                          "_labels.nii.gz"),
            "posteriors": None if args.posteriors is None else outputs.output_path(
                _folder(args.posteriors, "--posteriors"), path, "_posteriors.nii.gz"),
            "figure": None if args.figure is None else outputs.output_path(
                _folder(args.figure, "--figure"), path, "_overlay.png")}


def _one_subject(args, model, card, views, plan, label):
    """Segment one subject and write its files; return its volumes row."""
    clock = Clock()
    image, affine, header = data.load_nifti(plan["input"], ndim=3)
    clock.lap("read")
    say = print if label is None else (lambda line: None)
    result = segmentation.segment_scan(model, card, image, affine, views, args.batch_size,
                                       resample=not args.no_resample, say=say,
                                       source=plan["input"], refine=args.refine,
                                       allow_whole_head=args.allow_whole_head)
    clock.add(result.laps)
    data.save_nifti(plan["labels"], result.labels, affine, header, dtype=np.uint8)
    written = [plan["labels"]]
    if plan["posteriors"] is not None:
        outputs.write_posteriors(plan["posteriors"], result.probabilities, affine, header,
                                 card["class_names"], refined=args.refine)
        written.append(plan["posteriors"])
    clock.lap("write")
    if plan["figure"] is not None:
        ras, ras_affine, _ = data.to_ras(np.asarray(image, dtype=np.float32), affine)
        report.plot_overlay(plan["figure"], ras, data.to_ras(result.labels, affine)[0],
                            data.voxel_sizes(ras_affine), card["class_names"],
                            title=os.path.basename(plan["input"]))
        written.append(plan["figure"])
        clock.lap("figure")
    row = outputs.volume_row(plan["input"], result.labels, affine, card["class_names"],
                             result.findings)
    if label is None:
        print_volumes(result.labels, affine, card["class_names"])
    for finding in result.findings:
        if not finding.ok:
            print(f"WARNING: {'' if label is None else label + ': '}{finding.message}. "
                  "Check the segmentation by eye (--figure) before using it.",
                  file=sys.stderr)
    if label is None:
        print(f"wrote {' and '.join(written)} ({clock.total():.1f} s: {clock.text()})")
    else:
        print(f"{label}: brain {row['brain mL']:.1f} mL, wrote {len(written)} "
              f"file{'s' * (len(written) > 1)} ({clock.total():.1f} s)", flush=True)
    return row


def _output_file(output, option, input_path):
    """A NIfTI file to write, not the input, in a folder that exists."""
    output = os.fspath(output)
    if not outputs.is_nifti(output):
        raise ValueError(f"{option} must end in .nii or .nii.gz, got {output!r}")
    if os.path.abspath(output) == os.path.abspath(input_path):
        raise ValueError(f"{option} {output!r} is the input image; it would be overwritten "
                         "with labels: choose another file name")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{option}: no folder {folder!r} to write into")
    return output


def _folder(path, option):
    """A folder for several subjects' outputs, made if missing (its parent must exist)."""
    path = os.fspath(path)
    if outputs.is_nifti(path) or os.path.isfile(path):
        raise ValueError(f"{option} must be a folder when --input names several subjects "
                         f"or a folder, got {path!r}")
    if not os.path.isdir(path):
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise FileNotFoundError(f"{option}: no folder {parent!r} to make {path!r} in")
        os.makedirs(path, exist_ok=True)
    return path


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


def _print_table(rows, class_names):
    """The volumes of several subjects, one line each (mL)."""
    if not rows:
        return
    width = max(len(os.path.basename(r["file"])) for r in rows) + 2
    names = list(class_names[1:]) + ["brain"]
    print(f"  {'subject':<{width}}" + "".join(f"{n:>14}" for n in names))
    for r in rows:
        values = [r[f"{n} mL"] for n in class_names[1:]] + [r["brain mL"]]
        print(f"  {os.path.basename(r['file']):<{width}}"
              + "".join(f"{v:>14.1f}" for v in values))
