"""MaxPooling2D and AveragePooling2D: direct-loop oracles, max pooling's tie
rule, average pooling's divisor at the border, gradient checks, Keras parity,
errors.

Configurations (the same for both layers) cover N > 1, C > 1, H != W, odd
sizes, pools (2, 2), (3, 3) and (2, 3), strides that divide neither size
(3 on 10 x 7), strides smaller than the pool (overlapping windows, whose
gradients add up), strides larger than the pool (skipped pixels), and 'same'
on odd sizes (where the padding is uneven: the extra row/column goes at the
bottom/right).
"""
import numpy as np
import pytest

from keras_helpers import assert_parity, import_keras
from minicnn import layers
from minicnn.functional.pooling import (average_pool2d_backward, average_pool2d_forward,
                                       max_pool2d_backward, max_pool2d_forward,
                                       pool_geometry)
from minicnn.functional.reference_pooling import (average_pool2d_reference,
                                                  max_pool2d_reference)
from minicnn.gradcheck import check_layer, rel_error

# (N, H, W, C, pool_size, strides, padding)
CASES = [
    (2, 7, 5, 3, (2, 2), None, "valid"),       # odd sizes: last row/column dropped
    (2, 9, 7, 2, (3, 3), None, "valid"),
    (2, 6, 9, 2, (2, 3), None, "valid"),
    (2, 10, 7, 2, (3, 3), (3, 3), "valid"),    # stride 3 divides neither 10 nor 7
    (2, 10, 7, 2, (3, 3), (3, 3), "same"),
    (2, 7, 6, 2, (3, 3), (2, 1), "valid"),     # overlapping windows
    (2, 6, 5, 3, (2, 2), (1, 1), "valid"),     # overlapping windows
    (2, 7, 5, 2, (2, 2), None, "same"),        # odd sizes: one padded row/column
    (2, 7, 9, 2, (3, 3), (2, 2), "same"),
    (2, 5, 7, 2, (3, 3), (1, 1), "same"),      # padding on all four sides
    (2, 6, 7, 2, (2, 3), (3, 2), "same"),
    (2, 7, 8, 2, (2, 2), (3, 3), "valid"),     # strides > pool: pixels skipped
]
IDS = [f"{c[1]}x{c[2]}-p{c[4]}-s{c[5]}-{c[6]}" for c in CASES]
POOLS = ["MaxPooling2D", "AveragePooling2D"]    # what the shared tests run on


def _distinct_input(case, seed=0):
    """Distinct values 0.1 apart: no ties, so the max is differentiable."""
    n, h, w, c = case[:4]
    size = n * h * w * c
    perm = np.random.default_rng(seed).permutation(size)
    return (perm.reshape(n, h, w, c) - size / 2) * 0.1


def _tied_input(case, seed=0):
    """Values from {0, 1, 2}: almost every window holds a tied maximum."""
    return np.random.default_rng(seed).integers(0, 3, case[:4]).astype(np.float64)


def _normal_input(case, seed=0):
    return np.random.default_rng(seed).standard_normal(case[:4])


def _layer(case, dtype="float64", pool="MaxPooling2D"):
    return getattr(layers, pool)(case[4], strides=case[5], padding=case[6], dtype=dtype)


def _keras_layer(case, pool="MaxPooling2D"):
    keras = import_keras()
    return getattr(keras.layers, pool)(case[4], strides=case[5], padding=case[6],
                                       dtype="float64")


# ------------------------------------------------------------------ oracle
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("make_input", [_distinct_input, _tied_input])
def test_matches_direct_loop_reference(case, make_input):
    x = make_input(case)
    strides = case[5] or case[4]
    y, cache = max_pool2d_forward(x, pool_geometry(x.shape[1:3], case[4], case[5], case[6]))
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dx = max_pool2d_backward(dy, cache)
    y_ref, dx_ref = max_pool2d_reference(x, dy, case[4], strides, case[6])
    assert y.shape == y_ref.shape
    assert np.array_equal(y, y_ref)
    assert rel_error(dx, dx_ref) < 1e-14


def test_tie_goes_to_first_maximum_in_row_major_order():
    x = np.ones((1, 3, 3, 1))
    y, cache = max_pool2d_forward(x, pool_geometry(x.shape[1:3], (3, 3), (1, 1), "same"))
    dx = max_pool2d_backward(np.ones(y.shape), cache)
    # Each of the 9 windows routes to its first real pixel: the four windows
    # whose top-left real pixel is (0, 0) give it 4, and so on.
    expected = np.array([[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert np.array_equal(dx[0, :, :, 0], expected)


def test_padding_never_wins_even_below_zero():
    x = -np.arange(1.0, 16.0).reshape(1, 3, 5, 1)      # every value negative
    y, cache = max_pool2d_forward(x, pool_geometry(x.shape[1:3], (2, 2), None, "same"))
    assert np.all(np.isfinite(y))
    assert y[0, 1, 2, 0] == x[0, 2, 4, 0]               # corner window: one real pixel
    dx = max_pool2d_backward(np.ones(y.shape), cache)
    assert dx.sum() == y.size                           # no gradient lost in padding


@pytest.mark.parametrize("pool, case", [("MaxPooling2D", CASES[5]),
                                        ("AveragePooling2D", CASES[9])])  # 'same', all sides
def test_backward_does_not_modify_dy_and_keeps_dtype(pool, case):
    layer = _layer(case, dtype="float32", pool=pool)
    y = layer.forward(_distinct_input(case))
    assert y.dtype == np.float32
    dy = np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)
    before = dy.copy()
    dx = layer.backward(dy)
    assert np.array_equal(dy, before)
    assert dx.dtype == np.float32 and dx.shape == case[:4]
    assert layer.grads == {} and layer.count_params() == 0


# ------------------------------------------------------------- gradient check
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_check(case, backend):
    errors = check_layer(_layer(case), _distinct_input(case))
    assert errors["input"] < 1e-7, errors


# ---------------------------------------------------------------- Keras parity
@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("make_input", [_distinct_input, _tied_input])
def test_keras_parity(case, make_input, backend):
    layer, keras_layer = _layer(case), _keras_layer(case)
    keras_layer.build((None, *case[1:4]))
    assert_parity(layer, keras_layer, make_input(case))


def test_tied_inputs_really_have_ties():
    """Guard for the parity test above: the tie rule must be exercised."""
    case = CASES[6]                                     # 2x2 windows, stride 1
    x = _tied_input(case)
    windows = np.stack([x[:, i:i + 5, j:j + 4, :] for i in (0, 1) for j in (0, 1)])
    tied = (windows == windows.max(axis=0)).sum(axis=0) > 1
    assert tied.mean() > 0.3


# ------------------------------------------------------------ average pooling
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_average_matches_direct_loop_reference(case):
    x = _normal_input(case)
    strides = case[5] or case[4]
    y, cache = average_pool2d_forward(
        x, pool_geometry(x.shape[1:3], case[4], case[5], case[6]))
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dx = average_pool2d_backward(dy, cache)
    y_ref, dx_ref = average_pool2d_reference(x, dy, case[4], strides, case[6])
    assert y.shape == y_ref.shape
    assert rel_error(y, y_ref) < 1e-14
    assert rel_error(dx, dx_ref) < 1e-14


def test_same_padding_divides_by_the_real_pixels_only():
    """Keras's rule (checked against Keras 3.15 / TensorFlow): a border window
    is the mean of its real pixels; the padding is neither summed nor counted."""
    x = np.arange(25.0).reshape(1, 5, 5, 1)
    y, cache = average_pool2d_forward(x, pool_geometry((5, 5), (2, 2), None, "same"))
    assert np.array_equal(y[0, :, :, 0], [[3.0, 5.0, 6.5], [13.0, 15.0, 16.5],
                                          [20.5, 22.5, 24.0]])   # 24: the corner alone
    dx = average_pool2d_backward(np.ones(y.shape), cache)
    assert np.array_equal(dx[0, :, :, 0], [[0.25] * 4 + [0.5]] * 4 + [[0.5] * 4 + [1.0]])
    ones = np.ones((2, 4, 7, 3))                        # a constant image stays constant
    y, _ = average_pool2d_forward(ones, pool_geometry((4, 7), 3, 1, "same"))
    assert np.array_equal(y, ones)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_average_gradient_check(case, backend):
    errors = check_layer(_layer(case, pool="AveragePooling2D"), _normal_input(case))
    assert errors["input"] < 1e-7, errors


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_average_keras_parity(case, backend):
    layer = _layer(case, pool="AveragePooling2D")
    keras_layer = _keras_layer(case, pool="AveragePooling2D")
    keras_layer.build((None, *case[1:4]))
    assert_parity(layer, keras_layer, _normal_input(case))


# ---------------------------------------------------- both layers: shapes, errors
@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_shape_matches_keras(case, pool):
    layer = _layer(case, pool=pool)
    in_shape = (None, *case[1:4])
    expected = tuple(_keras_layer(case, pool).compute_output_shape(in_shape))
    assert layer.compute_output_shape(in_shape) == expected
    assert layer.forward(_distinct_input(case)).shape == (case[0], *expected[1:])


@pytest.mark.parametrize("layer_class", POOLS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_shape_is_the_size_formula_and_the_forward_shape(case, layer_class):
    """'valid': floor((n - p) / s) + 1; 'same': ceil(n / s); strides default to
    the pool size. E.g. 10 x 7, pool 3, stride 3: 'valid' 3 x 2, 'same' 4 x 3."""
    n, h, w, c, pool, strides, padding = case
    strides = strides or pool
    if padding == "valid":
        out = [(size - p) // s + 1 for size, p, s in zip((h, w), pool, strides)]
    else:
        out = [-(-size // s) for size, s in zip((h, w), strides)]
    layer = _layer(case, pool=layer_class)
    assert layer.compute_output_shape((None, h, w, c)) == (None, *out, c)
    assert layer.forward(_distinct_input(case)).shape == (n, *out, c)


@pytest.mark.parametrize("pool", POOLS)
def test_output_shape_with_unknown_sizes(pool):
    layer = getattr(layers, pool)(2)
    assert layer.compute_output_shape((None, 13, None, 4)) == (None, 6, None, 4)
    assert getattr(layers, pool)(2, padding="same").compute_output_shape(
        (None, None, 13, 4)) == (None, None, 7, 4)


@pytest.mark.parametrize("pool", POOLS)
def test_defaults_follow_keras(pool):
    layer = getattr(layers, pool)()
    assert (layer.pool_size, layer.strides, layer.padding) == ((2, 2), (2, 2), "valid")
    assert getattr(layers, pool)(3, strides=1).strides == (1, 1)
    assert getattr(layers, pool)(padding="SAME").padding == "same"


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, error, argument", [
    ({"padding": "foo"}, ValueError, "padding"),
    ({"pool_size": 0}, ValueError, "pool_size"),
    ({"pool_size": (2, -1)}, ValueError, "pool_size"),
    ({"pool_size": (2, 2, 2)}, ValueError, "pool_size"),
    ({"pool_size": 2.0}, TypeError, "pool_size"),
    ({"strides": 0}, ValueError, "strides"),
    ({"strides": (1, 0)}, ValueError, "strides"),
])
@pytest.mark.parametrize("pool", POOLS)
def test_bad_arguments_name_the_argument(kwargs, error, argument, pool):
    with pytest.raises(error, match=argument):
        getattr(layers, pool)(**kwargs)
    with pytest.raises(error, match=argument):
        pool_geometry((4, 4), **{"pool_size": 2, **kwargs})


@pytest.mark.parametrize("pool", POOLS)
def test_pool_larger_than_valid_input(pool):
    x = np.zeros((1, 2, 5, 1))
    with pytest.raises(ValueError, match=r"pool_size \(3, 3\).*\(2, 5\)"):
        getattr(layers, pool)(3)(x)
    with pytest.raises(ValueError, match=r"pool_size \(3, 3\).*\(2, 5\)"):
        getattr(layers, pool)(3).compute_output_shape((None, 2, 5, 1))
    with pytest.raises(ValueError, match="pool_size"):
        pool_geometry(x.shape[1:3], 3)
    assert getattr(layers, pool)(3, padding="same")(x).shape == (1, 1, 2, 1)


@pytest.mark.parametrize("pool", POOLS)
def test_wrong_rank_and_empty_input(pool):
    with pytest.raises(ValueError, match="rank"):
        getattr(layers, pool)()(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match=r"\(height, width\) must be >= 1"):
        pool_geometry((0, 4), 2, padding="same")
