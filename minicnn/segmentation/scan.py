"""A scan as a user brings it, segmented by a trained network and its card.

    model, card = segmentation.load_model("model.npz", (8, 8, 1))   # any H, W
    result = segmentation.segment_scan(model, card, image, affine)
    data.save_nifti("labels.nii.gz", result.labels, affine, header)

``minicnn predict`` is this function with a command line around it. Steps,
each undone in reverse so the label map overlays the input exactly:

0. refuse values no network can read (``check_values``: NaN or infinite
   voxels, an empty or constant image), naming the file;
1. turn the volume to RAS+ voxel order, as the network was trained
   (permutations and flips only: ``data.to_ras``);
2. check that it looks like a skull-stripped T1 (``data.check_input``):
   a whole head is refused (``checks.refuse_whole_head``: WholeHeadError,
   before anything is segmented) unless ``allow_whole_head``; anything
   else that looks wrong is returned as findings, and the segmentation is
   still made;
3. resample it to the card's voxel size if its voxels differ from it by
   more than RESAMPLE_TOLERANCE along any axis, so anisotropic voxels
   (1 x 1 x 3 mm) become the card's cubes (``resample=False`` keeps the
   input's voxels): linear interpolation, ``data.grid_for_voxel_size`` and
   ``data.resample``;
4. normalise it as training did (``card.normalise``);
5. segment it along each view (default: every view the card lists; a view
   the model was not trained on is refused), the slices cut from the
   brain's bounding box plus the card's margin and padded to the network's
   multiple, and average the views' class probabilities
   (``segment_views``);
5b. with ``refine=True``, refine the probabilities by the subject's own
   intensities (``refine.refine_probabilities``: the network's softmax as
   spatial priors of a Gaussian mixture of the brain's intensities, fitted
   by EM), still in the working grid; labels, posteriors and volumes are
   then the refined ones;
6. resample the probabilities back to the input grid, undo the
   reorientation (``data.from_ras``), take the argmax;
7. check the brain's volume in the label map against an adult's
   (``checks.check_brain_volume``), a finding like those of step 2.

``segment_at_card_voxels`` is steps 4-5 alone, for a volume already at the
card's voxel size in RAS+ order (the held-out volumes of ``minicnn
train``).
"""
import time
from dataclasses import dataclass, field

import numpy as np

from .. import data
from . import refine as refining
from .card import crop_margin_voxels, normalise
from .checks import check_brain_volume, refuse_whole_head
from .views import segment_views

RESAMPLE_TOLERANCE = 0.10   # relative voxel-size difference that triggers resampling
# Slices per forward pass. Small batches keep the convolutions' im2col
# buffers in cache: on 1 mm slices of 168 x 200 the course's U-Net took
# 15-17 s per view in batches of 2 or 4, 19-25 s in batches of 16 (and held
# 2.8 GB); at 2 mm, 4 is as fast as 16.
BATCH_SIZE = 4


@dataclass
class ScanSegmentation:
    """What ``segment_scan`` made, in the input's grid and voxel order."""
    labels: np.ndarray              # (X, Y, Z) uint8, 0 .. K-1
    probabilities: np.ndarray       # (X, Y, Z, K) float32, averaged over the views
    findings: list                  # data.Finding of each check (steps 2 and 7)
    notes: list = field(default_factory=list)    # what was done to the input, one line each
    laps: list = field(default_factory=list)     # (step, seconds)


class Clock:
    """Seconds spent in each named step: ``segment_scan``'s laps, and
    ``minicnn predict``'s last line."""

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


def views_to_run(asked, card):
    """The views to segment along: every view of the card for None or 'all',
    else the ones asked for, each of which the card must list."""
    if asked is None or asked == "all":
        return list(card["views"])
    unseen = [v for v in asked if v not in card["views"]]
    if unseen:
        raise ValueError(f"--views {','.join(asked)}: the model was not trained on "
                         f"{' or '.join(unseen)} slices; its card lists "
                         f"{', '.join(card['views'])} (use --views all, or those)")
    return list(asked)


def segment_at_card_voxels(model, card, volume, views=None, batch_size=BATCH_SIZE):
    """(normalised volume, class probabilities (X, Y, Z, K)) of a RAS+ volume
    already at the card's voxel size: steps 4 and 5."""
    normalised = normalise(volume, card)
    probabilities = segment_views(model, normalised, views_to_run(views, card),
                                  card["pad_multiple"],
                                  crop_margin_voxels(card, card["voxel_mm"]), batch_size)
    return normalised, probabilities


def check_values(image, source="the image"):
    """Refuse an image no network can read, naming `source` (the file), what
    was found and what is accepted: NaN or infinite voxels, no non-zero
    voxel, or one value everywhere."""
    image = np.asarray(image)
    if image.dtype.kind not in "biuf":
        raise ValueError(f"{source}: voxels of type {image.dtype} are not an image")
    bad = image.size - int(np.count_nonzero(np.isfinite(image)))
    if bad:
        raise ValueError(f"{source}: {bad:,} of its {image.size:,} voxels are NaN or "
                         "infinite; a T1 image must be finite everywhere (set them to 0 "
                         "outside the brain, or fix the tool that wrote the file)")
    low, high = image.min(), image.max()
    if low == high:
        raise ValueError(f"{source}: every voxel is {low}: the image is "
                         f"{'empty' if low == 0 else 'constant'}; expected a T1 image "
                         "of a brain, with contrast")


def segment_scan(model, card, image, affine, views=None, batch_size=BATCH_SIZE,
                 resample=True, say=None, source="the image", refine=False,
                 allow_whole_head=False):
    """Segment a 3D scan (X, Y, Z) with voxel-to-mm `affine` (see the module
    docstring); returns a ScanSegmentation in the input's grid. `say`, if
    given, receives each note as it happens (a long run shows its progress);
    errors about the image (its values, a whole head) name `source`.
    `refine`: refine the network's probabilities by the subject's intensities
    (step 5b; True for the defaults of ``minicnn.segmentation.refine``, or a
    dict of ``refine_probabilities``'s keyword arguments, e.g. {"weight": 1}).
    `allow_whole_head`: segment an input that looks like a whole head, with
    the finding kept as a warning, instead of raising WholeHeadError."""
    check_values(image, source)
    views = views_to_run(views, card)
    say = say or (lambda line: None)
    clock = Clock()
    ras, ras_affine, back = data.to_ras(np.asarray(image, dtype=np.float32), affine)
    sizes = data.voxel_sizes(ras_affine)
    findings = data.check_input(ras, sizes)
    if not allow_whole_head:
        refuse_whole_head(findings, source)
    clock.lap("check")
    work, work_sizes, notes = _to_card_voxels(ras, sizes, card["voxel_mm"], resample)
    notes.append(f"segmenting {_shape_text(work.shape)} voxels along {', '.join(views)} ...")
    for note in notes:
        say(note)
    margin = crop_margin_voxels(card, float(min(work_sizes)))
    normalised = normalise(work, card)
    probabilities = segment_views(model, normalised, views,
                                  card["pad_multiple"], margin, batch_size)   # (X', Y', Z', K)
    clock.lap("segment")
    if refine:
        refined = refining.refine_probabilities(
            normalised, probabilities, **(refine if isinstance(refine, dict) else {}))
        probabilities = refined.probabilities
        notes.append(refined.note(card["class_names"]))
        say(notes[-1])
        clock.lap("refine")
    if work.shape != ras.shape:
        probabilities = data.resample(probabilities,
                                      [m / n for m, n in zip(work.shape, ras.shape)],
                                      ras.shape)                             # (X, Y, Z, K)
    probabilities = data.from_ras(probabilities, back)
    labels = probabilities.argmax(axis=-1).astype(np.uint8)
    findings.append(check_brain_volume(labels, affine, probabilities.shape[-1]))
    clock.lap("resample back")
    return ScanSegmentation(labels, probabilities, findings, notes, clock.laps)


def _to_card_voxels(ras, sizes, voxel_mm, resample):
    """(volume, its voxel sizes, notes): `ras` resampled to `voxel_mm` cubes
    when any axis differs by more than RESAMPLE_TOLERANCE (unless not
    `resample`), with a note saying what was done."""
    differs = bool(np.any(np.abs(sizes / voxel_mm - 1) > RESAMPLE_TOLERANCE))
    if not differs:
        return ras, sizes, []
    if not resample:
        return ras, sizes, [f"note: keeping the input's {_size_text(sizes)} mm voxels "
                            f"(--no-resample); the model was trained at {voxel_mm:g} mm"]
    shape, ratios = data.grid_for_voxel_size(ras.shape, sizes, voxel_mm)
    note = (f"resampled {_size_text(sizes)} mm voxels to {voxel_mm:g} mm for the network "
            f"({_shape_text(ras.shape)} -> {_shape_text(shape)})")
    return data.resample(ras, ratios, shape), sizes * np.array(ratios), [note]


def _size_text(sizes):
    return " x ".join(f"{s:.3g}" for s in sizes)


def _shape_text(shape):
    return " x ".join(str(n) for n in shape)
