"""Conv2D forward as a true convolution: the kernel's taps read in mirror order.

Mathematics books define convolution with the kernel flipped; deep-learning
libraries compute a cross-correlation and call it convolution. The two
agree only for kernels symmetric under a 180-degree turn.
"""
from minicnn.functional.conv import ConvCache
from minicnn.functional.im2col import pad_hw


def conv2d_forward(x, kernel, bias, geom):
    """y = conv(x, kernel) + bias, looping over the kernel's taps."""
    kh, kw, c_in, c_out = kernel.shape
    xp = pad_hw(x, geom.pads)
    (oh, ow), (sh, sw), (dh, dw) = geom.out_hw, geom.strides, geom.dilation
    y = None
    for i in range(kh):
        for j in range(kw):
            window = xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                        j * dw:j * dw + (ow - 1) * sw + 1:sw]
            term = window @ kernel[kh - 1 - i, kw - 1 - j]      # THE MISTAKE: flipped
            y = term if y is None else y + term
    if bias is not None:
        y = y + bias
    return y, ConvCache(x, kernel, bias is not None, geom)
