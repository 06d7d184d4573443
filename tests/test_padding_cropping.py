"""ZeroPadding2D and Cropping2D: values, adjointness, gradient checks, Keras parity, errors.

Each layer takes its amounts as an int, (sym_h, sym_w) or
((top, bottom), (left, right)); the matrix includes asymmetric amounts with
zeros on some sides, on inputs with N > 1, C > 1 and H != W.
"""
import numpy as np
import pytest

from keras_helpers import assert_parity
from minicnn import layers
from minicnn.functional.padding import (crop2d_backward, crop2d_forward,
                                        hw_pairs, zero_pad2d_backward,
                                        zero_pad2d_forward)
from minicnn.gradcheck import check_layer

SHAPE = (2, 7, 6, 3)
# (amount as given, as ((top, bottom), (left, right)))
AMOUNTS = [
    (0, ((0, 0), (0, 0))),
    (2, ((2, 2), (2, 2))),
    ((1, 2), ((1, 1), (2, 2))),
    (((0, 2), (1, 0)), ((0, 2), (1, 0))),
    (((3, 1), (2, 3)), ((3, 1), (2, 3))),
    ([[1, 0], [0, 1]], ((1, 0), (0, 1))),
]
IDS = [str(a[0]) for a in AMOUNTS]
LAYERS = {"padding": (layers.ZeroPadding2D, "ZeroPadding2D"),
          "cropping": (layers.Cropping2D, "Cropping2D")}


def _input(shape=SHAPE, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("amount, pairs", AMOUNTS, ids=IDS)
def test_amount_forms(amount, pairs):
    assert hw_pairs(amount, "padding") == pairs
    assert layers.ZeroPadding2D(amount).padding == pairs
    assert layers.Cropping2D(amount).cropping == pairs


@pytest.mark.parametrize("amount, pairs", AMOUNTS, ids=IDS)
def test_values_and_adjointness(amount, pairs):
    x = _input()
    (t, b), (l, r) = pairs
    padded, pad_cache = zero_pad2d_forward(x, amount)
    assert padded.shape == (2, 7 + t + b, 6 + l + r, 3)
    assert np.array_equal(padded[:, t:t + 7, l:l + 6, :], x)
    border = padded.copy()
    border[:, t:t + 7, l:l + 6, :] = 0
    assert not border.any()                                     # zeros elsewhere

    cropped, crop_cache = crop2d_forward(x, amount)
    assert np.array_equal(cropped, x[:, t:7 - b, l:6 - r, :])
    assert not np.shares_memory(cropped, x)

    # <pad(x), g> == <x, crop(g)> and <crop(x), g> == <x, pad(g)>.
    g = _input(padded.shape, seed=1)
    assert abs(np.sum(padded * g) - np.sum(x * zero_pad2d_backward(g, pad_cache))) < 1e-12
    g = _input(cropped.shape, seed=2)
    dx = crop2d_backward(g, crop_cache)
    assert dx.shape == x.shape
    assert abs(np.sum(cropped * g) - np.sum(x * dx)) < 1e-12


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("amount, pairs", AMOUNTS, ids=IDS)
def test_gradient_check(amount, pairs, kind):
    layer = LAYERS[kind][0](amount, dtype="float64")
    errors = check_layer(layer, _input())
    assert errors["input"] < 1e-7, errors


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("amount, pairs", AMOUNTS, ids=IDS)
def test_keras_parity_and_output_shape(amount, pairs, kind, keras):
    cls, keras_name = LAYERS[kind]
    layer = cls(amount, dtype="float64")
    keras_layer = getattr(keras.layers, keras_name)(pairs, dtype="float64")
    keras_layer.build((None, *SHAPE[1:]))
    assert_parity(layer, keras_layer, _input())
    for shape in [(None, *SHAPE[1:]), (None, None, 6, 3), (None, 7, None, 3)]:
        assert layer.compute_output_shape(shape) == \
            tuple(keras_layer.compute_output_shape(shape))


@pytest.mark.parametrize("amount, pairs", AMOUNTS, ids=IDS)
def test_output_shape_with_unknown_sizes(amount, pairs):
    """H + t + b and W + l + r (padding), H - t - b and W - l - r (cropping);
    an unknown (None) size stays None; equal to the forward's shape."""
    (t, b), (l, r) = pairs
    padding, cropping = layers.ZeroPadding2D(amount), layers.Cropping2D(amount)
    for shape, padded, cropped in [
            ((None, 7, 6, 3), (None, 7 + t + b, 6 + l + r, 3), (None, 7 - t - b, 6 - l - r, 3)),
            ((None, None, 6, 3), (None, None, 6 + l + r, 3), (None, None, 6 - l - r, 3)),
            ((None, 7, None, 3), (None, 7 + t + b, None, 3), (None, 7 - t - b, None, 3))]:
        assert padding.compute_output_shape(shape) == padded
        assert cropping.compute_output_shape(shape) == cropped
    x = _input()
    assert padding(x).shape == (2,) + padding.compute_output_shape((None, 7, 6, 3))[1:]
    assert cropping(x).shape == (2,) + cropping.compute_output_shape((None, 7, 6, 3))[1:]


def test_output_shape_worked_by_hand():
    """((3, 1), (2, 3)) on 7 x 6: padded 3 + 7 + 1 = 11 by 2 + 6 + 3 = 11,
    cropped 7 - 3 - 1 = 3 by 6 - 2 - 3 = 1."""
    amount = ((3, 1), (2, 3))
    assert layers.ZeroPadding2D(amount).compute_output_shape((None, 7, 6, 3)) == (None, 11, 11, 3)
    assert layers.ZeroPadding2D(amount).compute_output_shape((None, None, 6, 3)) == \
        (None, None, 11, 3)
    assert layers.Cropping2D(amount).compute_output_shape((None, 7, 6, 3)) == (None, 3, 1, 3)
    assert layers.Cropping2D(amount).compute_output_shape((None, 7, None, 3)) == \
        (None, 3, None, 3)


@pytest.mark.parametrize("kind", LAYERS)
def test_float32_default_and_dy_untouched(kind):
    layer = LAYERS[kind][0](((1, 0), (0, 2)))
    y = layer.forward(_input())
    assert y.dtype == np.float32 and layer.count_params() == 0
    dy = _input(y.shape, seed=1).astype(np.float32)
    before = dy.copy()
    dx = layer.backward(dy)
    assert np.array_equal(dy, before) and dx.dtype == np.float32


def test_defaults_follow_keras():
    assert layers.ZeroPadding2D().padding == ((1, 1), (1, 1))
    assert layers.Cropping2D().cropping == ((0, 0), (0, 0))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("amount, error", [
    (-1, ValueError),
    ((1, -2), ValueError),
    (((0, 1), (2, -1)), ValueError),
    ((1, 2, 3), ValueError),
    (((1, 2, 3), (0, 0)), ValueError),
    (1.5, TypeError),
    ("same", TypeError),
])
def test_bad_amounts_name_the_argument(amount, error, kind):
    with pytest.raises(error, match=kind):
        LAYERS[kind][0](amount)


@pytest.mark.parametrize("cropping, axis", [
    (((2, 5), (0, 0)), "height"),     # 7 rows cropped away entirely
    (((0, 0), (3, 4)), "width"),      # more than the 6 columns
])
def test_cropping_too_large(cropping, axis):
    x = _input()
    layer = layers.Cropping2D(cropping)
    with pytest.raises(ValueError, match=f"cropping .* {axis}"):
        layer(x)
    with pytest.raises(ValueError, match=f"cropping .* {axis}"):
        layer.compute_output_shape((None, *SHAPE[1:]))
    with pytest.raises(ValueError, match=f"cropping .* {axis}"):
        crop2d_forward(x, cropping)


def test_wrong_rank():
    with pytest.raises(ValueError, match="rank"):
        layers.ZeroPadding2D()(np.zeros((7, 6, 3)))
    with pytest.raises(ValueError, match="rank"):
        layers.Cropping2D(1)(np.zeros((1, 7, 6, 3, 1)))
    with pytest.raises(ValueError, match="rank"):
        zero_pad2d_forward(np.zeros((7, 6)), 1)
