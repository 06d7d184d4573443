"""2D max and average pooling, NHWC, with Keras's MaxPooling2D and
AveragePooling2D semantics.

Shapes
------
    x   (N, H, W, C)       input
    y   (N, OH, OW, C)     output; the channels are pooled independently
    pool_size (ph, pw), strides (sh, sw); strides=None means strides = pool_size

Output size and padding
-----------------------
Those of a convolution with kernel size p = pool size and dilation 1: the
equations and Keras's 'same' rule (the odd extra row or column at the
bottom/right) are in ``minicnn.functional.im2col``, and ``pool_geometry``
computes them with its functions. Since the total padding is at most p - 1,
every window holds at least one real pixel.

With xp the padded input and (i, j) an offset inside the window, the cell
(i, j) of every window is xp[n, oy*sh + i, ox*sw + j, c]. For one offset,
that cell over all output pixels is a single strided slice of xp (start
(i, j), step (sh, sw)), so both poolings are ph * pw slice operations,
whatever the image size. Within one offset a strided slice never visits a
pixel twice, so the backward passes add into it with a plain +=; when
windows overlap (strides < pool_size) a pixel is reached through several
offsets, and the separate adds sum its gradients. Finally the padding rows
and columns are cropped away: dx = dxp[:, top:Hp-bottom, left:Wp-right, :].

Max pooling
-----------
Pads with -inf, not 0, so a padded cell never wins a window.

    y[n, oy, ox, c] = max_{0 <= i < ph, 0 <= j < pw} xp[n, oy*sh + i, ox*sw + j, c]

The forward pass keeps a running maximum and next to it the index
k = i * pw + j of the offset that holds it. The update uses a strict '>', so
among equal values the first offset in row-major order keeps the win, as in
TensorFlow. The maximum passes its gradient to the one input that won:

    dxp[n, oy*sh + i, ox*sw + j, c] += dy[n, oy, ox, c]   if k[n, oy, ox, c] == i*pw + j

Average pooling
---------------
The mean of each window's real pixels: padded cells (zeros) add nothing to
the sum and are not counted, so a 'same' window at the border is divided by
how many real pixels it holds, not by ph * pw, as in Keras and TensorFlow
(count_include_pad=False in PyTorch's terms). With m the window's real-pixel
mask (1 inside the image, 0 in the padding) and count its size,

    count[oy, ox]    = sum_{i, j} m[oy*sh + i, ox*sw + j]           (ph * pw for 'valid')
    y[n, oy, ox, c]  = sum_{i, j} xp[n, oy*sh + i, ox*sw + j, c] / count[oy, ox]

y is linear in x and each real input of a window has weight 1 / count, so
the backward pass gives each of them that share of the window's gradient:

    dxp[n, oy*sh + i, ox*sw + j, c] += dy[n, oy, ox, c] / count[oy, ox]
"""
from collections import namedtuple
from typing import NamedTuple

import numpy as np

from .. import _validate
from .im2col import PADDING_MODES, conv_output_size, padding_amounts, unpad_hw

PoolGeometry = namedtuple("PoolGeometry", "in_hw pool_size strides pads out_hw")
PoolGeometry.__doc__ = """Input size, pool size, strides,
((top, bottom), (left, right)) padding and output size, as (height, width)."""


class MaxPoolCache(NamedTuple):
    """What max pooling's backward needs."""
    winner: np.ndarray            # (N, OH, OW, C): offset i * pw + j of each window's max
    input_shape: tuple            # (N, H, W, C)
    geom: PoolGeometry


class AveragePoolCache(NamedTuple):
    """What average pooling's backward needs."""
    count: np.ndarray             # (1, OH, OW, 1): the real pixels in each window
    input_shape: tuple            # (N, H, W, C)
    geom: PoolGeometry


def pool_output_hw(in_hw, pool_size, strides, padding):
    """(OH, OW) for an input (H, W) and validated arguments; None stays None."""
    for n in in_hw:
        if n is not None and n < 1:
            raise ValueError(f"the input's (height, width) must be >= 1, got {tuple(in_hw)}")
    out_hw = tuple(None if n is None else conv_output_size(n, p, s, 1, padding)
                   for n, p, s in zip(in_hw, pool_size, strides))
    if any(out is not None and out < 1 for out in out_hw):
        raise ValueError(
            f"pool_size {tuple(pool_size)} is larger than the input's (height, "
            f"width) {tuple(in_hw)} with padding='valid'; each pool size must be "
            "<= the matching input size, or use padding='same'")
    return out_hw


def pool_arguments(pool_size, strides, padding):
    """Validated (pool_size, strides, padding); strides=None means pool_size."""
    pool_size = _validate.int_tuple(pool_size, 2, "pool_size")
    strides = pool_size if strides is None else _validate.int_tuple(strides, 2, "strides")
    return pool_size, strides, _validate.one_of(padding, PADDING_MODES, "padding")


def pool_geometry(in_hw, pool_size, strides=None, padding="valid"):
    """Validate pooling arguments against an input (H, W); return a PoolGeometry."""
    pool_size, strides, padding = pool_arguments(pool_size, strides, padding)
    in_hw = tuple(int(n) for n in in_hw)
    out_hw = pool_output_hw(in_hw, pool_size, strides, padding)
    pads = padding_amounts(in_hw, pool_size, strides, (1, 1), padding)
    return PoolGeometry(in_hw, pool_size, strides, pads, out_hw)


def _offsets(geom):
    """(k, rows, cols) for every window offset (i, j), k = i * pw + j.

    rows/cols select, in the padded input, the (i, j) element of every window.
    """
    (ph, pw), (sh, sw), (oh, ow) = geom.pool_size, geom.strides, geom.out_hw
    for i in range(ph):
        for j in range(pw):
            yield (i * pw + j,
                   slice(i, i + (oh - 1) * sh + 1, sh),
                   slice(j, j + (ow - 1) * sw + 1, sw))


def _pad_with(x, pads, value):
    """x (N, H, W, C) padded on H and W by ((t, b), (l, r)) with `value`."""
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _padded_zeros(x_shape, pads, dtype):
    """Zeros of the padded input's shape (N, Hp, Wp, C): where dxp is summed."""
    (top, bottom), (left, right) = pads
    n, h, w, c = x_shape
    return np.zeros((n, h + top + bottom, w + left + right, c), dtype=dtype)


def max_pool2d_forward(x, geom):
    """Max pooling. x (N, H, W, C) float, geom a PoolGeometry of x's (H, W)
    (``pool_geometry``, which validates the arguments) -> (y (N, OH, OW, C), cache)."""
    xp = _pad_with(x, geom.pads, -np.inf)                    # (N, Hp, Wp, C)
    out_shape = (x.shape[0], *geom.out_hw, x.shape[3])       # (N, OH, OW, C)
    # Offset index of each window's maximum, in the smallest integer type
    # that holds 0 .. ph*pw - 1 (uint8 for any pool up to 16 x 16).
    n_offsets = geom.pool_size[0] * geom.pool_size[1]
    winner = np.zeros(out_shape, dtype=np.min_scalar_type(n_offsets - 1))
    y = None
    for k, rows, cols in _offsets(geom):
        window = xp[:, rows, cols, :]                         # (N, OH, OW, C)
        if y is None:
            y = window.copy()
            continue
        better = window > y                                   # strict: ties keep the first
        np.copyto(y, window, where=better)
        winner[better] = k
    return y, MaxPoolCache(winner, x.shape, geom)


def max_pool2d_backward(dy, cache):
    """Gradient of max pooling: dy (N, OH, OW, C) -> dx (N, H, W, C)."""
    winner, x_shape, geom = cache                            # a MaxPoolCache
    dxp = _padded_zeros(x_shape, geom.pads, dy.dtype)        # (N, Hp, Wp, C)
    for k, rows, cols in _offsets(geom):
        dxp[:, rows, cols, :] += np.where(winner == k, dy, 0)   # (N, OH, OW, C)
    return unpad_hw(dxp, geom.pads)


def _window_sums(xp, geom):
    """The sum of every window of a padded xp (N, Hp, Wp, C) -> (N, OH, OW, C)."""
    total = None
    for _, rows, cols in _offsets(geom):
        if total is None:
            total = xp[:, rows, cols, :].copy()               # a new array: xp stays intact
        else:
            total += xp[:, rows, cols, :]
    return total


def average_pool2d_forward(x, geom):
    """Average pooling over each window's real pixels. x (N, H, W, C) float,
    geom a PoolGeometry of x's (H, W) (``pool_geometry``, which validates the
    arguments) -> (y (N, OH, OW, C), cache).

    y = window sum / count, count (1, OH, OW, 1) the number of real pixels in
    each window: the window sums of a mask of ones padded with zeros."""
    count = _window_sums(_pad_with(np.ones((1, *geom.in_hw, 1), dtype=x.dtype),
                                   geom.pads, 0), geom)
    y = _window_sums(_pad_with(x, geom.pads, 0), geom) / count
    return y, AveragePoolCache(count, x.shape, geom)


def average_pool2d_backward(dy, cache):
    """Gradient of average pooling: dy (N, OH, OW, C) -> dx (N, H, W, C).

    Each real pixel of a window receives dy / count; padded cells receive it
    too, and are cropped away."""
    count, x_shape, geom = cache                             # an AveragePoolCache
    share = dy / count                                        # (N, OH, OW, C), a new array
    dxp = _padded_zeros(x_shape, geom.pads, dy.dtype)        # (N, Hp, Wp, C)
    for _, rows, cols in _offsets(geom):
        dxp[:, rows, cols, :] += share
    return unpad_hw(dxp, geom.pads)
