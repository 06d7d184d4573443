"""Activations: scalar oracles, numerical stability, gradient checks, Keras parity.

Configurations cover N > 1, C > 1, H != W and odd sizes; softmax runs over
several axes. ReLU inputs are kept away from its kinks (the threshold and
max_value) so that central differences never straddle one.
"""
import math

import numpy as np
import pytest

from keras_helpers import assert_parity
from minicnn import layers
from minicnn.functional import activations as A
from minicnn.gradcheck import check_layer

SHAPES = [(2, 5, 3, 4), (3, 4, 7, 2), (2, 3, 5, 3)]
NAMES = ["linear", "relu", "sigmoid", "tanh", "softmax"]
# (max_value, negative_slope, threshold)
RELU_CASES = [
    (None, 0.0, 0.0),
    (6.0, 0.0, 0.0),
    (1.0, 0.0, 0.0),
    # Keras runs this case through tf.nn.leaky_relu, whose alpha is a float32
    # attribute: a slope exact in float32 (0.25, not 0.2) keeps parity at 1e-10.
    (None, 0.25, 0.0),
    (None, 0.0, 0.5),
    (1.5, 0.3, 0.5),
    # max_value below the threshold: Keras clips to max_value. Keras's clip
    # rounds max_value through float32, so it is chosen exact in float32.
    (0.375, 0.1, 0.8),
]
SOFTMAX_AXES = [-1, 1, 2, -3, 0]


def _x(shape, seed=11, scale=1.5):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def _away_from(x, points, gap=0.05):
    """Move every entry within `gap` of a kink to 2 * gap past it."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, 2 * gap, -2 * gap)
    return x


def _relu_kinks(max_value, threshold):
    return [threshold] + ([] if max_value is None else [max_value])


# ------------------------------------------------------------------ oracles
def _relu_scalar(v, max_value, negative_slope, threshold):
    if v <= threshold:
        return negative_slope * (v - threshold)
    if max_value is not None and v >= max_value:
        return max_value
    return v


def _softmax_oracle(x, axis):
    """Slice by slice with math.exp, and the backward by the explicit Jacobian."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        row = moved[index]
        top = max(row)
        exps = [math.exp(v - top) for v in row]
        out[index] = [e / sum(exps) for e in exps]
    return np.moveaxis(out, -1, axis)


def _softmax_backward_oracle(y, dy, axis):
    ym, dym = np.moveaxis(y, axis, -1), np.moveaxis(dy, axis, -1)
    dx = np.empty_like(ym)
    for index in np.ndindex(ym.shape[:-1]):
        s = ym[index]
        jacobian = np.diag(s) - np.outer(s, s)       # dy_i / dx_j
        dx[index] = jacobian.T @ dym[index]
    return np.moveaxis(dx, -1, axis)


@pytest.mark.parametrize("case", RELU_CASES)
def test_relu_matches_scalar_oracle(case):
    x = _x((2, 3, 4, 2))
    y, _ = A.relu_forward(x, *case)
    expected = np.vectorize(lambda v: _relu_scalar(v, *case))(x)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-15)


def test_relu_keras_doc_examples():
    x = np.array([-10, -5, 0.0, 5, 10])
    assert A.relu_forward(x)[0].tolist() == [0, 0, 0, 5, 10]
    assert A.relu_forward(x, negative_slope=0.5)[0].tolist() == [-5, -2.5, 0, 5, 10]
    assert A.relu_forward(x, max_value=5.0)[0].tolist() == [0, 0, 0, 5, 5]
    assert A.relu_forward(x, threshold=5.0)[0].tolist() == [0, 0, 0, 0, 10]


@pytest.mark.parametrize("case", RELU_CASES)
def test_relu_layer_matches_scalar_oracle(case, backend):
    """The layer passes max_value, negative_slope and threshold to the kernel
    in the right places (the gradient checks alone cannot see a swap)."""
    x = _x((2, 3, 4, 2))
    expected = np.vectorize(lambda v: _relu_scalar(v, *case))(x)
    np.testing.assert_allclose(layers.ReLU(*case, dtype="float64")(x), expected,
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("axis", SOFTMAX_AXES)
def test_softmax_layer_matches_oracle(axis, backend):
    x = _x((2, 3, 4, 3))
    np.testing.assert_allclose(layers.Softmax(axis, dtype="float64")(x),
                               _softmax_oracle(x, axis), rtol=1e-13, atol=0)


SCALAR_ORACLES = {"linear": lambda v: v, "relu": lambda v: max(v, 0.0),
                  "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "tanh": math.tanh}


@pytest.mark.parametrize("name", NAMES)
def test_activation_layer_matches_scalar_oracles(name, backend):
    x = _x((2, 5, 3, 4))
    if name == "softmax":
        expected = _softmax_oracle(x, -1)             # over the channels
    else:
        expected = np.vectorize(SCALAR_ORACLES[name])(x)
    np.testing.assert_allclose(layers.Activation(name, dtype="float64")(x), expected,
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("case, points, values, slopes", [
    # (max_value, negative_slope, threshold), x exactly on the kinks, f(x), f'(x)
    ((None, 0.0, 0.0), [0.0], [0.0], [0.0]),
    ((None, 0.25, 0.0), [0.0], [0.0], [0.25]),
    ((6.0, 0.0, 0.0), [0.0, 6.0], [0.0, 6.0], [0.0, 0.0]),          # Keras: 0, 0
    ((1.0, 0.0, 0.0), [0.0, 1.0], [0.0, 1.0], [0.0, 0.0]),          # Keras: 0, 1
    ((1.5, 0.3, 0.5), [0.5, 1.5], [0.0, 1.5], [0.3, 0.0]),          # Keras: 0, 1
    ((0.375, 0.1, 0.8), [0.375, 0.8], [-0.0425, 0.0], [0.1, 0.1]),  # Keras: 0.1, 0
])
def test_relu_derivative_exactly_on_the_kinks(case, points, values, slopes, backend):
    """What minicnn does where the derivative is not defined: each kink takes
    the slope of the piece that owns it, x <= t -> a (t) and x >= m -> 0
    (m), so x == max_value gives 0, like TensorFlow's relu6. Both are
    one-sided derivatives (subgradients where they exist). Keras's own choice
    depends on the code path (in the comments), so it is no reference here;
    this test pins minicnn's choice, in both backends."""
    layer = layers.ReLU(*case, dtype="float64")
    x = np.array(points).reshape(1, 1, -1, 1)
    np.testing.assert_allclose(layer(x).ravel(), values, rtol=0, atol=1e-15)
    assert layer.backward(np.ones_like(x)).ravel().tolist() == slopes


def test_sigmoid_tanh_match_scalar_oracle():
    x = _x((2, 3, 4, 2), scale=4.0)
    np.testing.assert_allclose(A.sigmoid_forward(x)[0],
                               np.vectorize(lambda v: 1 / (1 + math.exp(-v)))(x),
                               rtol=1e-14, atol=0)
    np.testing.assert_allclose(A.tanh_forward(x)[0], np.vectorize(math.tanh)(x),
                               rtol=1e-14, atol=0)


@pytest.mark.parametrize("axis", SOFTMAX_AXES)
def test_softmax_matches_oracle(axis):
    x = _x((2, 3, 4, 3))
    dy = _x(x.shape, seed=12)
    y, cache = A.softmax_forward(x, axis)
    np.testing.assert_allclose(y, _softmax_oracle(x, axis), rtol=1e-13, atol=0)
    np.testing.assert_allclose(A.softmax_backward(dy, cache),
                               _softmax_backward_oracle(y, dy, axis), rtol=0, atol=1e-14)


# ---------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4], dtype=dtype)
    # Underflow to 0 is the right answer; overflow or 0/0 would be a bug.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, cache = A.sigmoid_forward(x)
        dx = A.sigmoid_backward(np.ones_like(x), cache)
    assert y.dtype == dtype
    assert y[0] == 0 and y[-1] == 1 and y[3] == 0.5
    assert np.all(np.isfinite(dx)) and np.all(dx >= 0)


def test_softmax_is_stable_for_large_inputs():
    x = np.array([[1e4, 1e4 - 1.0, -1e4]])
    # Underflow to 0 is the right answer; overflow or 0/0 would be a bug.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, _ = A.softmax_forward(x)
    expected = np.array([1.0, math.exp(-1.0), 0.0]) / (1 + math.exp(-1.0))
    np.testing.assert_allclose(y[0], expected, rtol=1e-14)


def test_softmax_backward_sums_to_zero_along_axis():
    x = _x((2, 3, 4, 5))
    y, cache = A.softmax_forward(x, 2)
    dx = A.softmax_backward(_x(x.shape, seed=3), cache)
    np.testing.assert_allclose(dx.sum(axis=2), 0, atol=1e-14)


# ------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_activation_gradients(name, shape, backend):
    x = _away_from(_x(shape), [0.0]) if name == "relu" else _x(shape)
    errors = check_layer(layers.Activation(name, dtype="float64"), x)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("case", RELU_CASES)
def test_relu_layer_gradients(case, backend):
    max_value, negative_slope, threshold = case
    x = _away_from(_x((2, 5, 3, 2)), _relu_kinks(max_value, threshold))
    layer = layers.ReLU(max_value, negative_slope, threshold, dtype="float64")
    errors = check_layer(layer, x)
    assert errors["input"] < 1e-7, errors


@pytest.mark.parametrize("shape", SHAPES[:2])
@pytest.mark.parametrize("axis", SOFTMAX_AXES)
def test_softmax_layer_gradients(axis, shape, backend):
    errors = check_layer(layers.Softmax(axis, dtype="float64"), _x(shape))
    assert errors["input"] < 1e-7, errors


def test_gradients_are_not_trivially_equal():
    """A wrong derivative must fail the check (guards against tautologies)."""
    x = _x((2, 3, 4, 2))
    layer = layers.Activation("tanh", dtype="float64")
    # The layer keeps ((kernel pair, cache), x); swap in the wrong derivative.
    layer._backward = lambda dy, kept: (A.sigmoid_backward(dy, kept[0][1]), {})
    assert check_layer(layer, x)["input"] > 1e-3


# ---------------------------------------------------------------- Keras parity
@pytest.mark.parametrize("name", NAMES)
def test_activation_keras_parity(name, backend, keras):
    x = _away_from(_x((2, 5, 3, 4)), [0.0])
    assert_parity(layers.Activation(name, dtype="float64"),
                  keras.layers.Activation(name, dtype="float64"), x)


@pytest.mark.parametrize("case", RELU_CASES)
def test_relu_keras_parity(case, backend, keras):
    max_value, negative_slope, threshold = case
    x = _away_from(_x((2, 5, 3, 2)), _relu_kinks(max_value, threshold))
    keras_layer = keras.layers.ReLU(max_value=max_value, negative_slope=negative_slope,
                                    threshold=threshold, dtype="float64")
    assert_parity(layers.ReLU(*case, dtype="float64"), keras_layer, x)


@pytest.mark.parametrize("axis", SOFTMAX_AXES)
def test_softmax_keras_parity(axis, backend, keras):
    assert_parity(layers.Softmax(axis, dtype="float64"),
                  keras.layers.Softmax(axis=axis, dtype="float64"), _x((3, 4, 5, 2)))


# --------------------------------------------------------------- API and dtype
@pytest.mark.parametrize("name", NAMES)
def test_float32_by_default(name):
    layer = layers.Activation(name)
    x = _x((2, 3, 4, 2)).astype(np.float32)
    y = layer(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == np.float32 and dx.dtype == np.float32


def test_relu_layer_float32():
    layer = layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2)
    y = layer(_x((2, 3, 4, 2)).astype(np.float32))
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_registry():
    assert A.get_activation(None) == (A.linear_forward, A.linear_backward)
    assert A.get_activation("relu") == (A.relu_forward, A.relu_backward)
    forward, backward = A.get_activation("softmax")
    y, cache = forward(_x((2, 3, 4, 5)))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-14)
    assert set(A.ACTIVATION_NAMES) == set(NAMES)


def test_backward_does_not_modify_dout():
    for name in NAMES:
        layer = layers.Activation(name, dtype="float64")
        y = layer(_x((2, 3, 4, 2)))
        dy = _x(y.shape, seed=5)
        kept = dy.copy()
        layer.backward(dy)
        np.testing.assert_array_equal(dy, kept)


def test_layer_names_follow_keras():
    assert layers.ReLU(name=None).name.startswith("re_lu")
    assert layers.Softmax().name.startswith("softmax")


# ------------------------------------------------------------------ bad input
def test_unknown_activation_lists_allowed_names():
    with pytest.raises(ValueError, match=r"activation.*'gelu'") as info:
        A.get_activation("gelu")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match=r"activation.*'swish'"):
        layers.Activation("swish")


def test_non_string_activation_refused():
    with pytest.raises(TypeError, match=r"activation.*42"):
        A.get_activation(42)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"max_value": -1.0}, r"max_value.*-1\.0"),
    ({"negative_slope": -0.1}, r"negative_slope.*-0\.1"),
    ({"threshold": -2}, r"threshold.*-2"),
])
def test_relu_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        layers.ReLU(**kwargs)


def test_relu_non_numeric_argument():
    with pytest.raises(TypeError, match=r"max_value.*'6'"):
        layers.ReLU(max_value="6")


@pytest.mark.parametrize("axis, error", [(4, ValueError), (-5, ValueError),
                                         (1.0, TypeError), ("channels", TypeError)])
def test_softmax_bad_axis(axis, error):
    with pytest.raises(error, match=rf"axis.*{axis!r}"):
        layers.Softmax(axis)


def test_wrong_rank_refused():
    with pytest.raises(ValueError, match=r"rank-4.*\(3, 4\)"):
        layers.Activation("relu")(np.zeros((3, 4)))
