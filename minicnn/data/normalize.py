"""Intensity normalisation of MRI volumes.

MRI intensities have no fixed unit: two scanners (or two sessions) give the
same tissue different numbers, so each volume is rescaled before training.
With x the volume and S the set of voxels the statistics come from (the whole
volume, or the brain when a `mask` is given):

    z-score          z = (x - mean_S(x)) / std_S(x)
    min-max          m = (x - min_S(x)) / (max_S(x) - min_S(x))      in [0, 1] on S
    course's scheme  min-max(z-score(x))   (what the course notebook does)
    percentile clip  clip(x, P_lo(x on S), P_hi(x on S))

The transform is applied to every voxel; only the statistics are restricted
to the mask. Voxels outside the mask may therefore fall outside [0, 1] after
min-max: multiply by the mask if you want them at exactly 0.

Why a mask: in a skull-stripped image most voxels are background zeros, so
whole-volume statistics describe the field of view more than the brain, and
the brain's z-scores change with how tightly the volume is cropped.
Percentile clipping first removes the few very bright voxels (vessels,
artefacts) that would otherwise squeeze all tissue into a small part of
[0, 1] under min-max.

All functions return float32 (or float64 if given float64) and never modify
their input. A constant volume (zero spread on S) is refused rather than
divided by zero.
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
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not 0 <= value <= 100:
            raise ValueError(f"{name} must be a percentile in [0, 100], got {value!r}")
    if lower >= upper:
        raise ValueError(f"lower must be < upper, got lower={lower!r}, upper={upper!r}")
    x, sample = _prepare(x, mask)
    lo, hi = np.percentile(sample, [lower, upper])
    return np.clip(x, lo, hi).astype(x.dtype)
