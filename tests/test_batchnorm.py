"""BatchNormalization: oracle, gradient checks, Keras parity, moving statistics.

Configurations cover N > 1, C > 1, H != W, odd sizes, channel axes -1, 3, 1,
2 and -2, and scale/center switched off. Weights (gamma, beta and the moving
statistics) are random, so that a gradient that ignored gamma, or inference
that used the wrong statistics, would fail.
"""
import numpy as np
import pytest

from keras_helpers import assert_parity, import_keras, keras_forward_backward
from minicnn import layers
from minicnn.functional.normalization import (batchnorm_inference_forward,
                                              batchnorm_train_backward,
                                              batchnorm_train_forward)
from minicnn.gradcheck import check_layer, rel_error

# (input shape, axis, center, scale)
CASES = [
    ((2, 5, 3, 4), -1, True, True),
    ((3, 4, 7, 2), 3, True, True),
    ((2, 3, 5, 3), -1, False, True),
    ((2, 3, 5, 3), -1, True, False),
    ((2, 3, 4, 2), -1, False, False),
    ((2, 3, 4, 5), 1, True, True),        # channels-first style axis
    ((3, 2, 5, 3), 2, True, True),
    ((2, 4, 3, 2), -2, True, False),
]


def _x(shape, seed=31):
    # Offset and scale per position so that the normalization does something.
    rng = np.random.default_rng(seed)
    return 0.7 + 2.0 * rng.standard_normal(shape)


def _layer(axis=-1, center=True, scale=True, **kwargs):
    return layers.BatchNormalization(axis=axis, center=center, scale=scale,
                                     dtype="float64", **kwargs)


def _built_with_random_weights(shape, axis, center, scale, seed=32, **kwargs):
    layer = _layer(axis, center, scale, **kwargs)
    layer.build((None,) + shape[1:])
    rng = np.random.default_rng(seed)
    weights = []
    for name, w in layer.params.items():
        if name == "moving_variance":
            weights.append(rng.uniform(0.5, 2.0, w.shape))
        else:
            weights.append(rng.standard_normal(w.shape))
    layer.set_weights(weights)
    return layer


# -------------------------------------------------------------------- oracle
def _oracle_forward(x, gamma, beta, epsilon):
    """Channel by channel (last axis), statistics summed by hand."""
    y = np.empty_like(x)
    for c in range(x.shape[-1]):
        values = x[..., c].ravel()
        mean = sum(values) / values.size
        var = sum((v - mean) ** 2 for v in values) / values.size
        y[..., c] = gamma[c] * (x[..., c] - mean) / np.sqrt(var + epsilon) + beta[c]
    return y


def _oracle_train_dx(x, gamma, dy, epsilon):
    """dx = J^T (gamma * dy) with the full M x M Jacobian of xhat per channel."""
    dx = np.empty_like(x)
    for c in range(x.shape[-1]):
        v = x[..., c].ravel()
        m = v.size
        s = 1.0 / np.sqrt(v.var() + epsilon)
        xhat = (v - v.mean()) * s
        jacobian = s * (np.eye(m) - 1.0 / m - np.outer(xhat, xhat) / m)  # dxhat_i/dx_j
        dx[..., c] = (jacobian.T @ (gamma[c] * dy[..., c].ravel())).reshape(x.shape[:-1])
    return dx


def test_train_kernel_matches_oracle():
    x = _x((3, 4, 5, 3))
    rng = np.random.default_rng(1)
    gamma, beta, dy = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(x.shape)
    y, cache = batchnorm_train_forward(x, gamma, beta, 1e-3)
    np.testing.assert_allclose(y, _oracle_forward(x, gamma, beta, 1e-3), rtol=0, atol=1e-13)
    dx, _, _ = batchnorm_train_backward(dy, cache)
    np.testing.assert_allclose(dx, _oracle_train_dx(x, gamma, dy, 1e-3), rtol=0, atol=1e-13)
    # dx sums to zero per channel: shifting a channel's inputs leaves y unchanged.
    np.testing.assert_allclose(dx.sum(axis=(0, 1, 2)), 0, atol=1e-12)


def test_inference_kernel_is_the_affine_map():
    x = _x((2, 3, 4, 2))
    gamma, beta = np.array([1.5, -0.5]), np.array([0.1, 2.0])
    mean, var = np.array([0.3, -1.0]), np.array([2.0, 0.5])
    y, _ = batchnorm_inference_forward(x, gamma, beta, mean, var, 1e-3)
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta,
                               rtol=1e-14)


def test_training_output_is_normalized():
    layer = _layer()
    y = layer(_x((4, 6, 5, 3)), training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, atol=1e-3)  # epsilon shrinks it


# ------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, axis, center, scale", CASES)
def test_gradients(shape, axis, center, scale, training):
    layer = _built_with_random_weights(shape, axis, center, scale)
    errors = check_layer(layer, _x(shape), training=training)
    expected = {"input"} | ({"gamma"} if scale else set()) | ({"beta"} if center else set())
    assert set(errors) == expected
    assert max(errors.values()) < 1e-7, errors


def test_wrong_training_gradient_is_detected():
    """The inference formula in training mode must fail the check."""
    layer = _built_with_random_weights((2, 3, 4, 2), -1, True, True)
    layer._backward = lambda dy, cache: layers.BatchNormalization._backward(
        layer, dy, (False, cache[1]))
    assert check_layer(layer, _x((2, 3, 4, 2)), training=True)["input"] > 1e-3


# ---------------------------------------------------------------- Keras parity
def _keras_twin(layer, shape):
    keras = import_keras()
    twin = keras.layers.BatchNormalization(
        axis=layer.axis, momentum=layer.momentum, epsilon=layer.epsilon,
        center=layer.center, scale=layer.scale, dtype="float64")
    twin.build((None,) + shape[1:])
    twin.set_weights(layer.get_weights())
    return twin


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, axis, center, scale", CASES)
def test_keras_parity(shape, axis, center, scale, training):
    layer = _built_with_random_weights(shape, axis, center, scale)
    assert_parity(layer, _keras_twin(layer, shape), _x(shape), training=training)


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("shape, axis, center, scale", [CASES[0], CASES[3], CASES[5]])
def test_moving_statistics_match_keras(shape, axis, center, scale):
    layer = _built_with_random_weights(shape, axis, center, scale, momentum=0.9)
    twin = _keras_twin(layer, shape)
    for step in range(4):
        x = _x(shape, seed=100 + step)
        layer(x, training=True)
        keras_forward_backward(twin, x, np.ones(shape), training=True)
    mine, theirs = layer.get_weights(), [w.numpy() for w in twin.weights]
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        assert rel_error(a, b) < 1e-10
    # The moving statistics did move, and inference now uses them.
    assert not np.allclose(mine[-1], _built_with_random_weights(
        shape, axis, center, scale).get_weights()[-1])
    assert_parity(layer, twin, _x(shape, seed=200), training=False)


def test_moving_variance_uses_the_biased_batch_variance():
    layer = _layer(momentum=0.0)                 # moving stats = last batch stats
    x = _x((2, 3, 4, 2))
    layer(x, training=True)
    np.testing.assert_allclose(layer.params["moving_mean"], x.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(layer.params["moving_variance"], x.var(axis=(0, 1, 2)))


@pytest.mark.usefixtures("keras")
def test_frozen_layer_runs_in_inference_mode_like_keras():
    shape = (2, 5, 3, 4)
    layer = _built_with_random_weights(shape, -1, True, True, trainable=False)
    before = layer.get_weights()
    twin = _keras_twin(layer, shape)
    twin.trainable = False
    assert_parity(layer, twin, _x(shape), training=True)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert layer.grads == {}


# ------------------------------------------------------------- weights, dtype
def test_weight_order_names_and_counts():
    layer = layers.BatchNormalization()
    layer.build((None, 104, 104, 3))
    assert list(layer.params) == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.trainable_param_names == ["gamma", "beta"]
    assert layer.count_params() == 12
    assert [w.tolist() for w in layer.get_weights()] == [[1] * 3, [0] * 3, [0] * 3, [1] * 3]
    no_scale = layers.BatchNormalization(scale=False)
    no_scale.build((None, 4, 4, 2))
    assert list(no_scale.params) == ["beta", "moving_mean", "moving_variance"]


def test_float32_by_default_and_no_update_in_inference():
    layer = layers.BatchNormalization()
    x = _x((2, 3, 4, 2)).astype(np.float32)
    y = layer(x, training=False)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.params["moving_mean"].tolist() == [0.0, 0.0]
    layer(x, training=True)
    assert layer.params["moving_mean"].dtype == np.float32
    assert layer.params["moving_mean"].tolist() != [0.0, 0.0]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("axis, error", [(0, ValueError), (-4, ValueError),
                                         (4, ValueError), (1.0, TypeError)])
def test_bad_axis(axis, error):
    with pytest.raises(error, match=rf"axis.*{axis!r}"):
        layers.BatchNormalization(axis=axis)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"momentum": 1.5}, r"momentum.*1\.5"),
    ({"momentum": -0.1}, r"momentum.*-0\.1"),
    ({"epsilon": 0.0}, r"epsilon.*0\.0"),
    ({"epsilon": -1e-3}, r"epsilon.*-0\.001"),
])
def test_bad_hyperparameters(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        layers.BatchNormalization(**kwargs)


def test_set_weights_with_wrong_shapes():
    layer = layers.BatchNormalization()
    layer.build((None, 4, 5, 3))
    good = layer.get_weights()
    with pytest.raises(ValueError, match=r"'gamma'.*\(3,\).*\(2,\)"):
        layer.set_weights([np.ones(2)] + good[1:])
    with pytest.raises(ValueError, match=r"expects 4 arrays.*got 3"):
        layer.set_weights(good[:3])


def test_channel_count_changed_after_build():
    layer = layers.BatchNormalization()
    layer(np.ones((2, 4, 5, 3)))
    with pytest.raises(ValueError, match=r"\(2, 4, 5, 2\).*axis 3 must be 3"):
        layer(np.ones((2, 4, 5, 2)))
