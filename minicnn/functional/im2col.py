"""Output sizes, Keras's padding rule, and im2col / col2im for NHWC tensors.

Sizes (one spatial axis; n input size, k kernel size, s stride, d dilation)
--------------------------------------------------------------------------
A dilated kernel spans ``k_eff = (k - 1) * d + 1`` input pixels.

    'valid':  out = floor((n - k_eff) / s) + 1        (no padding)
    'same':   out = ceil(n / s)
              total pad = max((out - 1) * s + k_eff - n, 0)
              top/left  = total // 2,  bottom/right = total - total // 2

so when the total is odd the extra row/column goes at the bottom/right, as in
Keras and TensorFlow (PyTorch's symmetric padding differs there).

im2col
------
Convolution becomes one matrix product once every receptive field is laid
out as a row. For a padded input xp of shape (N, Hp, Wp, C)::

    cols[n, oy, ox, i, j, c] = xp[n, oy * s_h + i * d_h, ox * s_w + j * d_w, c]

for output pixel (oy, ox) and kernel offset (i, j). For a fixed offset (i, j)
the right-hand side over all (oy, ox) is one strided slice of xp: it starts
at (i * d_h, j * d_w) and steps by (s_h, s_w). Dilation only moves the start,
stride only sets the step, so im2col is kh * kw slice copies, whatever the
image size. Reshaped to (N * OH * OW, kh * kw * C), its columns are in the
order (i, j, c), the same order as a Keras kernel (kh, kw, C_in, C_out)
reshaped to (kh * kw * C_in, C_out).

col2im
------
col2im is the adjoint (transpose) of im2col: ``<im2col(x), c> = <x,
col2im(c)>``. Where receptive fields overlap (stride < kernel) one input
pixel appears in several rows of cols, so col2im *sums* those entries back
into it: the same kh * kw strided slices, added instead of copied. No
np.add.at is needed because, for one offset, a strided slice never visits
the same pixel twice.
"""
import math

import numpy as np

from .._validate import one_of

PADDING_MODES = ("valid", "same")


def effective_kernel_size(k, d):
    """Pixels spanned by a kernel of size k with dilation d: (k - 1) * d + 1."""
    return (k - 1) * d + 1


def conv_output_size(n, k, s, d, padding):
    """Output length along one axis for input n, kernel k, stride s, dilation d."""
    padding = one_of(padding, PADDING_MODES, "padding")
    if padding == "same":
        return math.ceil(n / s)
    return (n - effective_kernel_size(k, d)) // s + 1


def same_padding(n, k, s, d):
    """(before, after) padding of Keras's 'same' mode along one axis."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + effective_kernel_size(k, d) - n, 0)
    return total // 2, total - total // 2


def padding_amounts(in_hw, kernel_hw, strides, dilation, padding):
    """((top, bottom), (left, right)) padding for 'valid' or 'same'."""
    padding = one_of(padding, PADDING_MODES, "padding")
    if padding == "valid":
        return (0, 0), (0, 0)
    return tuple(same_padding(n, k, s, d)
                 for n, k, s, d in zip(in_hw, kernel_hw, strides, dilation))


def pad_hw(x, pads):
    """Zero-pad the H and W axes of an NHWC array by ((t, b), (l, r))."""
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))


def _offset_slices(i, j, out_hw, strides, dilation):
    """The strided slice of the padded input seen by kernel offset (i, j)."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, strides, dilation
    rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
    cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
    return rows, cols


def im2col(xp, kernel_hw, strides, dilation, out_hw):
    """Receptive fields of a padded NHWC input as rows of a matrix.

    xp: (N, Hp, Wp, C)  ->  cols: (N * OH * OW, kh * kw * C)
    """
    n, _, _, c = xp.shape
    kh, kw = kernel_hw
    oh, ow = out_hw
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _offset_slices(i, j, out_hw, strides, dilation)
            cols[:, :, :, i, j, :] = xp[:, rows, columns, :]    # (N, OH, OW, C)
    return cols.reshape(n * oh * ow, kh * kw * c)


def col2im(cols, padded_shape, kernel_hw, strides, dilation, out_hw):
    """Adjoint of im2col: sum each row back into the pixels it came from.

    cols: (N * OH * OW, kh * kw * C)  ->  dxp: (N, Hp, Wp, C)
    """
    n, _, _, c = padded_shape
    kh, kw = kernel_hw
    oh, ow = out_hw
    cols = cols.reshape(n, oh, ow, kh, kw, c)
    dxp = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _offset_slices(i, j, out_hw, strides, dilation)
            dxp[:, rows, columns, :] += cols[:, :, :, i, j, :]   # (N, OH, OW, C)
    return dxp


def unpad_hw(xp, pads):
    """Remove ((t, b), (l, r)) padding from the H and W axes: adjoint of pad_hw."""
    (top, bottom), (left, right) = pads
    h, w = xp.shape[1], xp.shape[2]
    return xp[:, top:h - bottom, left:w - right, :]
