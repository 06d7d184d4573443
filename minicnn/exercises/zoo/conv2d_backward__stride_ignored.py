"""Conv2D backward whose dx scatter forgets the stride.

Output pixel (oy, ox) read the input at oy * s + i * d; dx must send its
gradient back there. Stepping by 1 instead piles every contribution into
the top-left corner; with stride 1, as in most of a U-Net, nothing shows.
"""
import numpy as np

from minicnn.functional.im2col import im2col, pad_hw


def conv2d_backward(dy, cache):
    """(dx, dkernel, dbias) for the cache of conv2d_forward."""
    x, kernel, has_bias, geom = cache
    n, oh, ow, c_out = dy.shape
    kh, kw, c_in, _ = kernel.shape
    dh, dw = geom.dilation
    (top, bottom), (left, right) = geom.pads
    hp, wp = x.shape[1] + top + bottom, x.shape[2] + left + right
    dxp = np.zeros((n, hp, wp, c_in), dy.dtype)
    for i in range(kh):
        for j in range(kw):
            # THE MISTAKE: rows oy + i * dh, not oy * sh + i * dh (and the same across)
            dxp[:, i * dh:i * dh + oh, j * dw:j * dw + ow] += dy @ kernel[i, j].T
    dx = dxp[:, top:hp - bottom, left:wp - right]
    cols = im2col(pad_hw(x, geom.pads), geom.kernel_hw, geom.strides, geom.dilation,
                  geom.out_hw)
    dkernel = (cols.T @ dy.reshape(-1, c_out)).reshape(kernel.shape)
    dbias = dy.sum(axis=(0, 1, 2)) if has_bias else None
    return dx, dkernel, dbias
