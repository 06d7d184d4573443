"""Slow, obvious convolutions written straight from the definitions.

These are test oracles, not for training: they loop over every output pixel
(or every input pixel) so that nothing about im2col, adjoints or padding
bookkeeping is shared with the fast versions in ``conv.py``. If both agree on
random data, the fast code computes what the equations say.

- ``conv2d_direct``: for each output pixel, the dot product of the kernel with
  the dilated window of the zero-padded input.
- ``conv2d_transpose_direct``: the "scatter" view: every input pixel adds a
  copy of the kernel, scaled by its value, to the output at stride spacing;
  the result is then cropped by the padding of the matching convolution.
"""
import numpy as np

from .conv import conv_geometry, transpose_geometry


def conv2d_direct(x, kernel, bias, strides, padding, dilation):
    """Direct-loop convolution. x (N, H, W, C_in), kernel (kh, kw, C_in, C_out)."""
    geom = conv_geometry(x.shape[1:3], kernel.shape[:2], strides, dilation, padding)
    (top, bottom), (left, right) = geom.pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    (sh, sw), (dh, dw) = strides, dilation
    kh, kw, _, c_out = kernel.shape
    oh, ow = geom.out_hw
    y = np.zeros((x.shape[0], oh, ow, c_out), dtype=x.dtype)
    for oy in range(oh):
        for ox in range(ow):
            window = xp[:, oy * sh:oy * sh + (kh - 1) * dh + 1:dh,
                        ox * sw:ox * sw + (kw - 1) * dw + 1:dw, :]   # (N, kh, kw, C_in)
            y[:, oy, ox, :] = np.einsum("nijc,ijcf->nf", window, kernel)
    if bias is not None:
        y += bias
    return y


def conv2d_transpose_direct(x, kernel, bias, strides, padding, dilation,
                            output_padding=None):
    """Direct scatter transpose convolution. kernel (kh, kw, C_out, C_in)."""
    geom = transpose_geometry(x.shape[1:3], kernel.shape[:2], strides, dilation,
                              padding, output_padding)
    (sh, sw), (dh, dw) = strides, dilation
    kh, kw, c_out, _ = kernel.shape
    n, h, w, _ = x.shape
    # The full scatter canvas, in the padded coordinates of the matching conv.
    full_h = max((h - 1) * sh + (kh - 1) * dh + 1, geom.pads[0][0] + geom.in_hw[0])
    full_w = max((w - 1) * sw + (kw - 1) * dw + 1, geom.pads[1][0] + geom.in_hw[1])
    canvas = np.zeros((n, full_h, full_w, c_out), dtype=x.dtype)
    for iy in range(h):
        for ix in range(w):
            for i in range(kh):
                for j in range(kw):
                    canvas[:, iy * sh + i * dh, ix * sw + j * dw, :] += (
                        x[:, iy, ix, :] @ kernel[i, j].T)           # (N, C_out)
    top, left = geom.pads[0][0], geom.pads[1][0]
    y = canvas[:, top:top + geom.in_hw[0], left:left + geom.in_hw[1], :].copy()
    if bias is not None:
        y += bias
    return y
