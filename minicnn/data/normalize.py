"""Intensity normalisation of MRI volumes.

MRI intensities have no fixed unit: two scanners (or two sessions) give the
same tissue different numbers, so each volume is rescaled before training.
With x the volume and S the set of voxels the statistics come from (the whole
volume, or the brain when a `mask` is given):

    z-score          z = (x - mean_S(x)) / std_S(x)
    min-max          m = (x - min_S(x)) / (max_S(x) - min_S(x))      in [0, 1] on S
    course's scheme  min-max(z-score(x))   (what the course notebook does)
    percentile clip  clip(x, P_lo(x on S), P_hi(x on S))
    brain percentile x / P_99(x on b), clipped to [0, 1.5]  (``minicnn train``'s)

The transform is applied to every voxel; only the statistics are restricted
to the mask. Voxels outside the mask may therefore fall outside [0, 1] after
min-max: multiply by the mask if you want them at exactly 0.

Why a mask: in a skull-stripped image most voxels are background zeros, so
whole-volume statistics describe the field of view more than the brain, and
the brain's z-scores change with how tightly the volume is cropped.
Percentile clipping first removes the few very bright voxels (vessels,
artefacts) that would otherwise squeeze all tissue into a small part of
[0, 1] under min-max.

Scaling by a brain percentile (``scale_by_brain_percentile``, what
``minicnn train`` and ``minicnn predict`` apply to every volume) needs no
mask: it finds the brain roughly by itself. With x a skull-stripped volume:

    b  = the voxels brighter than 10 % of the 99.9th percentile of x
         (the brain, roughly: background and noise are below it)
    s  = 99th percentile of x over b          (bright white matter)
    x' = clip(x / s, 0, 1.5)

Only a scale, no shift: the background stays at 0 whatever the scanner's
units, and white matter lands near 1. Percentiles rather than the maximum,
so that a few bright vessels or artefacts do not squeeze the brain into a
small part of the range.

All functions return float32 (or float64 if given float64) and never modify
their input. Nothing is divided by zero: z-score and min-max refuse a
constant volume (zero spread on S), the brain percentile scaling a volume
with no positive intensity.
"""
import numbers

import numpy as np

from .._validate import as_array


def _prepare(x, mask):
    """`x` as float and the voxels of `x` the statistics are computed on."""
    x = as_array(x, "x")
    x = x.astype(np.float64 if x.dtype == np.float64 else np.float32)
    if x.size == 0:
        raise ValueError("x must not be empty, got shape "
                         f"{x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"x must be finite; it holds {int((~np.isfinite(x)).sum())} "
                         "NaN or infinite values")
    if mask is None:
        return x, x
    mask = np.asarray(mask)
    if mask.shape != x.shape:
        raise ValueError(f"mask must have the shape of x {x.shape}, got {mask.shape}")
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "biu" or not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must be boolean (or hold only 0 and 1), got dtype "
                             f"{mask.dtype} with values {np.unique(mask)[:5].tolist()}")
        mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("mask must select at least one voxel; it is all False")
    return x, x[mask]


def _is_number(value):
    """A real number, and not a bool (True would pass for 1)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def zscore(x, mask=None):
    """(x - mean) / std, statistics over `mask` (or all voxels)."""
    x, sample = _prepare(x, mask)
    std = sample.std(dtype=np.float64)
    if std == 0:
        raise ValueError("x is constant where the statistics are taken "
                         "(std 0): a z-score is undefined")
    return ((x - sample.mean(dtype=np.float64)) / std).astype(x.dtype)


def minmax(x, mask=None):
    """(x - min) / (max - min), statistics over `mask`: [0, 1] on the mask."""
    x, sample = _prepare(x, mask)
    lo, hi = float(sample.min()), float(sample.max())
    if hi == lo:
        raise ValueError(f"x is constant ({lo}) where the statistics are taken: "
                         "min-max scaling is undefined")
    return ((x - lo) / (hi - lo)).astype(x.dtype)


def zscore_minmax(x, mask=None):
    """The course's normalisation: z-score, then min-max to [0, 1].

    Min-max after z-score equals min-max of x alone (both are affine maps),
    up to rounding; the course did both, so this helper exists to reproduce
    it by name. With a mask both steps use the masked voxels.
    """
    return minmax(zscore(x, mask), mask)


def clip_percentiles(x, lower=0.5, upper=99.5, mask=None):
    """Clip x to its [lower, upper] percentiles computed over `mask`."""
    for name, value in (("lower", lower), ("upper", upper)):
        if not _is_number(value) or not 0 <= value <= 100:
            raise ValueError(f"{name} must be a percentile in [0, 100], got {value!r}")
    if lower >= upper:
        raise ValueError(f"lower must be < upper, got lower={lower!r}, upper={upper!r}")
    x, sample = _prepare(x, mask)
    lo, hi = np.percentile(sample, [lower, upper])
    return np.clip(x, lo, hi).astype(x.dtype)


def scale_by_brain_percentile(x, brain_threshold=0.1, brain_reference_percentile=99.9,
                              percentile=99.0, clip=(0.0, 1.5)):
    """x / (a high percentile of the brain), clipped; no mask needed.

    The brain is b = {x > brain_threshold * P_{brain_reference_percentile}(x)},
    the scale s = P_{percentile}(x on b), and the result clip(x / s, *clip)
    (see the module docstring). The defaults are ``minicnn train``'s
    settings, which its model card records.
    """
    if not _is_number(brain_threshold) or not 0 <= brain_threshold < 1:
        raise ValueError(f"brain_threshold must be a fraction in [0, 1), got "
                         f"{brain_threshold!r}")
    for name, value in (("brain_reference_percentile", brain_reference_percentile),
                        ("percentile", percentile)):
        if not _is_number(value) or not 0 <= value <= 100:
            raise ValueError(f"{name} must be a percentile in [0, 100], got {value!r}")
    if not isinstance(clip, (tuple, list)) or len(clip) != 2 \
            or not all(map(_is_number, clip)) or not clip[0] < clip[1]:
        raise ValueError(f"clip must be two numbers (low, high) with low < high, got {clip!r}")
    low, high = clip
    x, _ = _prepare(x, None)
    reference = np.percentile(x, brain_reference_percentile)
    if reference <= 0:
        raise ValueError(f"x has no positive intensities to scale: its "
                         f"{brain_reference_percentile}th percentile is {reference:g} "
                         "(a blank or inverted image?)")
    brain = x[x > brain_threshold * reference]
    scale = np.percentile(brain, percentile)
    # Divide in x's precision: a float64 scale would promote a float32 volume.
    return np.clip(x / x.dtype.type(scale), low, high).astype(x.dtype)
