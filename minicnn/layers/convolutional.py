"""Conv2D and Conv2DTranspose layers (Keras names, arguments and defaults).

The math lives in ``minicnn.functional.conv``; these classes hold the kernel
and bias, validate arguments, and apply the optional activation after the
convolution:

    z = conv(x, kernel) + bias        y = activation(z)
    backward:  dz = activation_backward(dy),  then the convolution's backward

Weights (Keras layouts, so they load into Keras without transposes):
    Conv2D            kernel (kh, kw, C_in, filters),  bias (filters,)
    Conv2DTranspose   kernel (kh, kw, filters, C_in),  bias (filters,)

Parameter count of a Conv2D: kh * kw * C_in * filters + filters; e.g. the
course's 3x3 layer with 3 filters on 3 channels has 3*3*3*3 + 3 = 84.

Keras refuses strides > 1 together with dilation_rate > 1. minicnn computes
that case (as PyTorch does); the tests check it against a direct-loop oracle.
"""
from abc import abstractmethod

from .. import _validate
from ..functional.activations import get_activation
from ..functional.conv import (conv2d_backward, conv2d_forward,
                               conv2d_transpose_backward,
                               conv2d_transpose_forward, conv_geometry,
                               transpose_geometry)
from ..functional.im2col import PADDING_MODES
from .base import Layer


class _BaseConv(Layer):
    """Arguments, weights and activation shared by Conv2D and Conv2DTranspose."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self.filters = _validate.positive_int(filters, "filters")
        self.kernel_size = _validate.int_tuple(kernel_size, 2, "kernel_size")
        self.strides = _validate.int_tuple(strides, 2, "strides")
        self.padding = _validate.one_of(padding, PADDING_MODES, "padding")
        self.dilation_rate = _validate.int_tuple(dilation_rate, 2, "dilation_rate")
        self.activation = activation
        self._act_forward, self._act_backward = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    @abstractmethod
    def _kernel_shape(self, in_channels):
        """The kernel's shape in this layer's Keras layout."""

    @abstractmethod
    def _geometry(self, in_hw):
        """ConvGeometry whose out_hw is this layer's output (height, width)."""

    @abstractmethod
    def _conv_forward(self, x, kernel, bias):
        """(z, cache) of the convolution before the activation."""

    @abstractmethod
    def _conv_backward(self, dz, cache):
        """(dx, dkernel, dbias) from the convolution's cache."""

    def build(self, input_shape):
        in_channels = input_shape[-1]
        self.add_weight("kernel", self._kernel_shape(in_channels),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        super().build(input_shape)

    def _forward(self, x, training):
        bias = self.params.get("bias")
        z, conv_cache = self._conv_forward(x, self.params["kernel"], bias)
        y, act_cache = self._act_forward(z)
        return y, (conv_cache, act_cache)

    def _backward(self, dy, cache):
        conv_cache, act_cache = cache
        dz = self._act_backward(dy, act_cache)
        dx, dkernel, dbias = self._conv_backward(dz, conv_cache)
        grads = {"kernel": dkernel}
        if self.use_bias:
            grads["bias"] = dbias
        return dx, grads

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        out_hw = self._geometry((h, w)).out_hw if h is not None and w is not None \
            else (None, None)
        return (n, *out_hw, self.filters)


class Conv2D(_BaseConv):
    """2D convolution: (N, H, W, C_in) -> (N, OH, OW, filters).

    OH = ceil(H / s) for 'same', floor((H - k_eff) / s) + 1 for 'valid',
    with k_eff = (k - 1) * dilation + 1 (likewise for W).
    """

    def _kernel_shape(self, in_channels):
        return (*self.kernel_size, in_channels, self.filters)

    def _geometry(self, in_hw):
        return conv_geometry(in_hw, self.kernel_size, self.strides,
                             self.dilation_rate, self.padding)

    def build(self, input_shape):
        if None not in input_shape[1:3]:
            self._geometry(input_shape[1:3])   # refuse a too-small 'valid' input now
        super().build(input_shape)

    def _conv_forward(self, x, kernel, bias):
        return conv2d_forward(x, kernel, bias, self.strides, self.padding,
                              self.dilation_rate)

    def _conv_backward(self, dz, cache):
        return conv2d_backward(dz, cache)


class Conv2DTranspose(_BaseConv):
    """Transpose convolution: (N, H, W, C_in) -> (N, OH, OW, filters).

    OH = H * s ('same') or H * s + max(k_eff - s, 0) ('valid'); with
    output_padding op, OH = (H - 1) * s + k_eff - 2 * pad + op where pad is
    k_eff // 2 for 'same' and 0 for 'valid'. output_padding must be < strides.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 output_padding=None, dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name=None, dtype=None, trainable=True):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, name=name,
                         dtype=dtype, trainable=trainable)
        if output_padding is not None:
            output_padding = _validate.int_tuple(output_padding, 2, "output_padding",
                                                 minimum=0)
            for op, s in zip(output_padding, self.strides):
                if op >= s:
                    raise ValueError(
                        f"output_padding must be smaller than strides "
                        f"{self.strides}, got {output_padding}")
        self.output_padding = output_padding

    def _kernel_shape(self, in_channels):
        return (*self.kernel_size, self.filters, in_channels)

    def _geometry(self, in_hw):
        geom = transpose_geometry(in_hw, self.kernel_size, self.strides,
                                  self.dilation_rate, self.padding,
                                  self.output_padding)
        # The transpose's output is the input side of the convolution A.
        return geom._replace(out_hw=geom.in_hw)

    def _conv_forward(self, x, kernel, bias):
        return conv2d_transpose_forward(x, kernel, bias, self.strides, self.padding,
                                        self.dilation_rate, self.output_padding)

    def _conv_backward(self, dz, cache):
        return conv2d_transpose_backward(dz, cache)
