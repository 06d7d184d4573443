"""Conv2D backward whose dkernel reads the input as if the kernel were not dilated.

Tap (i, j) of a kernel dilated by d saw the input d * i rows down; its
gradient must correlate dy with those same pixels. dx is right here.
"""
import numpy as np

from minicnn.functional.im2col import col2im, pad_hw, unpad_hw


def conv2d_backward(dy, cache):
    """(dx, dkernel, dbias) for the cache of conv2d_forward."""
    x, kernel, has_bias, geom = cache
    n, oh, ow, c_out = dy.shape
    kh, kw, c_in, _ = kernel.shape
    (sh, sw) = geom.strides
    xp = pad_hw(x, geom.pads)
    dkernel = np.zeros(kernel.shape, dy.dtype)
    for i in range(kh):
        for j in range(kw):
            # THE MISTAKE: rows i + oy * sh, not i * dh + oy * sh (the dilation dropped)
            window = xp[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw]
            dkernel[i, j] = window.reshape(-1, c_in).T @ dy.reshape(-1, c_out)
    dcols = dy.reshape(-1, c_out) @ kernel.reshape(-1, c_out).T
    dxp = col2im(dcols, xp.shape[:3] + (c_in,), geom.kernel_hw, geom.strides, geom.dilation,
                 geom.out_hw)
    dx = unpad_hw(dxp, geom.pads)
    dbias = dy.sum(axis=(0, 1, 2)) if has_bias else None
    return dx, dkernel, dbias
