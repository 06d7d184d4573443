"""Conv2D backward, dx as a correlation of dy with the kernel, not flipped.

Written as a gather (each dx pixel reads the dy entries whose windows
covered it), the adjoint of a cross-correlation is a correlation of the
zero-spread dy with the kernel turned by 180 degrees. Without the turn, dx
is wrong wherever the kernel is not symmetric, and the layers below learn
from the wrong signal.
"""
import numpy as np

from minicnn.functional.im2col import im2col, pad_hw


def conv2d_backward(dy, cache):
    """(dx, dkernel, dbias) for the cache of conv2d_forward."""
    x, kernel, has_bias, geom = cache
    n, oh, ow, c_out = dy.shape
    kh, kw, c_in, _ = kernel.shape
    (sh, sw), (dh, dw) = geom.strides, geom.dilation
    (top, bottom), (left, right) = geom.pads
    hp, wp = x.shape[1] + top + bottom, x.shape[2] + left + right
    # dy spread out by the stride, with the kernel's span of zeros around it
    ph, pw = (kh - 1) * dh, (kw - 1) * dw
    spread = np.zeros((n, hp + 2 * ph, wp + 2 * pw, c_out), dy.dtype)
    spread[:, ph:ph + (oh - 1) * sh + 1:sh, pw:pw + (ow - 1) * sw + 1:sw] = dy
    dxp = np.zeros((n, hp, wp, c_in), dy.dtype)
    for i in range(kh):
        for j in range(kw):
            tap = kernel[i, j]              # THE MISTAKE: kernel[kh - 1 - i, kw - 1 - j]
            dxp += spread[:, i * dh:i * dh + hp, j * dw:j * dw + wp] @ tap.T
    dx = dxp[:, top:hp - bottom, left:wp - right]
    cols = im2col(pad_hw(x, geom.pads), geom.kernel_hw, geom.strides, geom.dilation,
                  geom.out_hw)
    dkernel = (cols.T @ dy.reshape(-1, c_out)).reshape(kernel.shape)
    dbias = dy.sum(axis=(0, 1, 2)) if has_bias else None
    return dx, dkernel, dbias
