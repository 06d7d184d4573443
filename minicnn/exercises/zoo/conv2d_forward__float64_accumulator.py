"""Conv2D forward, its output made with np.zeros(shape): float64 whatever x is.

Right values, wrong dtype: training runs in float32, and a float64 output
doubles the memory and time of every layer after it (and the library's
backward would return float64 gradients for float32 weights).
"""
import numpy as np

from minicnn.functional.conv import ConvCache
from minicnn.functional.im2col import pad_hw


def conv2d_forward(x, kernel, bias, geom):
    """y = conv(x, kernel) + bias, looping over the kernel's taps."""
    kh, kw, c_in, c_out = kernel.shape
    xp = pad_hw(x, geom.pads)
    (oh, ow), (sh, sw), (dh, dw) = geom.out_hw, geom.strides, geom.dilation
    y = np.zeros((x.shape[0], oh, ow, c_out))        # THE MISTAKE: no dtype=x.dtype
    for i in range(kh):
        for j in range(kw):
            window = xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                        j * dw:j * dw + (ow - 1) * sw + 1:sw]      # (N, OH, OW, C_in)
            y += window @ kernel[i, j]
    if bias is not None:
        y += bias
    return y, ConvCache(x, kernel, bias is not None, geom)
