"""What ``segment_scan`` refuses or warns about beyond the input's look.

- A whole head: ``data.check_input`` finds a scalp and a skull around the
  brain (its "skull-stripped" finding). A network trained on skull-stripped
  brains labels a scalp as brain tissue, so ``refuse_whole_head`` raises
  WholeHeadError, one sentence with the figure, its limit and what to do,
  before anything is segmented; ``allow_whole_head=True`` (``minicnn
  predict --allow-whole-head``) segments it anyway, with the finding kept
  as a warning.
- A brain volume outside an adult's: ``check_brain_volume`` on the label
  map, a warning in any case (a whole head let through, a child, a cut
  field of view, a wrong voxel size in the header).
"""
import numpy as np

from .. import data
from ..data.quality import Finding

# mL of CSF, grey and white matter together; check_brain_volume gives the source.
ADULT_BRAIN_ML = (800.0, 2100.0)
SKULL_STRIPPING_TOOLS = "FSL BET, SynthStrip, HD-BET or ANTs antsBrainExtraction.sh"


class WholeHeadError(ValueError):
    """The input looks like a whole head, not a skull-stripped brain."""


def refuse_whole_head(findings, source="the image"):
    """Raise WholeHeadError naming `source` when the skull-stripped finding
    among `findings` (``data.check_input``'s) is not ok."""
    for finding in findings:
        if finding.check == "skull-stripped" and not finding.ok:
            raise WholeHeadError(
                f"{source}: {finding.message}; the network was trained on skull-stripped "
                f"brains and would label the scalp as brain. Skull-strip it first (e.g. "
                f"{SKULL_STRIPPING_TOOLS}), or pass --allow-whole-head to segment it anyway")


def check_brain_volume(labels, affine, n_classes):
    """A Finding on the volume of the brain in a label map: every class but
    0 (background), for the course's classes CSF + grey + white matter,

        V = #{labels > 0} |det A| / 1000  mL,

    with labels (X, Y, Z) in 0 .. n_classes-1 and A the 3 x 3 part of the
    (4, 4) `affine`. Warns outside ADULT_BRAIN_ML, 800-2100 mL; the
    Finding's limit is the bound nearer to V.

    The range. The label map's brain lies between the brain (grey and white
    matter) and the intracranial volume (brain, ventricles and the CSF
    around the brain). In 49 adults aged 24-80 measured on MRI (Matsumae et
    al. 1996, J Neurosurg 84:982-991) the brain was 1143 +- 105 mL in women
    and 1302 +- 112 mL in men, the intracranial volume 1289 +- 111 and
    1469 +- 102 mL: the women's brain less 3 sd is 828 mL, the men's
    intracranial volume plus 3 sd 1775 mL. Brains registered to MNI space
    are larger: FreeSurfer's estimated intracranial volume (eTIV, the
    method of Buckner et al. 2004, NeuroImage 23:724-738) divides 1948.106
    mL, its calibrated intracranial volume of a head in the MNI305 atlas's
    space (``etiv_scale_factor`` in mri_segstats), by the determinant of the
    subject's transform to that space; and the ICBM152 template's CSF, grey
    and white matter measure 1.87 L. Rounded outwards, 800-2100 mL holds every adult brain,
    native or in MNI space; a whole head labelled brain (3-5 L) does not.
    """
    _, ml = data.class_volumes_ml(labels, affine, n_classes)
    brain = float(ml[1:].sum())
    low, high = ADULT_BRAIN_ML
    ok = low <= brain <= high
    message = f"{brain:.0f} mL labelled brain (an adult's, with its CSF: {low:.0f}-{high:.0f} mL)"
    if not ok:
        message += (": not one whole adult brain (a head with its scalp? a child? a cut "
                    "field of view? a wrong voxel size in the header?)")
    nearer = low if abs(brain - low) < abs(brain - high) else high
    return Finding("brain volume", brain, nearer, ok, message)
