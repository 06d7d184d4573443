"""Pad or crop images so that H and W divide 2**depth, and undo it exactly.

A U-Net with `depth` pooling levels halves H and W `depth` times and doubles
them back, so the skip connections only line up when H and W are multiples of
2**depth. For a size n and multiple m:

    pad  to  ceil(n / m) * m      (the smallest multiple >= n)
    crop to  floor(n / m) * m     (the largest multiple <= n)

The change is centred: a total of t voxels is split t // 2 before and
t - t // 2 after (the odd voxel at the bottom/right, like Keras's 'same'
padding). For the course's 110 x 92 slices and a depth-3 U-Net (m = 8):
110 -> 112 and 92 -> 96. (The course's helper padded 110 to 144.)

    x:  (N, H, W, C)        padded: (N, H', W', C)   with H' = ceil(H / m) * m ...

``pad_to_multiple`` / ``crop_to_multiple`` return the new array and a
``Margins`` record; ``undo_margins(y, margins)`` returns y to the original
shape: it removes what was padded (so pad -> undo gives back the original
exactly) and refills what was cropped with `fill` (cropped voxels are gone;
for a prediction, `fill=0` marks them background).
"""
from dataclasses import dataclass

import numpy as np

from .._validate import as_array, positive_int


@dataclass(frozen=True)
class Margins:
    """What was added (> 0) or removed (< 0) before and after each axis."""
    axes: tuple
    before: tuple
    after: tuple
    shape: tuple  # the original array's shape


def _axes(x, axes):
    """Validated, non-negative, distinct axis numbers of `x`."""
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    try:
        axes = tuple(int(a) for a in axes)
    except TypeError:
        raise TypeError(f"axes must be an int or a tuple of ints, got {axes!r}") from None
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"axes {axes} out of range for an array of shape {x.shape}")
    axes = tuple(a % x.ndim for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes must be distinct, got {axes}")
    return axes


def _centred(x, axes, targets):
    """The Margins that take each axis of `axes` to its target size, centred:
    a change of t splits t // 2 before and t - t // 2 after."""
    before, after = [], []
    for a, target in zip(axes, targets):
        change = target - x.shape[a]
        sign = 1 if change >= 0 else -1
        before.append(sign * (abs(change) // 2))
        after.append(sign * (abs(change) - abs(change) // 2))
    return Margins(axes, tuple(before), tuple(after), x.shape)


def _margins(x, multiple, axes, grow):
    x = as_array(x, "x")
    multiple = positive_int(multiple, "multiple")
    axes = _axes(x, axes)
    targets = []
    for a in axes:
        n = x.shape[a]
        target = -(-n // multiple) * multiple if grow else (n // multiple) * multiple
        if target == 0:
            raise ValueError(f"axis {a} has size {n} < multiple={multiple}: "
                             "cropping would leave nothing; pad instead")
        targets.append(target)
    return x, _centred(x, axes, targets)


def _apply(x, margins, fill):
    """Pad where a margin is positive, crop where it is negative."""
    pads = [(0, 0)] * x.ndim
    crops = [slice(None)] * x.ndim
    for a, b, e in zip(margins.axes, margins.before, margins.after):
        pads[a] = (max(b, 0), max(e, 0))
        crops[a] = slice(max(-b, 0), x.shape[a] - max(-e, 0))
    return np.pad(x[tuple(crops)], pads, mode="constant", constant_values=fill)


def pad_to_multiple(x, multiple, axes=(1, 2), fill=0):
    """Pad `axes` of x with `fill`, centred, up to the next multiple.

    Returns (padded, margins). Default axes (1, 2) are H and W of NHWC.
    """
    x, margins = _margins(x, multiple, axes, grow=True)
    return _apply(x, margins, fill), margins


def pad_to_shape(x, shape, axes=(1, 2), fill=0):
    """Pad `axes` of x with `fill`, centred, up to the sizes in `shape` (one
    per axis, each at least the axis's size). Returns (padded, margins), as
    ``pad_to_multiple`` does: samples of several sizes padded to one."""
    x = as_array(x, "x")
    axes = _axes(x, axes)
    shape = tuple(positive_int(n, "shape") for n in shape)
    if len(shape) != len(axes) or any(n < x.shape[a] for a, n in zip(axes, shape)):
        raise ValueError(f"shape must give one size per axis {axes}, each at least the "
                         f"array's ({tuple(x.shape[a] for a in axes)}), got {shape}")
    margins = _centred(x, axes, shape)
    return _apply(x, margins, fill), margins


def crop_to_multiple(x, multiple, axes=(1, 2)):
    """Crop `axes` of x, centred, down to the previous multiple.

    Returns (cropped, margins). Loses the border voxels; prefer padding
    unless the border is known to be background.
    """
    x, margins = _margins(x, multiple, axes, grow=False)
    return _apply(x, margins, 0), margins


def undo_margins(y, margins, fill=0):
    """Return y (shaped like the padded/cropped array) to the original shape.

    Only the axes in `margins` may differ from the original; the others (e.g.
    C, when y is a prediction with a different number of channels) are kept.
    """
    if not isinstance(margins, Margins):
        raise TypeError(f"margins must be the Margins returned by pad_to_multiple "
                        f"or crop_to_multiple, got {type(margins).__name__}")
    y = as_array(y, "y")
    if y.ndim != len(margins.shape):
        raise ValueError(f"y must have rank {len(margins.shape)} like the original "
                         f"{margins.shape}, got shape {y.shape}")
    for a, b, e in zip(margins.axes, margins.before, margins.after):
        if y.shape[a] != margins.shape[a] + b + e:
            raise ValueError(
                f"y has size {y.shape[a]} on axis {a}, but the padded/cropped "
                f"array had {margins.shape[a] + b + e}; margins do not match y")
    inverse = Margins(margins.axes, tuple(-b for b in margins.before),
                      tuple(-e for e in margins.after), y.shape)
    return _apply(y, inverse, fill)
