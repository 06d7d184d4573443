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

The signal. With x the volume, the signal is

    S = {x > SIGNAL_FRACTION * P_99.9(x)}

(the voxels ``scale_by_brain_percentile`` takes for the brain), and its
centre c the deepest voxel of S: the last to survive repeated erosion by
the 6-neighbour cross (the one nearest their mean if several do).

Skull-stripped? Rays from c. A T1 of a whole head has a scalp whose fat is
as bright as white matter or brighter, over a skull that gives no signal
(cortical bone), over the brain; a skull-stripped T1 only gets brighter
inwards, from the cortex to the white matter. So follow RAYS rays from c in
directions spread evenly over the sphere (a Fibonacci lattice), sampling x
every RAY_STEP_MM (trilinear interpolation), to where each leaves the
signal: its last sample above the threshold that ends a run of RUN such
samples (one noisy voxel is not an edge). A ray that is still in the signal
within one voxel of the field of view's border is not counted: a cut says
nothing. Walking back inwards from the edge, at depth u along the ray,

    P = max x over u in [0, SCALP_MM)               a bright outer layer (scalp)
    D = min x over the next SKULL_MM below P        a dark layer (skull, CSF)
    B = max x over the next BRAIN_MM below D        the brain

and the ray crosses a skull when D < DARK_RATIO * min(P, B): a layer darker
than 40 % of the bright layers on both sides. The figure is

    skull = (rays crossing a skull) / (rays counted),

0.000-0.019 on skull-stripped brains (the template, 27 synthetic subjects,
80 test heads of ``minicnn.data.heads`` stripped), 0.38-0.92 on those 80
whole heads and 0.99 on the bright shells of tests/test_data_quality.py;
warn when skull > MAX_SKULL. DARK_RATIO and MAX_SKULL were chosen on 6
heads of two shapes, their stripped versions, the template, its inverse
and 6 synthetic subjects (the ratio that best separates them, the limit at
the geometric mean of the nearest figures, 0.56 and 0.08, rounded); those
6 heads score 0.56-0.91, the 74 held out (58 at 2 mm, two shapes unseen,
and 16 at 1 mm) 0.38-0.92, their stripped versions at most 0.007. A
skull-stripped brain's sulci, a few mm of CSF between grey matter, are
seldom that dark at 2 mm; an inverted (T2-like) brain, bright CSF over dark
white matter, scores 0.05-0.08 (the contrast check warns about it).

(The check this replaces warned when more than 7 % of the signal lay
outside one brain-shaped region, the opening below: on a real whole head
the scalp and the brain stay one region after the opening, and it passed
with 6.3 %.)

The brain-shaped region. The opening of S by a ball of OPENING_MM that
keeps one connected piece: erode S by OPENING_MM, keep the 6-connected
component that holds c, dilate it back by OPENING_MM within S: R. Thin
structures and separate blobs fall outside R. Erosion and dilation by n
voxels repeat the 6-neighbour cross n times: a ball of radius n in the
city-block distance.

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
little. On a whole head B holds scalp and skull and the ratio means
nothing, so the contrast is measured only when the input looks
skull-stripped.
"""
from dataclasses import dataclass

import numpy as np

from .._validate import as_array
from .interpolate import grid_for_voxel_size, linear_sample, resample

CHECK_MM = 2.0            # the checks' grid
SIGNAL_FRACTION = 0.1     # as scale_by_brain_percentile's brain_threshold
RAYS = 400                # directions from the centre
RAY_STEP_MM = 1.0
RUN = 3                   # samples above the threshold that make an edge
SCALP_MM = 10.0           # the scalp, 4-8 mm, lies within this of the edge,
SKULL_MM = 15.0           # the skull and CSF, 3-12 mm, within this below it,
BRAIN_MM = 15.0           # and the brain's cortex within this below them
DARK_RATIO = 0.4
MAX_SKULL = 0.2
OPENING_MM = 6.0          # removes structures thinner than about 12 mm
QUARTER = 25.0            # H: above the 75th percentile of B, L: below the 25th
MIN_CONTRAST = 1.0


@dataclass(frozen=True)
class Finding:
    """One check of the input: the measured value against its limit."""
    check: str        # "skull-stripped", "T1 contrast" (or "brain volume": segmentation)
    value: float      # what was measured (nan: nothing to measure)
    limit: float      # the threshold it is compared with
    ok: bool          # False: warn
    message: str      # what was measured and what it means, one sentence


def check_input(volume, voxel_mm):
    """[skull-stripped finding, T1-contrast finding] of `volume` (X, Y, Z).

    voxel_mm: the voxel size in mm, one number or one per axis. The volume
    is resampled to CHECK_MM first (linear interpolation). The contrast is
    not measured (ok, value nan) when the volume does not look skull-stripped.
    """
    volume = as_array(volume, "volume", ndim=3, dtype=np.float32)
    sizes = np.broadcast_to(np.asarray(voxel_mm, dtype=np.float64), (3,))
    shape, ratios = grid_for_voxel_size(volume.shape, sizes, CHECK_MM)
    x = resample(volume, ratios, shape)
    signal, threshold = _signal(x)
    centre = _deepest_voxel(signal) if signal.any() else None
    skull = _skull_finding(_skull_share(x, threshold, centre))
    if not skull.ok:
        return [skull, Finding("T1 contrast", float("nan"), MIN_CONTRAST, True,
                               "not measured: the input does not look skull-stripped")]
    region = _region(signal, centre, CHECK_MM)
    brain = _fill_holes(signal) & _dilate(region, _steps(OPENING_MM, CHECK_MM))
    return [skull, _contrast_finding(x, brain)]


def brain_region(volume, voxel_mm=CHECK_MM):
    """(signal S, brain-shaped region R), bool (X, Y, Z) each, of an isotropic
    volume with voxels of `voxel_mm` (see the module docstring).

    R is empty when nothing survives the erosion (no signal, or nothing
    thicker than about 2 OPENING_MM).
    """
    signal, _ = _signal(as_array(volume, "volume", ndim=3))
    centre = _deepest_voxel(signal) if signal.any() else None
    return signal, _region(signal, centre, voxel_mm)


def _signal(x):
    """(S, its threshold SIGNAL_FRACTION * P_99.9(x))."""
    threshold = SIGNAL_FRACTION * float(np.percentile(x, 99.9))
    if threshold <= 0:
        return np.zeros(x.shape, dtype=bool), threshold
    return x > threshold, threshold


def _region(signal, centre, voxel_mm):
    """R: the opening of `signal` that keeps the piece holding `centre`. The
    deepest voxel survives the erosion whenever anything does."""
    steps = _steps(OPENING_MM, voxel_mm)
    eroded = _erode(signal, steps)
    if centre is None or not (eroded & centre).any():
        return np.zeros_like(signal)
    return _dilate(_component(centre, eroded), steps, within=signal)


def _skull_share(x, threshold, centre):
    """The share of rays from `centre` (a one-voxel mask, or None: no signal,
    0) that cross a skull, in a volume x of CHECK_MM voxels whose signal
    lies above `threshold` (see the module docstring)."""
    if centre is None:
        return 0.0
    profiles, valid, counted = _rays(x, threshold, np.argwhere(centre)[0])
    scalp, skull, brain = (round(mm / RAY_STEP_MM) for mm in (SCALP_MM, SKULL_MM, BRAIN_MM))
    u = np.arange(profiles.shape[1])                        # depth below the edge, samples
    # Maxima over windows where invalid samples are -inf, the minimum where +inf.
    outer = np.where(valid & (u < scalp), profiles, -np.inf)
    at_p = outer.argmax(axis=1)[:, None]
    bright = outer.max(axis=1)
    below = np.where(valid & (u > at_p) & (u <= at_p + skull), profiles, np.inf)
    at_d = below.argmin(axis=1)[:, None]
    dark = below.min(axis=1)
    inner = np.where(valid & (u > at_d) & (u <= at_d + brain), profiles, -np.inf).max(axis=1)
    crosses = counted & (dark < DARK_RATIO * np.minimum(bright, inner))
    return float(crosses.sum() / counted.sum()) if counted.any() else 0.0


def _rays(x, threshold, centre):
    """Each ray's profile inwards from its edge, (RAYS, U) with U the samples
    the three layers can span, which of them are valid (not beyond the
    centre), and which rays count: those that leave the signal inside the
    field of view."""
    step = RAY_STEP_MM / CHECK_MM                            # voxels per sample
    directions = _sphere(RAYS)                               # (RAYS, 3)
    # How far each ray runs inside the volume, in samples: to the first face it meets.
    with np.errstate(divide="ignore"):
        to_face = np.where(directions > 0, np.array(x.shape) - 0.5 - centre,
                           -0.5 - centre) / directions
    length = np.where(directions == 0, np.inf, to_face).min(axis=1) / step
    samples = int(length.max()) + 1
    points = centre + directions[:, None, :] * (step * np.arange(samples))[None, :, None]
    profile = linear_sample(x[..., None], points.reshape(-1, 3))[:, 0].reshape(RAYS, samples)
    above = profile > threshold
    run = above.copy()
    for k in range(1, RUN):
        run[:, k:] &= above[:, :-k]
        run[:, :k] = False
    edge = samples - 1 - run[:, ::-1].argmax(axis=1)         # the last run's last sample
    counted = run.any(axis=1) & (edge < length - 1 / step)
    index = edge[:, None] - np.arange(round((SCALP_MM + SKULL_MM + BRAIN_MM) / RAY_STEP_MM))
    return np.take_along_axis(profile, np.clip(index, 0, None), axis=1), index >= 0, counted


def _sphere(n):
    """n unit vectors spread evenly over the sphere, a Fibonacci lattice:
    z_i = 1 - (2i + 1) / n, azimuth_i = i pi (3 - sqrt 5)."""
    i = np.arange(n)
    z = 1 - (2 * i + 1) / n
    azimuth = i * np.pi * (3 - np.sqrt(5))
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(azimuth), r * np.sin(azimuth), z], axis=1)


def _skull_finding(share):
    ok = share <= MAX_SKULL
    message = (f"{100 * share:.0f}% of the rays from the centre of the image cross a dark "
               f"layer between two bright ones under its surface, as through a scalp, a "
               f"skull and a brain (at most {100 * MAX_SKULL:g}% expected)")
    if not ok:
        message += ": the input does not look skull-stripped (a scalp or skull left?)"
    return Finding("skull-stripped", share, MAX_SKULL, ok, message)


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
