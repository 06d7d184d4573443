"""UpSampling2D: direct-loop oracles, adjoints, gradient checks, Keras parity, errors.

Sizes (2, 2) (the U-Net's), (2, 3) and (3, 1), on inputs with N > 1, C > 1,
H != W and odd sizes, for 'nearest' and 'bilinear'.

Keras's bilinear upsampling (TensorFlow's ResizeBilinear) computes in
float32 even for float64 layers: its output is exactly float32-representable.
Parity with it is therefore checked at float32 precision (1e-6), and the
float64 exactness of minicnn's bilinear map is checked instead against a
direct-loop oracle and hand-computed interpolation weights (1e-12).
"""
import math

import numpy as np
import pytest

from keras_helpers import assert_parity
from minicnn import layers
from minicnn.functional.upsampling import (bilinear_matrix,
                                           upsample_bilinear2d_backward,
                                           upsample_bilinear2d_forward,
                                           upsample_nearest2d_backward,
                                           upsample_nearest2d_forward)
from minicnn.gradcheck import check_layer, rel_error

SHAPES = [(2, 5, 4, 3), (2, 3, 7, 2)]
SIZES = [(2, 2), (2, 3), (3, 1)]
INTERPOLATIONS = ["nearest", "bilinear"]
KERAS_TOL = {"nearest": 1e-10, "bilinear": 1e-6}


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _nearest_direct(x, size):
    n, h, w, c = x.shape
    y = np.empty((n, h * size[0], w * size[1], c))
    for oy in range(h * size[0]):
        for ox in range(w * size[1]):
            y[:, oy, ox, :] = x[:, oy // size[0], ox // size[1], :]
    return y


def _bilinear_direct(x, size):
    """Per output pixel: half-pixel source point, its 4 neighbours, TF's clamping."""
    n, h, w, c = x.shape
    y = np.empty((n, h * size[0], w * size[1], c))

    def neighbours(o, s, length):
        src = (o + 0.5) / s - 0.5
        lo = math.floor(src)
        frac = src - lo
        return max(lo, 0), min(lo + 1, length - 1), frac

    for oy in range(h * size[0]):
        top, bottom, fy = neighbours(oy, size[0], h)
        for ox in range(w * size[1]):
            left, right, fx = neighbours(ox, size[1], w)
            upper = x[:, top, left, :] * (1 - fx) + x[:, top, right, :] * fx
            lower = x[:, bottom, left, :] * (1 - fx) + x[:, bottom, right, :] * fx
            y[:, oy, ox, :] = upper * (1 - fy) + lower * fy
    return y


KERNELS = {
    "nearest": (upsample_nearest2d_forward, upsample_nearest2d_backward, _nearest_direct),
    "bilinear": (upsample_bilinear2d_forward, upsample_bilinear2d_backward,
                 _bilinear_direct),
}


# ------------------------------------------------------------------- oracles
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_matches_direct_loops_and_backward_is_adjoint(shape, size, interpolation):
    forward, backward, direct = KERNELS[interpolation]
    x = _input(shape)
    y, cache = forward(x, size)
    assert rel_error(y, direct(x, size)) < 1e-12
    # <forward(x), g> == <x, backward(g)> for the adjoint.
    g = _input(y.shape, seed=1)
    dx = backward(g, cache)
    assert dx.shape == x.shape
    assert abs(np.sum(y * g) - np.sum(x * dx)) < 1e-10 * np.sum(np.abs(y * g))


def test_bilinear_matrix_by_hand():
    expected = np.array([[1, 0, 0], [0.75, 0.25, 0], [0.25, 0.75, 0],
                         [0, 0.75, 0.25], [0, 0.25, 0.75], [0, 0, 1]])
    assert np.array_equal(bilinear_matrix(3, 2), expected)
    third = 1 / 3   # factor 3: output pixels at -1/3, 0, 1/3, 2/3, 1, 4/3
    expected3 = np.array([[1, 0], [1, 0], [1 - third, third],
                          [third, 1 - third], [0, 1], [0, 1]])
    assert rel_error(bilinear_matrix(2, 3), expected3) < 1e-15
    assert np.array_equal(bilinear_matrix(4, 1), np.eye(4))
    assert np.array_equal(bilinear_matrix(1, 3), np.ones((3, 1)))


def test_nearest_backward_sums_blocks():
    dy = np.arange(24.0).reshape(1, 4, 6, 1)
    dx = upsample_nearest2d_backward(dy, (2, 3))
    assert np.array_equal(dx[0, :, :, 0], [[0 + 1 + 2 + 6 + 7 + 8, 3 + 4 + 5 + 9 + 10 + 11],
                                           [12 + 13 + 14 + 18 + 19 + 20,
                                            15 + 16 + 17 + 21 + 22 + 23]])


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_float32_and_dy_untouched(interpolation):
    layer = layers.UpSampling2D((2, 3), interpolation=interpolation, dtype="float32")
    y = layer.forward(_input(SHAPES[0]))
    assert y.dtype == np.float32
    dy = _input(y.shape, seed=1).astype(np.float32)
    before = dy.copy()
    dx = layer.backward(dy)
    assert np.array_equal(dy, before)
    assert dx.dtype == np.float32 and layer.grads == {}


# ------------------------------------------------------------- gradient check
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_check(shape, size, interpolation, backend):
    layer = layers.UpSampling2D(size, interpolation=interpolation, dtype="float64")
    errors = check_layer(layer, _input(shape))
    assert errors["input"] < 1e-7, errors


# ---------------------------------------------------------------- Keras parity
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", SHAPES)
def test_keras_parity(shape, size, interpolation, backend, keras):
    layer = layers.UpSampling2D(size, interpolation=interpolation, dtype="float64")
    keras_layer = keras.layers.UpSampling2D(size, interpolation=interpolation,
                                            dtype="float64")
    keras_layer.build((None, *shape[1:]))
    assert_parity(layer, keras_layer, _input(shape), tol=KERAS_TOL[interpolation])
    assert layer.compute_output_shape((None, *shape[1:])) == \
        tuple(keras_layer.compute_output_shape((None, *shape[1:])))


def test_bilinear_parity_tolerance_still_discriminates(keras):
    """Align-corners weights (another common 'bilinear') miss Keras by far more
    than the 1e-6 tolerance, so that tolerance would catch a wrong convention."""
    x = _input(SHAPES[0])
    expected = keras.layers.UpSampling2D((2, 2), interpolation="bilinear",
                                         dtype="float64")(x).numpy()

    def align_corners(n, s):
        src = np.arange(n * s) * (n - 1) / (n * s - 1)
        lo = np.minimum(np.floor(src).astype(int), n - 2)
        m = np.zeros((n * s, n))
        m[np.arange(n * s), lo] = 1 - (src - lo)
        m[np.arange(n * s), lo + 1] = src - lo
        return m

    a_h, a_w = align_corners(5, 2), align_corners(4, 2)
    wrong = np.einsum("oh,nhwc,pw->nopc", a_h, x, a_w)
    assert rel_error(wrong, expected) > 1e-3
    assert rel_error(upsample_bilinear2d_forward(x, (2, 2))[0], expected) < 1e-6


def test_output_shape_with_unknown_sizes_and_defaults():
    layer = layers.UpSampling2D()
    assert (layer.size, layer.interpolation) == ((2, 2), "nearest")
    assert layer.compute_output_shape((None, None, 7, 3)) == (None, None, 14, 3)
    assert layers.UpSampling2D(interpolation="Bilinear").interpolation == "bilinear"


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, error, argument", [
    ({"size": 0}, ValueError, "size"),
    ({"size": (2, 0)}, ValueError, "size"),
    ({"size": (2, -1)}, ValueError, "size"),
    ({"size": (2, 2, 2)}, ValueError, "size"),
    ({"size": 1.5}, TypeError, "size"),
    ({"interpolation": "cubic"}, ValueError, "interpolation"),
])
def test_bad_arguments_name_the_argument(kwargs, error, argument):
    with pytest.raises(error, match=argument):
        layers.UpSampling2D(**kwargs)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_bad_inputs(interpolation):
    """The layer validates; its kernels take validated arguments."""
    with pytest.raises(ValueError, match="rank"):
        layers.UpSampling2D(interpolation=interpolation)(np.zeros((3, 3, 1)))
    with pytest.raises(ValueError, match="rank"):
        layers.UpSampling2D(interpolation=interpolation)(np.zeros((1, 3, 3, 1, 1)))
