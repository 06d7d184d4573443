"""Conv2D and Conv2DTranspose: oracle, adjoint, gradient checks and Keras parity.

Configurations cover N > 1, C > 1, H != W, kh != kw, strides 2 and 3 on sizes
they do not divide, dilation 2 and 3, 'valid' and 'same' (with the odd extra
padding row at the bottom/right), output_padding, and strides together with
dilation (refused by Keras, checked here against the direct-loop oracle).
"""
import numpy as np
import pytest

from keras_helpers import assert_parity
from minicnn import layers
from minicnn.functional.conv import (conv2d, conv2d_forward, conv2d_input_grad,
                                     conv2d_transpose_forward, conv_geometry,
                                     transpose_geometry)
from minicnn.functional.im2col import col2im, im2col
from minicnn.functional.reference import conv2d_direct, conv2d_transpose_direct
from minicnn.gradcheck import check_layer, rel_error

# (N, H, W, C_in, filters, kernel, strides, padding, dilation)
CONV_CASES = [
    (2, 7, 9, 3, 4, (3, 3), (1, 1), "valid", (1, 1)),
    (2, 7, 9, 3, 4, (3, 3), (1, 1), "same", (1, 1)),
    (2, 8, 6, 2, 3, (2, 3), (1, 1), "same", (1, 1)),     # even kh: odd pad at bottom
    (2, 10, 7, 2, 3, (3, 3), (3, 3), "same", (1, 1)),    # stride 3 divides neither
    (1, 9, 11, 3, 2, (3, 2), (2, 2), "valid", (1, 1)),
    (2, 10, 9, 3, 2, (4, 4), (2, 2), "same", (1, 1)),    # asymmetric 'same' padding
    (2, 6, 7, 2, 3, (3, 3), (2, 3), "same", (1, 1)),     # different strides per axis
    (2, 9, 8, 2, 3, (3, 3), (1, 1), "same", (2, 2)),     # dilation 2
    (2, 11, 10, 2, 2, (3, 2), (1, 1), "valid", (3, 3)),  # dilation 3
    (3, 5, 4, 3, 2, (1, 1), (1, 1), "valid", (1, 1)),    # 1x1, as the course's last layer
]
# Keras refuses strides > 1 with dilation > 1; minicnn supports it.
STRIDED_DILATED_CASES = [
    (2, 9, 10, 2, 3, (3, 3), (2, 2), "same", (2, 2)),
    (1, 11, 9, 2, 2, (2, 3), (3, 2), "valid", (2, 3)),
]

# (N, H, W, C_in, filters, kernel, strides, padding, dilation, output_padding)
TRANSPOSE_CASES = [
    (2, 4, 5, 3, 2, (2, 2), (2, 2), "same", (1, 1), None),   # U-Net upsampling
    (2, 4, 5, 3, 2, (3, 3), (2, 2), "same", (1, 1), None),
    (2, 4, 3, 2, 3, (3, 2), (2, 2), "valid", (1, 1), None),
    (1, 3, 4, 2, 2, (3, 3), (3, 3), "valid", (1, 1), None),
    (1, 3, 4, 2, 2, (2, 2), (3, 3), "valid", (1, 1), None),  # kernel < stride: gaps
    (2, 4, 5, 2, 3, (3, 3), (2, 2), "same", (1, 1), (1, 1)),
    (2, 4, 5, 2, 3, (3, 3), (2, 2), "valid", (1, 1), (1, 0)),
    (1, 4, 4, 2, 2, (2, 3), (3, 2), "same", (1, 1), (2, 1)),
    (2, 5, 4, 2, 2, (3, 3), (1, 1), "same", (2, 2), None),    # dilation 2
    (2, 4, 6, 2, 3, (3, 2), (1, 1), "valid", (3, 2), None),   # dilation 3
]
# TensorFlow's CPU kernel refuses dilated transpose convolutions, so those are
# checked against the direct scatter oracle and finite differences only.
KERAS_TRANSPOSE_CASES = [case for case in TRANSPOSE_CASES if case[8] == (1, 1)]
STRIDED_DILATED_TRANSPOSE_CASES = [
    (2, 4, 5, 2, 3, (3, 3), (2, 2), "same", (2, 2), None),
    (1, 3, 4, 2, 2, (2, 3), (2, 3), "valid", (2, 2), None),
]


def _conv_layer(case, **kwargs):
    _, _, _, _, filters, kernel, strides, padding, dilation = case
    return layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                         dilation_rate=dilation, dtype="float64", **kwargs)


def _transpose_layer(case, **kwargs):
    _, _, _, _, filters, kernel, strides, padding, dilation, op = case
    return layers.Conv2DTranspose(filters, kernel, strides=strides, padding=padding,
                                  output_padding=op, dilation_rate=dilation,
                                  dtype="float64", **kwargs)


def _input(case, seed=1):
    n, h, w, c = case[:4]
    return np.random.default_rng(seed).standard_normal((n, h, w, c))


def _random_weights(layer, seed=2):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])


# ----------------------------------------------------------------- oracles
@pytest.mark.parametrize("case", CONV_CASES + STRIDED_DILATED_CASES)
def test_conv2d_matches_direct_loops(case):
    layer = _conv_layer(case)
    x = _input(case)
    layer.build((None,) + x.shape[1:])
    _random_weights(layer)
    kernel, bias = layer.get_weights()
    expected = conv2d_direct(x, kernel, bias, layer.strides, layer.padding,
                             layer.dilation_rate)
    assert rel_error(layer(x), expected) < 1e-13


@pytest.mark.parametrize("case", TRANSPOSE_CASES + STRIDED_DILATED_TRANSPOSE_CASES)
def test_conv2d_transpose_matches_direct_scatter(case):
    layer = _transpose_layer(case)
    x = _input(case)
    layer.build((None,) + x.shape[1:])
    _random_weights(layer)
    kernel, bias = layer.get_weights()
    expected = conv2d_transpose_direct(x, kernel, bias, layer.strides, layer.padding,
                                       layer.dilation_rate, layer.output_padding)
    assert rel_error(layer(x), expected) < 1e-13


# ------------------------------------------------------------------ adjoints
@pytest.mark.parametrize("case", CONV_CASES + STRIDED_DILATED_CASES)
def test_transpose_is_the_adjoint_of_convolution(case):
    """<A x, y> = <x, A^T y> for A = conv2d and A^T = conv2d_input_grad."""
    n, h, w, c, f, kernel_hw, strides, padding, dilation = case
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((*kernel_hw, c, f))
    geom = conv_geometry((h, w), kernel_hw, strides, dilation, padding)
    x = rng.standard_normal((n, h, w, c))
    y = rng.standard_normal((n, *geom.out_hw, f))
    lhs = np.sum(conv2d(x, kernel, geom) * y)
    rhs = np.sum(x * conv2d_input_grad(y, kernel, geom))
    assert abs(lhs - rhs) < 1e-12 * max(1.0, abs(lhs))


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(4)
    xp = rng.standard_normal((2, 9, 8, 3))
    args = ((3, 2), (2, 3), (2, 1), (3, 2))   # kernel, strides, dilation, out
    cols = rng.standard_normal(im2col(xp, *args).shape)
    lhs = np.sum(im2col(xp, *args) * cols)
    rhs = np.sum(xp * col2im(cols, xp.shape, *args))
    assert abs(lhs - rhs) < 1e-12 * abs(lhs)


# ------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("case", CONV_CASES + STRIDED_DILATED_CASES)
def test_conv2d_gradients(case, backend):
    layer = _conv_layer(case, bias_initializer="he_normal")
    errors = check_layer(layer, _input(case))
    assert max(errors.values()) < 1e-7, errors
    assert set(errors) == {"input", "kernel", "bias"}


@pytest.mark.parametrize("case", TRANSPOSE_CASES + STRIDED_DILATED_TRANSPOSE_CASES)
def test_conv2d_transpose_gradients(case, backend):
    layer = _transpose_layer(case, bias_initializer="he_normal")
    errors = check_layer(layer, _input(case))
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax"])
def test_conv2d_with_activation_gradients(activation, backend):
    case = CONV_CASES[2]
    layer = _conv_layer(case, activation=activation)
    errors = check_layer(layer, _input(case, seed=7))
    assert max(errors.values()) < 1e-7, errors


def test_conv2d_without_bias_has_only_a_kernel():
    layer = layers.Conv2D(3, 3, use_bias=False, dtype="float64")
    errors = check_layer(layer, _input(CONV_CASES[0]))
    assert set(errors) == {"input", "kernel"} and max(errors.values()) < 1e-7
    assert layer.count_params() == 3 * 3 * 3 * 3


# -------------------------------------------------------------- Keras parity
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv2d_keras_parity(case, activation, backend, keras):
    layer = _conv_layer(case, activation=activation)
    x = _input(case)
    layer.build((None,) + x.shape[1:])
    _random_weights(layer)
    _, _, _, _, filters, kernel, strides, padding, dilation = case
    ref = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                              dilation_rate=dilation, activation=activation,
                              dtype="float64")
    ref.build((None,) + x.shape[1:])
    ref.set_weights(layer.get_weights())
    assert_parity(layer, ref, x)
    assert ref.compute_output_shape((None,) + x.shape[1:]) == \
        layer.compute_output_shape((None,) + x.shape[1:])


@pytest.mark.parametrize("case", KERAS_TRANSPOSE_CASES)
def test_conv2d_transpose_keras_parity(case, backend, keras):
    layer = _transpose_layer(case)
    x = _input(case)
    layer.build((None,) + x.shape[1:])
    _random_weights(layer)
    _, _, _, _, filters, kernel, strides, padding, dilation, op = case
    ref = keras.layers.Conv2DTranspose(filters, kernel, strides=strides,
                                       padding=padding, output_padding=op,
                                       dilation_rate=dilation, dtype="float64")
    ref.build((None,) + x.shape[1:])
    ref.set_weights(layer.get_weights())
    assert_parity(layer, ref, x)
    assert tuple(ref.compute_output_shape((None,) + x.shape[1:])) == \
        layer.compute_output_shape((None,) + x.shape[1:])


# ----------------------------------------------------- course numbers, sizes
def test_course_parameter_counts():
    """The slides' formula: N_kernels * kh * kw * channels + N_kernels."""
    counts = []
    for c_in, filters, k in [(1, 3, 3), (3, 3, 1), (3, 3, 3), (1, 16, 3),
                             (16, 16, 3), (16, 3, 1)]:
        layer = layers.Conv2D(filters, k, padding="same")
        layer.build((None, 110, 92, c_in))
        counts.append(layer.count_params())
    assert counts == [30, 12, 84, 160, 2320, 51]


@pytest.mark.parametrize("padding, strides, expected", [
    ("same", 1, (110, 92)), ("valid", 1, (108, 90)),
    ("same", 2, (55, 46)), ("valid", 2, (54, 45)), ("same", 3, (37, 31)),
])
def test_course_slice_output_sizes(padding, strides, expected):
    layer = layers.Conv2D(3, 3, strides=strides, padding=padding)
    assert layer.compute_output_shape((None, 110, 92, 1)) == (None, *expected, 3)
    assert layer(np.zeros((1, 110, 92, 1))).shape == (1, *expected, 3)


def test_same_padding_puts_the_odd_row_at_the_bottom():
    """A 2x2 'same' kernel on a 3x3 image pads one row below, none above."""
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    kernel = np.ones((2, 2, 1, 1))
    y, _ = conv2d_forward(x, kernel, None,
                          conv_geometry((3, 3), (2, 2), (1, 1), (1, 1), "same"))
    assert y[0, :, :, 0].tolist() == [[8, 12, 7], [20, 24, 13], [13, 15, 8]]


@pytest.mark.parametrize("row, expected", [
    # n = 7: out = ceil(7 / 2) = 4; total pad = (4 - 1) * 2 + 3 - 7 = 2 -> (1, 1)
    #   windows [0 1 2], [2 3 4], [4 5 6], [6 7 0] -> 3, 9, 15, 13
    (np.arange(1.0, 8.0), [3.0, 9.0, 15.0, 13.0]),
    # n = 6: out = 3; total pad = (3 - 1) * 2 + 3 - 6 = 1 -> (0, 1): none before
    #   windows [1 2 3], [3 4 5], [5 6 0] -> 6, 12, 11
    (np.arange(1.0, 7.0), [6.0, 12.0, 11.0]),
])
def test_same_padding_with_stride_2_worked_by_hand(row, expected, backend):
    """'same' with stride > 1 pads for ceil(n / s) outputs, the odd pixel after:
    a 1x3 kernel of ones, stride 2, on one row. (Padding as for stride 1,
    one pixel each side, would give 3, 9, 15 for n = 6.)"""
    layer = layers.Conv2D(1, (1, 3), strides=2, padding="same", use_bias=False,
                          dtype="float64")
    layer.build((None, 1, row.size, 1))
    layer.set_weights([np.ones((1, 3, 1, 1))])
    assert layer(row.reshape(1, 1, -1, 1)).ravel().tolist() == expected


# The full scatter of x = [[1, 2], [3, 4]] with the 3x3 kernel 1..9, strides 2:
# every x[i, j] adds x[i, j] * kernel at rows 2i..2i+2, columns 2j..2j+2.
TRANSPOSE_X = np.array([[1.0, 2.0], [3.0, 4.0]])
TRANSPOSE_KERNEL = np.arange(1.0, 10.0).reshape(3, 3)
FULL_SCATTER = np.array([[1, 2, 5, 4, 6],
                         [4, 5, 14, 10, 12],
                         [10, 14, 36, 24, 30],
                         [12, 15, 34, 20, 24],
                         [21, 24, 55, 32, 36]], dtype=float)


def test_transpose_full_scatter_worked_by_hand():
    """'valid', no output_padding: the whole 5x5 scatter, checked by a loop.
    E.g. the centre 36 = 1*9 + 2*7 + 3*3 + 4*1: each input's kernel corner."""
    canvas = np.zeros((5, 5))
    for i in range(2):
        for j in range(2):
            canvas[2 * i:2 * i + 3, 2 * j:2 * j + 3] += TRANSPOSE_X[i, j] * TRANSPOSE_KERNEL
    assert np.array_equal(canvas, FULL_SCATTER)


@pytest.mark.parametrize("padding, output_padding, rows", [
    # Keep the window that a convolution of the output size back to 2x2 pads
    # away (TensorFlow's rule); the odd pixel of 'same' padding is at the end:
    ("valid", None, slice(0, 5)),  # 5 = 2 * 2 + (3 - 2): nothing cropped
    ("same", None, slice(0, 4)),   # 4 = 2 * 2: pad (0, 1) -> rows 0..3
    ("same", 1, slice(0, 4)),      # 4 = (2 - 1) * 2 + 3 - 2 * 1 + 1: the same
    ("same", 0, slice(1, 4)),      # 3 = (2 - 1) * 2 + 3 - 2 * 1 + 0: pad (1, 1) -> rows 1..3
])
def test_transpose_keeps_the_window_worked_by_hand(padding, output_padding, rows, backend):
    layer = layers.Conv2DTranspose(1, 3, strides=2, padding=padding,
                                   output_padding=output_padding, use_bias=False,
                                   dtype="float64")
    layer.build((None, 2, 2, 1))
    layer.set_weights([TRANSPOSE_KERNEL.reshape(3, 3, 1, 1)])
    y = layer(TRANSPOSE_X.reshape(1, 2, 2, 1))[0, :, :, 0]
    assert np.array_equal(y, FULL_SCATTER[rows, rows])


def test_transpose_valid_output_padding_appends_zeros(backend):
    """'valid' with output_padding 1: (2 - 1) * 2 + 3 + 1 = 6, the 5x5 scatter
    followed by a row and a column of zeros (no input reaches them)."""
    layer = layers.Conv2DTranspose(1, 3, strides=2, padding="valid", output_padding=1,
                                   use_bias=False, dtype="float64")
    layer.build((None, 2, 2, 1))
    layer.set_weights([TRANSPOSE_KERNEL.reshape(3, 3, 1, 1)])
    expected = np.zeros((6, 6))
    expected[:5, :5] = FULL_SCATTER
    assert np.array_equal(layer(TRANSPOSE_X.reshape(1, 2, 2, 1))[0, :, :, 0], expected)


def test_transpose_output_sizes_follow_keras():
    for args, expected in [((8, 2, 2, "same", None), 16), ((8, 3, 2, "valid", None), 17),
                           ((8, 2, 3, "valid", None), 24), ((8, 3, 2, "same", 1), 16),
                           ((8, 3, 2, "same", 0), 15)]:
        n, k, s, padding, op = args
        layer = layers.Conv2DTranspose(1, k, strides=s, padding=padding,
                                       output_padding=None if op is None else op)
        assert layer.compute_output_shape((None, n, n, 1))[1] == expected


# ----------------------------------------------------------------- contracts
def test_default_dtype_is_float32_and_input_is_cast():
    layer = layers.Conv2D(2, 3)
    y = layer(np.ones((1, 5, 5, 1)))
    assert y.dtype == np.float32 and layer.params["kernel"].dtype == np.float32


def test_backward_overwrites_grads_and_leaves_dy_alone():
    layer = layers.Conv2D(2, 3, dtype="float64")
    x = _input(CONV_CASES[0])
    dy = np.random.default_rng(5).standard_normal(layer(x).shape)
    dy_copy = dy.copy()
    layer.backward(dy)
    first = {k: v.copy() for k, v in layer.grads.items()}
    layer.backward(dy)
    assert np.array_equal(dy, dy_copy)
    for k in first:
        assert np.array_equal(layer.grads[k], first[k])   # not doubled


def test_backward_does_not_update_weights():
    layer = layers.Conv2D(2, 3, dtype="float64")
    x = _input(CONV_CASES[0])
    before = layer(x) is not None and [w.copy() for w in layer.get_weights()]
    layer.backward(np.ones(layer(x).shape))
    for a, b in zip(before, layer.get_weights()):
        assert np.array_equal(a, b)


def test_seeded_initializer_is_reproducible():
    from minicnn import initializers
    a = layers.Conv2D(4, 3, kernel_initializer=initializers.GlorotUniform(seed=3))
    b = layers.Conv2D(4, 3, kernel_initializer=initializers.GlorotUniform(seed=3))
    a.build((None, 8, 8, 2))
    b.build((None, 8, 8, 2))
    assert np.array_equal(a.params["kernel"], b.params["kernel"])
    limit = np.sqrt(6 / (9 * 2 + 9 * 4))
    assert np.abs(a.params["kernel"]).max() <= limit


def test_transpose_forward_is_conv_input_gradient():
    """Conv2DTranspose(x) with kernel K equals the input-gradient of Conv2D with K."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 5, 3))
    kernel = rng.standard_normal((3, 3, 2, 3))      # transpose layout (kh, kw, out, in)
    geom = transpose_geometry((4, 5), (3, 3), (2, 2), (1, 1), "same", None)
    y, _ = conv2d_transpose_forward(x, kernel, None, geom)
    assert np.array_equal(y, conv2d_input_grad(x, kernel, geom))


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, argument", [
    (dict(filters=0, kernel_size=3), "filters"),
    (dict(filters=-2, kernel_size=3), "filters"),
    (dict(filters=2.5, kernel_size=3), "filters"),
    (dict(filters=2, kernel_size=0), "kernel_size"),
    (dict(filters=2, kernel_size=(3, 3, 3)), "kernel_size"),
    (dict(filters=2, kernel_size=3, strides=0), "strides"),
    (dict(filters=2, kernel_size=3, strides=-1), "strides"),
    (dict(filters=2, kernel_size=3, padding="foo"), "padding"),
    (dict(filters=2, kernel_size=3, dilation_rate=0), "dilation_rate"),
    (dict(filters=2, kernel_size=3, activation="swishy"), "activation"),
])
def test_bad_arguments_name_the_argument(kwargs, argument):
    for cls in (layers.Conv2D, layers.Conv2DTranspose):
        with pytest.raises((ValueError, TypeError)) as info:
            cls(**kwargs)
        assert argument in str(info.value)


def test_bad_output_padding():
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=1, output_padding=(0, 1))


def test_kernel_larger_than_valid_input_is_refused():
    layer = layers.Conv2D(2, 5, padding="valid", dilation_rate=2)
    with pytest.raises(ValueError, match=r"kernel_size \(5, 5\).*\(9, 9\).*\(7, 8\)"):
        layer(np.zeros((1, 7, 8, 1)))


def test_wrong_rank_and_changed_channels_are_refused():
    layer = layers.Conv2D(2, 3)
    with pytest.raises(ValueError, match="rank-4 NHWC"):
        layer(np.zeros((5, 5, 1)))
    layer(np.zeros((1, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"axis 3 must be 1"):
        layer(np.zeros((1, 5, 5, 2)))


def test_backward_before_forward_and_wrong_dy_shape():
    layer = layers.Conv2D(2, 3)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.zeros((1, 3, 3, 2)))
    layer(np.zeros((1, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"dy must have the shape.*\(1, 3, 3, 2\)"):
        layer.backward(np.zeros((1, 3, 3, 3)))


def test_set_weights_checks_count_and_shapes():
    layer = layers.Conv2D(2, 3)
    layer.build((None, 5, 5, 1))
    with pytest.raises(ValueError, match="expects 2 arrays"):
        layer.set_weights([np.zeros((3, 3, 1, 2))])
    with pytest.raises(ValueError, match=r"'kernel' must have shape \(3, 3, 1, 2\)"):
        layer.set_weights([np.zeros((3, 3, 2, 1)), np.zeros(2)])


def test_non_numeric_input_is_refused():
    with pytest.raises(TypeError, match="inputs"):
        layers.Conv2D(2, 3)(np.array([["a"]]))
