"""Inverted dropout: pure forward/backward kernels, given the mask.

Training, with drop rate r and a keep mask m (1 = keep, 0 = drop, each kept
with probability 1 - r):

    y  = x * m / (1 - r)
    dx = dy * m / (1 - r)

Dividing by the keep probability 1 - r at training time ("inverted" dropout)
keeps E[y] = x, so at inference the layer is the identity (y = x, dx = dy)
and nothing needs rescaling when training stops.

Shapes: x and y are (N, H, W, C); m may have size 1 on any axis, where one
draw is shared along that axis (Keras's ``noise_shape``, e.g. (N, 1, 1, C)
drops whole feature maps). The kernels are deterministic: the mask is drawn
by the caller (see ``draw_keep_mask`` and ``minicnn.layers.Dropout``), which
is what lets a test check the gradient with a fixed mask.
"""


def draw_keep_mask(rng, shape, rate):
    """Boolean keep mask of `shape`: each entry True with probability 1 - rate.

    `rng` is a ``numpy.random.Generator``; a uniform draw u in [0, 1) is kept
    when u >= rate, which happens with probability 1 - rate.
    """
    return rng.random(shape) >= rate


def dropout_forward(x, mask, rate):
    """y = x * mask / (1 - rate). Cache: the scaled mask, broadcastable to x."""
    if mask.ndim != x.ndim or any(m not in (1, n) for m, n in zip(mask.shape, x.shape)):
        raise ValueError(
            f"mask must have the rank of x and, on each axis, size 1 or the "
            f"size of x; got mask shape {mask.shape} for x shape {x.shape}")
    # Scale the (small) mask once instead of the (large) output.
    scaled_mask = mask.astype(x.dtype) / x.dtype.type(1.0 - rate)
    return x * scaled_mask, scaled_mask


def dropout_backward(dy, cache):
    """dx = dy * mask / (1 - rate): the same scaled mask as the forward."""
    scaled_mask = cache
    return dy * scaled_mask
