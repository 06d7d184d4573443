"""BatchNormalization layer (Keras's name, arguments, defaults and weights).

Per channel c (the `axis`, -1 by default), over the N * H * W other entries:

    training:   y = gamma * (x - batch_mean) / sqrt(batch_var + epsilon) + beta
                then  moving_mean     <- moving_mean * momentum + batch_mean * (1 - momentum)
                      moving_variance <- moving_variance * momentum + batch_var * (1 - momentum)
    inference:  y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta

batch_var is the biased variance (divide by M, not M - 1), as in Keras.
Derivations of the gradients: ``minicnn.functional.normalization``.

Weights, in Keras's order, each of shape (C,):
    gamma (if scale), beta (if center)           trainable
    moving_mean, moving_variance                 non-trainable
so a layer on C channels has 4 * C parameters, 2 * C of them trainable (the
course's U-Net input BN on 1 channel: 4 parameters, 2 non-trainable).

As in Keras, a layer with ``trainable=False`` runs in inference mode even when
called with ``training=True`` (a frozen BN neither uses batch statistics nor
updates its moving ones).
"""
import numbers

from ..functional.normalization import (batchnorm_inference_backward,
                                        batchnorm_inference_forward,
                                        batchnorm_train_backward,
                                        batchnorm_train_forward,
                                        moving_average_update)
from .base import Layer


def _real_in(value, name, low, high, low_inclusive):
    """`value` as a float in [low, high] (or (low, high] if not low_inclusive)."""
    interval = f"{'[' if low_inclusive else '('}{low}, {high}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float in {interval}, got {value!r}")
    if not (low <= value if low_inclusive else low < value) or value > high:
        raise ValueError(f"{name} must be a float in {interval}, got {value!r}")
    return float(value)


class BatchNormalization(Layer):
    """Normalize each channel with batch (training) or moving (inference) stats."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True,
                 scale=True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        n = self.input_ndim
        # Any axis but the batch axis; -1 (channels, NHWC) is the usual one.
        allowed_axes = tuple(range(-(n - 1), 0)) + tuple(range(1, n))
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be one of {allowed_axes}, got {axis!r}")
        if axis not in allowed_axes:
            raise ValueError(
                f"axis must be one of {allowed_axes} (not the batch axis 0), "
                f"got {axis!r}")
        self.axis = int(axis)
        self.fixed_axes = (self.axis,)   # gamma/beta have one entry per index here
        self.momentum = _real_in(momentum, "momentum", 0.0, 1.0, low_inclusive=True)
        self.epsilon = _real_in(epsilon, "epsilon", 0.0, float("inf"),
                                low_inclusive=False)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(
                f"{self.name}: the normalized axis {self.axis} of input_shape "
                f"{tuple(input_shape)} must have a known size, got None")
        shape = (channels,)
        if self.scale:
            self.add_weight("gamma", shape, self.gamma_initializer)
        if self.center:
            self.add_weight("beta", shape, self.beta_initializer)
        self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                        trainable=False)
        self.add_weight("moving_variance", shape, self.moving_variance_initializer,
                        trainable=False)
        super().build(input_shape)

    def _forward(self, x, training):
        gamma = self.params.get("gamma")
        beta = self.params.get("beta")
        if training and self.trainable:
            y, cache = batchnorm_train_forward(x, gamma, beta, self.epsilon, self.axis)
            self.params["moving_mean"] = moving_average_update(
                self.params["moving_mean"], cache.mean, self.momentum)
            self.params["moving_variance"] = moving_average_update(
                self.params["moving_variance"], cache.var, self.momentum)
            return y, (True, cache)
        y, cache = batchnorm_inference_forward(
            x, gamma, beta, self.params["moving_mean"],
            self.params["moving_variance"], self.epsilon, self.axis)
        return y, (False, cache)

    def _backward(self, dy, cache):
        batch_stats, bn_cache = cache
        backward = batchnorm_train_backward if batch_stats else batchnorm_inference_backward
        dx, dgamma, dbeta = backward(dy, bn_cache)
        grads = {}
        if self.scale:
            grads["gamma"] = dgamma
        if self.center:
            grads["beta"] = dbeta
        return dx, grads
