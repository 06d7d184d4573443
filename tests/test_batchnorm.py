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
def _oracle_forward(x, gamma, beta, epsilon, axis=-1, moving=None):
    """Channel by channel, statistics summed by hand.

    The channel axis is moved last first; gamma None acts as 1 and beta None
    as 0 (scale=False, center=False). With moving = (mean, variance) those
    fixed statistics are used instead of the batch's (inference).
    """
    xm = np.moveaxis(x, axis, -1)
    y = np.empty_like(xm)
    for c in range(xm.shape[-1]):
        values = xm[..., c].ravel()
        if moving is None:
            mean = sum(values) / values.size
            var = sum((v - mean) ** 2 for v in values) / values.size
        else:
            mean, var = moving[0][c], moving[1][c]
        g = 1.0 if gamma is None else gamma[c]
        b = 0.0 if beta is None else beta[c]
        y[..., c] = g * (xm[..., c] - mean) / np.sqrt(var + epsilon) + b
    return np.moveaxis(y, -1, axis)


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


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, axis, center, scale", CASES)
def test_layer_forward_matches_oracle(shape, axis, center, scale, training):
    """The layer's values for every channel axis, with center/scale off, and
    in inference on its (random) moving statistics: the value half of what
    test_keras_parity checks, here against the loop oracle."""
    layer = _built_with_random_weights(shape, axis, center, scale)
    weights = dict(layer.params)
    x = _x(shape)
    moving = None if training else (weights["moving_mean"], weights["moving_variance"])
    expected = _oracle_forward(x, weights.get("gamma"), weights.get("beta"), 1e-3,
                               axis=axis, moving=moving)
    np.testing.assert_allclose(layer(x, training=training), expected, rtol=0, atol=1e-13)


def test_channel_axis_1_worked_by_hand():
    """axis=1 on x of shape (1, 2, 2, 2): channel 0 holds 1, 2, 3, 4 (mean
    2.5, biased variance 1.25), channel 1 holds 5, 7, 9, 11 (mean 8, variance
    5). With gamma 1, beta 0 and epsilon 1e-3:
        channel 0: (1 - 2.5) / sqrt(1.251) = -1.341104, ... , 1.341104
        channel 1: (5 - 8) / sqrt(5.001)   = -1.341507, ... , 1.341507
    Normalizing over the last axis instead would pair 1 with 2, 3 with 4, ..."""
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 7.0], [9.0, 11.0]]]])
    y = _layer(axis=1)(x, training=True)
    np.testing.assert_allclose(y[0, 0].ravel(), np.array([-1.5, -0.5, 0.5, 1.5]) / np.sqrt(1.251),
                               rtol=1e-14)
    np.testing.assert_allclose(y[0, 1].ravel(), np.array([-3.0, -1.0, 1.0, 3.0]) / np.sqrt(5.001),
                               rtol=1e-14)
    np.testing.assert_allclose(y[0, :, 0, 0], [-1.341104, -1.341507], atol=1e-6)


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


def test_moving_statistics_worked_by_hand_for_momentum_0_9():
    """moving <- moving * momentum + batch * (1 - momentum), one channel,
    starting from Keras's (moving_mean, moving_variance) = (0, 1):
        step x = [1, 3]: batch mean 2, biased variance 1
            mean = 0.9 * 0   + 0.1 * 2 = 0.2
            var  = 0.9 * 1   + 0.1 * 1 = 1.0
        step x = [2, 8]: batch mean 5, biased variance 9
            mean = 0.9 * 0.2 + 0.1 * 5 = 0.68
            var  = 0.9 * 1.0 + 0.1 * 9 = 1.8
    Inference then uses them: [0.68, 2] -> [0, 1.32 / sqrt(1.8 + 0.001)]
    = [0, 0.983597]. (The weights swapped, 0.1 * moving + 0.9 * batch, would
    give 1.8 and 8.2 after the two steps.)"""
    layer = _layer(momentum=0.9)
    layer(np.array([1.0, 3.0]).reshape(1, 1, 2, 1), training=True)
    assert layer.params["moving_mean"] == pytest.approx([0.2], abs=1e-15)
    assert layer.params["moving_variance"] == pytest.approx([1.0], abs=1e-15)
    layer(np.array([2.0, 8.0]).reshape(1, 1, 2, 1), training=True)
    assert layer.params["moving_mean"] == pytest.approx([0.68], abs=1e-15)
    assert layer.params["moving_variance"] == pytest.approx([1.8], abs=1e-15)
    y = layer(np.array([0.68, 2.0]).reshape(1, 1, 2, 1), training=False)
    np.testing.assert_allclose(y.ravel(), [0.0, 1.32 / np.sqrt(1.801)], rtol=0, atol=1e-15)
    assert y.ravel()[1] == pytest.approx(0.983597, abs=1e-6)


def test_defaults_are_kerass_documented_ones():
    """keras.layers.BatchNormalization's documented signature:
        BatchNormalization(axis=-1, momentum=0.99, epsilon=0.001, center=True,
            scale=True, beta_initializer="zeros", gamma_initializer="ones",
            moving_mean_initializer="zeros", moving_variance_initializer="ones", ...)
    (the Keras comparisons copy momentum and epsilon from the minicnn layer,
    so only this test pins them). Worked with the defaults, one channel at
    (moving_mean, moving_variance) = (0, 1):
        training on x = [2, 8] (mean 5, variance 9):
            moving_mean = 0.99 * 0 + 0.01 * 5 = 0.05
            moving_var  = 0.99 * 1 + 0.01 * 9 = 1.08
        inference on a fresh layer: y = x / sqrt(1 + 0.001)"""
    import inspect
    documented = {"axis": -1, "momentum": 0.99, "epsilon": 1e-3, "center": True,
                  "scale": True, "beta_initializer": "zeros", "gamma_initializer": "ones",
                  "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones"}
    parameters = inspect.signature(layers.BatchNormalization).parameters
    assert {k: parameters[k].default for k in documented} == documented
    layer = layers.BatchNormalization(dtype="float64")
    layer(np.array([2.0, 8.0]).reshape(1, 1, 2, 1), training=True)
    assert layer.params["moving_mean"] == pytest.approx([0.05], abs=1e-15)
    assert layer.params["moving_variance"] == pytest.approx([1.08], abs=1e-15)
    fresh = layers.BatchNormalization(dtype="float64")
    x = np.array([1.0, -3.0]).reshape(1, 1, 2, 1)
    np.testing.assert_allclose(fresh(x), x / np.sqrt(1.001), rtol=1e-15)


def test_frozen_layer_runs_in_inference_mode_worked_by_hand():
    """trainable=False with training=True: the moving statistics, as Keras.
    gamma 2, beta 1, moving mean 0.5, moving variance 4, epsilon 1e-3, x = [1, 3]:
        y = 2 (x - 0.5) / sqrt(4.001) + 1 = [1.4999375, 3.4996876]
    (with the batch's statistics, mean 2 and variance 1, it would be
    2 (x - 2) / sqrt(1.001) + 1 = [-0.999, 2.999]). Nothing is updated, no
    gradient is kept, and dx is the inference map's 2 / sqrt(4.001) * dy."""
    layer = _layer(trainable=False)
    layer.build((None, 1, 2, 1))
    layer.set_weights([np.array([2.0]), np.array([1.0]), np.array([0.5]), np.array([4.0])])
    x = np.array([1.0, 3.0]).reshape(1, 1, 2, 1)
    y = layer(x, training=True)
    np.testing.assert_allclose(y.ravel(), 2 * (np.array([1.0, 3.0]) - 0.5) / np.sqrt(4.001) + 1,
                               rtol=1e-15)
    np.testing.assert_allclose(y.ravel(), [1.4999375, 3.4996876], atol=1e-7)
    assert [w.tolist() for w in layer.get_weights()] == [[2.0], [1.0], [0.5], [4.0]]
    dy = np.array([0.3, -1.2]).reshape(1, 1, 2, 1)
    np.testing.assert_allclose(layer.backward(dy), 2 / np.sqrt(4.001) * dy, rtol=1e-15)
    assert layer.grads == {}


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
