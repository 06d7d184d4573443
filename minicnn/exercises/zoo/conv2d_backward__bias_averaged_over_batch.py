"""Conv2D backward with dbias averaged over the batch instead of summed.

The loss is already a mean over the batch (its 1 / N is in dy); the bias
adds to every pixel of every image, so its gradient sums dy over all of
them. Averaging divides it by N a second time.
"""
from minicnn.functional.conv import conv2d_input_grad, conv2d_weight_grad


def conv2d_backward(dy, cache):
    """(dx, dkernel, dbias) for the cache of conv2d_forward."""
    x, kernel, has_bias, geom = cache
    dx = conv2d_input_grad(dy, kernel, geom)
    dkernel = conv2d_weight_grad(x, dy, kernel.shape, geom)
    dbias = dy.sum(axis=(1, 2)).mean(axis=0) if has_bias else None   # THE MISTAKE: mean
    return dx, dkernel, dbias
