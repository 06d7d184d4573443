"""Conv2D forward padding k // 2 rows and columns on every side, as PyTorch's
padding=k//2 does, instead of Keras's 'same' amounts from geom.pads.

Keras puts the odd extra row or column of 'same' padding at the bottom and
right, and counts the dilated kernel's span; k // 2 on both sides is one
row too many at the top for even kernels, strided 'same' convolutions and
dilated ones: the output moves by one pixel.
"""
import numpy as np

from minicnn.functional.conv import ConvCache


def conv2d_forward(x, kernel, bias, geom):
    """y = conv(x, kernel) + bias, looping over the kernel's taps."""
    kh, kw, c_in, c_out = kernel.shape
    if geom.pads == ((0, 0), (0, 0)):                 # 'valid'
        xp = x
    else:                                             # THE MISTAKE: not geom.pads
        xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    (oh, ow), (sh, sw), (dh, dw) = geom.out_hw, geom.strides, geom.dilation
    y = np.zeros((x.shape[0], oh, ow, c_out), x.dtype)
    for i in range(kh):
        for j in range(kw):
            y += xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                    j * dw:j * dw + (ow - 1) * sw + 1:sw] @ kernel[i, j]
    if bias is not None:
        y += bias
    return y, ConvCache(x, kernel, bias is not None, geom)
