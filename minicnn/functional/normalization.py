"""Batch normalization: pure forward/backward kernels.

Shapes (NHWC, channel axis k = -1 by default): x, y and the gradients are
(N, H, W, C); gamma, beta, the means and the variances are (C,). Every
statistic is taken per channel over the M = N * H * W entries of the other
axes (for another channel axis, over all the axes but k).

Forward (training: statistics of the batch; inference: the moving ones)
    mu    = 1/M sum_i x_i
    var   = 1/M sum_i (x_i - mu)**2      (biased, as Keras: tf.nn.moments)
    s     = 1 / sqrt(var + epsilon)
    xhat  = (x - mu) * s
    y     = gamma * xhat + beta

Moving statistics, updated by the layer after each training batch:
    moving = moving * momentum + batch_statistic * (1 - momentum)
Keras uses the same biased batch variance here (no M / (M - 1) factor).

Backward, both modes (dy = dL/dy)
    dbeta  = sum_i dy_i
    dgamma = sum_i dy_i * xhat_i

Backward w.r.t. x at inference: mu and s are constants, so y is affine in x
    dx = dy * gamma * s

Backward w.r.t. x in training: mu and var depend on every x_j of the
channel. With g = dL/dxhat = gamma * dy and delta_ij the Kronecker delta,
    dmu/dx_j   = 1/M
    dvar/dx_j  = 2/M (x_j - mu)          (the term with sum_i (x_i - mu) = 0
                                          vanishes)
    ds/dx_j    = -1/2 s**3 dvar/dx_j = -s**2 xhat_j / M
    dxhat_i/dx_j = s (delta_ij - 1/M) + (x_i - mu) ds/dx_j
                 = s (delta_ij - 1/M - xhat_i xhat_j / M)
so dx_j = sum_i g_i dxhat_i/dx_j gives the compact formula
    dx = s / M * (M * g - sum_i g_i - xhat * sum_i g_i xhat_i)
The two sums are gamma * dbeta and gamma * dgamma: per-channel reductions the
kernel computes once. dx sums to zero over each channel, as it must, since
adding a constant to a channel's inputs does not change y.

gamma or beta may be None (Keras's scale=False / center=False): they then act
as 1 and 0, and their gradient is returned as None.
"""
from typing import NamedTuple

import numpy as np


class BatchNormCache(NamedTuple):
    """What the backward pass needs (mean and var also feed the moving stats)."""
    xhat: np.ndarray           # (N, H, W, C) normalized input
    inv_std: np.ndarray        # (C,) s = 1 / sqrt(var + epsilon)
    gamma: np.ndarray          # (C,) or None
    has_beta: bool
    mean: np.ndarray           # (C,) statistic used to normalize
    var: np.ndarray            # (C,)
    axis: int                  # channel axis, non-negative


def _axes(x, axis):
    """(channel axis >= 0, reduced axes, broadcast shape of a (C,) vector)."""
    axis = axis % x.ndim
    reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
    param_shape = [1] * x.ndim
    param_shape[axis] = x.shape[axis]
    return axis, reduce_axes, tuple(param_shape)


def batch_moments(x, axis=-1):
    """Per-channel mean and biased variance over all axes but `axis`: (C,), (C,)."""
    _, reduce_axes, _ = _axes(x, axis)
    mean = np.mean(x, axis=reduce_axes)
    var = np.var(x, axis=reduce_axes)       # 1/M sum (x - mean)**2
    return mean, var


def _normalize(x, gamma, beta, mean, var, epsilon, axis):
    """y = gamma * (x - mean) * s + beta and its cache."""
    axis, _, param_shape = _axes(x, axis)
    inv_std = 1.0 / np.sqrt(var + epsilon)                         # (C,)
    xhat = (x - mean.reshape(param_shape)) * inv_std.reshape(param_shape)
    # Copy when gamma is absent: the output must not share memory with the cache.
    y = xhat.copy() if gamma is None else xhat * gamma.reshape(param_shape)
    if beta is not None:
        y = y + beta.reshape(param_shape)
    return y, BatchNormCache(xhat, inv_std, gamma, beta is not None, mean, var, axis)


def _affine_grads(dy, cache):
    """(dgamma, dbeta), each (C,) or None, shared by both modes."""
    reduce_axes = tuple(i for i in range(dy.ndim) if i != cache.axis)
    dgamma = None if cache.gamma is None else np.sum(dy * cache.xhat, axis=reduce_axes)
    dbeta = np.sum(dy, axis=reduce_axes) if cache.has_beta else None
    return dgamma, dbeta


def batchnorm_train_forward(x, gamma, beta, epsilon=1e-3, axis=-1):
    """Normalize with the batch's own statistics (training mode).

    Returns (y, cache); ``cache.mean`` and ``cache.var`` are the batch
    statistics the layer folds into its moving averages.
    """
    mean, var = batch_moments(x, axis)
    return _normalize(x, gamma, beta, mean, var, epsilon, axis)


def batchnorm_train_backward(dy, cache):
    """(dx, dgamma, dbeta) when the statistics came from the batch itself."""
    _, reduce_axes, param_shape = _axes(dy, cache.axis)
    m = dy.size // dy.shape[cache.axis]                    # entries per channel
    g = dy if cache.gamma is None else dy * cache.gamma.reshape(param_shape)
    sum_g = np.sum(g, axis=reduce_axes, keepdims=True)                 # (1,1,1,C)
    sum_g_xhat = np.sum(g * cache.xhat, axis=reduce_axes, keepdims=True)
    dx = (cache.inv_std.reshape(param_shape) / m) * (
        m * g - sum_g - cache.xhat * sum_g_xhat)
    dgamma, dbeta = _affine_grads(dy, cache)
    return dx, dgamma, dbeta


def batchnorm_inference_forward(x, gamma, beta, moving_mean, moving_var,
                                epsilon=1e-3, axis=-1):
    """Normalize with fixed (moving) statistics: an affine map of x."""
    return _normalize(x, gamma, beta, moving_mean, moving_var, epsilon, axis)


def batchnorm_inference_backward(dy, cache):
    """(dx, dgamma, dbeta) with constant statistics: dx = dy * gamma * s."""
    _, _, param_shape = _axes(dy, cache.axis)
    scale = cache.inv_std if cache.gamma is None else cache.gamma * cache.inv_std
    dx = dy * scale.reshape(param_shape)
    dgamma, dbeta = _affine_grads(dy, cache)
    return dx, dgamma, dbeta


def moving_average_update(moving, batch_value, momentum):
    """moving * momentum + batch_value * (1 - momentum), as a new array."""
    return moving * momentum + batch_value * (1.0 - momentum)
