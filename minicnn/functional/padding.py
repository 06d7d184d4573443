"""Zero padding and cropping of the H and W axes, NHWC; each is the other's adjoint.

Shapes
------
    x  (N, H, W, C)
    zero padding by ((top, bottom), (left, right)):
        y  (N, H + top + bottom, W + left + right, C)
    cropping by ((top, bottom), (left, right)):
        y  (N, H - top - bottom, W - left - right, C)    (needs top + bottom < H,
                                                           left + right < W)

The amounts are given as Keras's ZeroPadding2D and Cropping2D take them:
    an int p                      ((p, p), (p, p))
    (sym_h, sym_w)                ((sym_h, sym_h), (sym_w, sym_w))
    ((top, bottom), (left, right))  as given
each amount an integer >= 0.

Forward and backward
--------------------
    pad:   y[n, top + h, left + w, c] = x[n, h, w, c],   zero elsewhere
    crop:  y[n, h, w, c] = x[n, top + h, left + w, c]

Both are linear, and <pad(x), y> = <x, crop(y)> for the same amounts: the
crop is the adjoint (transpose) of the pad. So the gradient of padding is
cropping dy by the same amounts, and the gradient of cropping is zero-padding
dy back to the input's size (the cropped-away pixels get gradient 0).
"""
import numpy as np

from .. import _validate


def hw_pairs(value, name):
    """An int, (sym_h, sym_w) or ((top, bottom), (left, right)) as the last form."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(_validate.int_tuple(v, 2, f"{name}[{axis}]", minimum=0)
                     for axis, v in enumerate(value))
    if isinstance(value, (list, tuple)):
        raise ValueError(
            f"{name} must be an int, a tuple of 2 ints (symmetric height, width) "
            f"or a tuple of 2 pairs ((top, bottom), (left, right)), got {value!r}")
    amount = _validate.positive_int(value, name, minimum=0)
    return ((amount, amount), (amount, amount))


def padded_hw(in_hw, padding):
    """(height, width) after zero padding; None stays None."""
    return tuple(None if n is None else n + before + after
                 for n, (before, after) in zip(in_hw, padding))


def cropped_hw(in_hw, cropping):
    """(height, width) after cropping; refuses to crop an axis away entirely."""
    for axis, n, (before, after) in zip(("height", "width"), in_hw, cropping):
        if n is not None and before + after >= n:
            raise ValueError(
                f"cropping {cropping} removes {before + after} of the input's "
                f"{n} pixels of {axis}; the two amounts along an axis must sum "
                f"to less than its size, for input (height, width) {tuple(in_hw)}")
    return tuple(None if n is None else n - before - after
                 for n, (before, after) in zip(in_hw, cropping))


def _pad(x, pads):
    """x (N, H, W, C) with zeros added around H and W."""
    n, h, w, c = x.shape
    (top, bottom), (left, right) = pads
    y = np.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
    y[:, top:top + h, left:left + w, :] = x
    return y


def _crop(x, crops):
    """A new array: x (N, H, W, C) without the cropped rows and columns."""
    _, h, w, _ = x.shape
    (top, bottom), (left, right) = crops
    # A copy, not a view, so writing into the output never changes x.
    return x[:, top:h - bottom, left:w - right, :].copy()


def zero_pad2d_forward(x, padding):
    """Zero padding: x (N, H, W, C) -> (y (N, H+t+b, W+l+r, C), cache)."""
    x = _validate.as_array(x, "x", ndim=4)
    pads = hw_pairs(padding, "padding")
    return _pad(x, pads), pads


def zero_pad2d_backward(dy, cache):
    """Gradient of zero padding: crop dy by the padding amounts."""
    return _crop(dy, cache)


def crop2d_forward(x, cropping):
    """Cropping: x (N, H, W, C) -> (y (N, H-t-b, W-l-r, C), cache)."""
    x = _validate.as_array(x, "x", ndim=4)
    crops = hw_pairs(cropping, "cropping")
    cropped_hw(x.shape[1:3], crops)
    return _crop(x, crops), crops


def crop2d_backward(dy, cache):
    """Gradient of cropping: zero-pad dy back to the input's size."""
    return _pad(dy, cache)
