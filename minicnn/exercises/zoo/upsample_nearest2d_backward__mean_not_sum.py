"""Nearest upsampling's backward that averages each block of dy instead of summing it.

Each input pixel was copied into sh * sw outputs, so each of their
gradients reaches it: the adjoint of a copy is a sum.
"""


def upsample_nearest2d_backward(dy, cache):
    """dx from dy (N, H * sh, W * sw, C)."""
    sh, sw = cache
    n, oh, ow, c = dy.shape
    blocks = dy.reshape(n, oh // sh, sh, ow // sw, sw, c)
    return blocks.mean(axis=(2, 4))                  # THE MISTAKE: sum, not mean
