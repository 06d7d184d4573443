"""Batch normalisation's backward in training mode as if it were inference.

In training, the mean and variance are computed from the batch, so every x
of a channel moves every output of it; treating them as constants gives
dx = gamma * s * dy and drops the two terms that come through them.
"""
import numpy as np


def batchnorm_train_backward(dy, cache):
    """(dx, dgamma, dbeta)."""
    axis = cache.axis
    others = tuple(i for i in range(dy.ndim) if i != axis)
    shape = [1] * dy.ndim
    shape[axis] = dy.shape[axis]
    scale = cache.inv_std if cache.gamma is None else cache.gamma * cache.inv_std
    dx = dy * scale.reshape(shape)                   # THE MISTAKE: the mean and variance terms
    dgamma = None if cache.gamma is None else np.sum(dy * cache.xhat, axis=others)
    dbeta = np.sum(dy, axis=others) if cache.has_beta else None
    return dx, dgamma, dbeta
