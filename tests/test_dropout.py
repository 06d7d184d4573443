"""Dropout: kernel gradients with a fixed mask, seeding, statistics, Keras parity.

The layer draws a new mask on every training call, so finite differences are
taken on the pure kernel with a fixed mask, and on the layer in inference mode.
"""
import numpy as np
import pytest

from keras_helpers import assert_parity
from minicnn import layers
from minicnn.functional.dropout import dropout_backward, dropout_forward, draw_keep_mask
from minicnn.gradcheck import check_layer, numerical_gradient, rel_error
from minicnn.rng import set_random_seed

# (input shape, mask shape, rate)
KERNEL_CASES = [
    ((2, 5, 3, 4), (2, 5, 3, 4), 0.3),
    ((3, 4, 7, 2), (3, 4, 7, 2), 0.5),
    ((2, 5, 3, 4), (2, 1, 1, 4), 0.25),   # whole feature maps share a draw
    ((2, 3, 5, 3), (1, 3, 5, 1), 0.6),
]


def _x(shape, seed=21):
    return np.random.default_rng(seed).standard_normal(shape)


def _mask(shape, rate, seed=22):
    mask = draw_keep_mask(np.random.default_rng(seed), shape, rate)
    assert mask.any() and not mask.all()      # a test mask that drops and keeps
    return mask


def _dropout_oracle(x, mask, rate):
    """Element by element, broadcasting the mask by hand."""
    y = np.empty_like(x)
    for index in np.ndindex(x.shape):
        m = mask[tuple(i if s > 1 else 0 for i, s in zip(index, mask.shape))]
        y[index] = x[index] / (1 - rate) if m else 0.0
    return y


# -------------------------------------------------------------------- kernel
@pytest.mark.parametrize("shape, mask_shape, rate", KERNEL_CASES)
def test_kernel_matches_oracle(shape, mask_shape, rate):
    x, mask = _x(shape), _mask(mask_shape, rate)
    y, _ = dropout_forward(x, mask, rate)
    np.testing.assert_allclose(y, _dropout_oracle(x, mask, rate), rtol=1e-15, atol=0)


@pytest.mark.parametrize("shape, mask_shape, rate", KERNEL_CASES)
def test_kernel_gradient_with_fixed_mask(shape, mask_shape, rate):
    x, mask = _x(shape), _mask(mask_shape, rate)
    upstream = _x(shape, seed=23)
    _, cache = dropout_forward(x, mask, rate)
    dx = dropout_backward(upstream, cache)
    numeric = numerical_gradient(lambda: dropout_forward(x, mask, rate)[0], x, upstream)
    assert rel_error(dx, numeric) < 1e-7


@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (3, 4, 7, 2)])
def test_layer_gradient_in_inference(shape):
    layer = layers.Dropout(0.4, dtype="float64")
    x = _x(shape)
    errors = check_layer(layer, x, training=False)
    assert errors["input"] < 1e-7, errors
    np.testing.assert_array_equal(layer(x), x)


def test_layer_training_backward_uses_the_forward_mask():
    rate = 0.3
    layer = layers.Dropout(rate, seed=1, dtype="float64")
    x = _x((2, 5, 3, 4))                       # no exact zeros: y == 0 iff dropped
    y = layer(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-15)
    dy = _x(y.shape, seed=2)
    np.testing.assert_allclose(layer.backward(dy), dy * kept / (1 - rate), rtol=1e-15)


# ------------------------------------------------------------------ seeding
def _masks(layer, n_calls=3, shape=(2, 6, 5, 3)):
    x = np.ones(shape)
    return [layer(x, training=True) != 0 for _ in range(n_calls)]


def test_same_seed_same_sequence_of_masks():
    first = _masks(layers.Dropout(0.5, seed=7))
    second = _masks(layers.Dropout(0.5, seed=7))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])     # the generator advances


def test_different_seeds_differ():
    a = _masks(layers.Dropout(0.5, seed=7), 1)[0]
    b = _masks(layers.Dropout(0.5, seed=8), 1)[0]
    assert not np.array_equal(a, b)


def test_unseeded_layers_follow_the_global_seed():
    set_random_seed(3)
    first = _masks(layers.Dropout(0.5), 2)
    set_random_seed(3)
    second = _masks(layers.Dropout(0.5), 2)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# -------------------------------------------------------------- statistics
@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_mean_is_preserved_and_rate_respected(rate):
    x = np.full((8, 16, 16, 8), 2.0)              # 16384 units
    y = layers.Dropout(rate, seed=5, dtype="float64")(x, training=True)
    n = x.size
    dropped = np.mean(y == 0)
    # Binomial standard deviations: 5 sigma keeps the test from flaking.
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n)
    sigma_mean = 2.0 * np.sqrt(rate / (1 - rate) / n)
    assert abs(y.mean() - 2.0) < 5 * sigma_mean
    assert set(np.unique(y)) == {0.0, 2.0 / (1 - rate)}


def test_noise_shape_drops_whole_feature_maps():
    layer = layers.Dropout(0.5, noise_shape=(None, 1, 1, None), seed=0, dtype="float64")
    y = layer(np.ones((4, 5, 3, 6)), training=True)
    per_map = (y != 0).reshape(4, 15, 6)
    assert np.all(per_map.all(axis=1) | ~per_map.any(axis=1))
    assert per_map.any() and not per_map.all()


def test_rate_zero_and_inference_are_identity():
    x = _x((2, 3, 4, 2)).astype(np.float32)
    for layer, training in [(layers.Dropout(0.0), True), (layers.Dropout(0.5), False)]:
        y = layer(x, training=training)
        np.testing.assert_array_equal(y, x)
        dy = _x(x.shape, seed=4).astype(np.float32)
        np.testing.assert_array_equal(layer.backward(dy), dy)


def test_float32_by_default():
    layer = layers.Dropout(0.5, seed=0)
    y = layer(_x((2, 3, 4, 2)), training=True)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


# ---------------------------------------------------------------- Keras parity
@pytest.mark.parametrize("rate, training", [(0.5, False), (0.0, True), (0.0, False)])
def test_keras_parity_where_deterministic(rate, training, keras):
    assert_parity(layers.Dropout(rate, dtype="float64"),
                  keras.layers.Dropout(rate, dtype="float64"), _x((2, 5, 3, 4)),
                  training=training)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("rate, error", [(1.0, ValueError), (-0.1, ValueError),
                                         (1.5, ValueError), ("0.5", TypeError),
                                         (None, TypeError)])
def test_bad_rate(rate, error):
    with pytest.raises(error, match=rf"rate.*\[0, 1\).*{rate!r}"):
        layers.Dropout(rate)


@pytest.mark.parametrize("noise_shape, error", [
    ((None, 1, 1), ValueError),
    ((None, 0, 1, None), ValueError),
    ((None, 1.5, 1, None), ValueError),
    ("NHWC", ValueError),
    (7, TypeError),
])
def test_bad_noise_shape(noise_shape, error):
    with pytest.raises(error, match=r"noise_shape"):
        layers.Dropout(0.5, noise_shape=noise_shape)


def test_noise_shape_not_fitting_the_input():
    layer = layers.Dropout(0.5, noise_shape=(None, 2, 1, None))
    with pytest.raises(ValueError, match=r"noise_shape \(None, 2, 1, None\).*axis 1.*5"):
        layer(np.ones((2, 5, 3, 4)), training=True)


def test_kernel_refuses_a_mask_that_does_not_fit():
    with pytest.raises(ValueError, match=r"mask.*\(2, 3, 3, 4\).*\(2, 5, 3, 4\)"):
        dropout_forward(np.ones((2, 5, 3, 4)), np.ones((2, 3, 3, 4), bool), 0.5)
