"""Conv2D and Conv2DTranspose layers (Keras names, arguments and defaults).

The math lives in ``minicnn.functional.conv``; these classes hold the kernel
and bias, validate arguments, and apply the optional activation after the
convolution (each through the backend table, ``minicnn.backend``):

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
from typing import NamedTuple

from .. import _validate, backend
from ..functional.activations import PROBABILITY_ACTIVATIONS, activation_name
from ..functional.conv import conv_geometry, transpose_geometry
from ..functional.im2col import PADDING_MODES
from .base import Layer


class ConvLayerCache(NamedTuple):
    """A convolutional layer's cache: the convolution's run, then the
    activation's. With activation='relu' a Conv2D runs the fused
    ``conv2d_relu`` operation: `conv` is that run and `activation` None."""
    conv: backend.Kept
    activation: backend.Kept | None
    logits: backend.Logits | None     # for a softmax or sigmoid output


class _BaseConv(Layer):
    """Arguments, weights and activation shared by Conv2D and Conv2DTranspose."""

    operation = None       # the backend table's name of the convolution

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
        self._activation = activation_name(activation)   # refuses an unknown name
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    @abstractmethod
    def _kernel_shape(self, in_channels):
        """The kernel's shape in this layer's Keras layout."""

    @abstractmethod
    def _geometry(self, in_hw):
        """The ConvGeometry the kernels take, for an input of (height, width)."""

    @abstractmethod
    def _output_hw(self, in_hw):
        """This layer's output (height, width) for an input (height, width)."""

    def build(self, input_shape):
        in_channels = input_shape[-1]
        self.add_weight("kernel", self._kernel_shape(in_channels),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        super().build(input_shape)

    def _forward(self, x, training):
        args = (x, self.params["kernel"], self.params.get("bias"), self._geometry(x.shape[1:3]))
        if self.operation == "conv2d" and self._activation == "relu":
            # One operation, so that a compiled kernel can apply the ReLU as it
            # writes each output (see functional.conv.conv2d_relu_forward).
            y, kept = backend.run_forward("conv2d_relu", *args)
            return y, ConvLayerCache(kept, None, None)
        z, conv_kept = backend.run_forward(self.operation, *args)
        y, activation_kept = backend.activation_forward(self._activation, z)
        logits = (backend.Logits(self._activation, z, y, activation_kept)
                  if self._activation in PROBABILITY_ACTIVATIONS else None)
        return y, ConvLayerCache(conv_kept, activation_kept, logits)

    def _backward(self, dy, cache):
        if cache.activation is None:                      # the fused convolution + ReLU
            return self._gradients(*backend.run_backward(dy, cache.conv))
        return self._backward_from_logits(backend.run_backward(dy, cache.activation), cache)

    def output_logits(self):
        return None if self._cache is None else self._cache.logits

    def _backward_from_logits(self, dz, cache):
        """The convolution's backward from dz = dL/dz, z = conv(x) + bias."""
        return self._gradients(*backend.run_backward(dz, cache.conv))

    def _gradients(self, dx, dkernel, dbias):
        grads = {"kernel": dkernel}
        if self.use_bias:
            grads["bias"] = dbias
        return dx, grads

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        out_hw = self._output_hw((h, w)) if h is not None and w is not None \
            else (None, None)
        return (n, *out_hw, self.filters)


class Conv2D(_BaseConv):
    """2D convolution: (N, H, W, C_in) -> (N, OH, OW, filters).

    OH and OW follow Keras (``minicnn.functional.im2col`` has the equations).
    """

    operation = "conv2d"

    def _kernel_shape(self, in_channels):
        return (*self.kernel_size, in_channels, self.filters)

    def _geometry(self, in_hw):
        return conv_geometry(in_hw, self.kernel_size, self.strides,
                             self.dilation_rate, self.padding)

    def _output_hw(self, in_hw):
        return self._geometry(in_hw).out_hw

    def build(self, input_shape):
        if None not in input_shape[1:3]:
            self._geometry(input_shape[1:3])   # refuse a too-small 'valid' input now
        super().build(input_shape)



class Conv2DTranspose(_BaseConv):
    """Transpose convolution: (N, H, W, C_in) -> (N, OH, OW, filters).

    OH and OW follow Keras (``minicnn.functional.conv`` has the equations);
    output_padding must be smaller than strides.
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

    operation = "conv2d_transpose"

    def _kernel_shape(self, in_channels):
        return (*self.kernel_size, self.filters, in_channels)

    def _geometry(self, in_hw):
        """The geometry of the convolution A whose adjoint this layer computes."""
        return transpose_geometry(in_hw, self.kernel_size, self.strides,
                                  self.dilation_rate, self.padding, self.output_padding)

    def _output_hw(self, in_hw):
        return self._geometry(in_hw).in_hw       # A's input side is our output
