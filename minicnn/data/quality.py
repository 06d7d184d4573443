"""Does an input look like what the network was trained on?

A segmentation network answers confidently whatever it is given. Trained on
skull-stripped T1 volumes, it labels a scalp as brain tissue and an
inverted (T2-like) image backwards without a sign of doubt, so ``minicnn
predict`` checks the input for both, from the image alone (the network's
own labels would not do: a network that reads intensity calls the
brightest tissue white matter in any contrast):

    findings = check_input(volume, voxel_mm)      # [Finding, Finding]
    [f.message for f in findings if not f.ok]     # what to warn about

Both checks run on a 2 mm grid (``CHECK_MM``: finer or anisotropic volumes
are resampled first), as they are about centimetre-scale structure, and
both measure ratios, so the scanner's intensity unit does not matter.

The brain-shaped region. With x the volume, the signal is

    S = {x > SIGNAL_FRACTION * P_99.9(x)}

(the voxels ``scale_by_brain_percentile`` takes for the brain). The
brain-shaped region R is the opening of S by a ball of OPENING_MM that
keeps one connected piece: erode S by OPENING_MM, keep the 6-connected
component that holds the deepest voxel (the last to survive repeated
erosion), dilate it back by OPENING_MM within S. Thin structures (a scalp,
a skull's marrow: a few mm thick) and separate blobs (eyes, neck) fall
outside R; a skull-stripped brain, thick everywhere, stays inside. Erosion
and dilation by n voxels repeat the 6-neighbour cross n times: a ball of
radius n in the city-block distance.

Skull-stripped? The share of the signal outside R,

    outside = sum_{S \\ R} x / sum_S x,

is near 0 for a skull-stripped brain (0.002 on the template) and large
when a bright head shell surrounds it (0.13-0.33 for the shells of
tests/test_data_quality.py). Warn when outside > MAX_OUTSIDE.

T1 contrast? In a T1 the brightest brain voxels are white matter, deep
inside, and the darkest are CSF and cortex, near the surface; in a T2-like
or inverted image it is the other way round. The brain here is R with its
dark inside put back: B = fill_holes(S) and R dilated by OPENING_MM (an
inverted image's white matter can fall below the signal threshold). With
depth(v) the city-block distance in voxels from v to the outside of B (1
on its outer layer), H the brightest quarter of B's voxels and L the
darkest quarter,

    contrast = mean_H depth / mean_L depth,

above 1 for a T1 (1.9 on the template), below 1 inverted (0.6-0.8). Warn
when contrast < MIN_CONTRAST. Both quarters come from all around the brain,
so a smooth bias field, which scales one region at a time, moves them
little. With a skull around the brain the dark gap between the two enters
B and this check says little; the first check warns then.
"""
from dataclasses import dataclass

import numpy as np

from .._validate import as_array
from .interpolate import grid_for_voxel_size, resample

CHECK_MM = 2.0            # the checks' grid
SIGNAL_FRACTION = 0.1     # as scale_by_brain_percentile's brain_threshold
OPENING_MM = 6.0          # removes structures thinner than about 12 mm
QUARTER = 25.0            # H: above the 75th percentile of B, L: below the 25th
MAX_OUTSIDE = 0.07
MIN_CONTRAST = 1.0


@dataclass(frozen=True)
class Finding:
    """One check of the input: the measured value against its limit."""
    check: str        # "skull-stripped" or "T1 contrast"
    value: float      # what was measured (nan: nothing to measure)
    limit: float      # the threshold it is compared with
    ok: bool          # False: warn
    message: str      # what was measured and what it means, one sentence


def check_input(volume, voxel_mm):
    """[skull-stripped finding, T1-contrast finding] of `volume` (X, Y, Z).

    voxel_mm: the voxel size in mm, one number or one per axis. The volume
    is resampled to CHECK_MM first (linear interpolation).
    """
    volume = as_array(volume, "volume", ndim=3, dtype=np.float32)
    sizes = np.broadcast_to(np.asarray(voxel_mm, dtype=np.float64), (3,))
    shape, ratios = grid_for_voxel_size(volume.shape, sizes, CHECK_MM)
    x = resample(volume, ratios, shape)
    signal, region = brain_region(x, CHECK_MM)
    brain = _fill_holes(signal) & _dilate(region, _steps(OPENING_MM, CHECK_MM))
    return [_skull_finding(x, signal, region), _contrast_finding(x, brain)]


def brain_region(volume, voxel_mm=CHECK_MM):
    """(signal S, brain-shaped region R), bool (X, Y, Z) each, of an isotropic
    volume with voxels of `voxel_mm` (see the module docstring).

    R is empty when nothing survives the erosion (no signal, or nothing
    thicker than about 2 OPENING_MM).
    """
    volume = as_array(volume, "volume", ndim=3)
    reference = np.percentile(volume, 99.9)
    signal = volume > SIGNAL_FRACTION * reference if reference > 0 \
        else np.zeros(volume.shape, dtype=bool)
    steps = _steps(OPENING_MM, voxel_mm)
    eroded = _erode(signal, steps)
    if not eroded.any():
        return signal, eroded
    core = _component(_deepest_voxel(eroded), eroded)
    return signal, _dilate(core, steps, within=signal)


def _skull_finding(x, signal, region):
    total = float(x[signal].sum(dtype=np.float64))
    outside = float(x[signal & ~region].sum(dtype=np.float64)) / total if total > 0 else 0.0
    ok = outside <= MAX_OUTSIDE
    message = (f"{100 * outside:.1f}% of the image's signal lies outside one "
               f"brain-shaped region (at most {100 * MAX_OUTSIDE:g}% expected)")
    if not ok:
        message += ": the input does not look skull-stripped (a scalp or skull left?)"
    return Finding("skull-stripped", outside, MAX_OUTSIDE, ok, message)


def _contrast_finding(x, brain):
    if not brain.any():
        return Finding("T1 contrast", float("nan"), MIN_CONTRAST, False,
                       "found no brain-shaped region to compare bright and dark tissue "
                       "in: is this a brain?")
    depth = _depth(brain)[brain]
    values = x[brain]
    low, high = np.percentile(values, [QUARTER, 100 - QUARTER])
    contrast = float(depth[values >= high].mean() / depth[values <= low].mean())
    ok = contrast >= MIN_CONTRAST
    message = (f"the brightest quarter of the brain lies {contrast:.2f} x as deep as "
               f"its darkest quarter (a T1, white matter inside, has more than "
               f"{MIN_CONTRAST:g})")
    if not ok:
        message += ": the contrast looks inverted (T2-like), not like a T1"
    return Finding("T1 contrast", contrast, MIN_CONTRAST, ok, message)


# ------------------------------------------------------------- morphology
def _steps(mm, voxel_mm):
    """`mm` in voxels of `voxel_mm`, at least 1."""
    return max(1, round(mm / voxel_mm))


def _erode(mask, steps):
    """`mask` eroded `steps` times by the 6-neighbour cross (outside = False)."""
    for _ in range(steps):
        p = np.pad(mask, 1)
        mask = (p[1:-1, 1:-1, 1:-1] & p[:-2, 1:-1, 1:-1] & p[2:, 1:-1, 1:-1]
                & p[1:-1, :-2, 1:-1] & p[1:-1, 2:, 1:-1]
                & p[1:-1, 1:-1, :-2] & p[1:-1, 1:-1, 2:])
    return mask


def _dilate(mask, steps, within=None):
    """`mask` dilated `steps` times by the 6-neighbour cross, kept `within`."""
    for _ in range(steps):
        p = np.pad(mask, 1)
        mask = (p[1:-1, 1:-1, 1:-1] | p[:-2, 1:-1, 1:-1] | p[2:, 1:-1, 1:-1]
                | p[1:-1, :-2, 1:-1] | p[1:-1, 2:, 1:-1]
                | p[1:-1, 1:-1, :-2] | p[1:-1, 1:-1, 2:])
        if within is not None:
            mask &= within
    return mask


def _component(seed, mask):
    """The 6-connected part of `mask` reached from `seed`: grow until it stops."""
    region, size = seed & mask, -1
    while (count := int(region.sum())) != size:
        size = count
        region = _dilate(region, 1, within=mask)
    return region


def _deepest_voxel(mask):
    """A one-voxel mask at a voxel of `mask` that survives the most erosions."""
    while (inner := _erode(mask, 1)).any():
        mask = inner
    points = np.argwhere(mask)
    # Of the deepest voxels, the one nearest their centre: one voxel, stably.
    centre = points.mean(axis=0)
    seed = np.zeros_like(mask)
    seed[tuple(points[np.argmin(((points - centre) ** 2).sum(axis=1))])] = True
    return seed


def _fill_holes(mask):
    """`mask` with its cavities filled: every voxel not connected to the
    volume's border through voxels outside `mask`."""
    border = np.zeros_like(mask)
    border[[0, -1]] = border[:, [0, -1]] = border[:, :, [0, -1]] = True
    return ~_component(border, ~mask)


def _depth(mask):
    """City-block depth of each voxel of `mask` (1 on its outer layer, 0 outside)."""
    depth = np.zeros(mask.shape, dtype=np.int32)
    while mask.any():
        depth += mask
        mask = _erode(mask, 1)
    return depth
