"""Add and Concatenate: oracle, gradient checks, Keras parity, shape errors.

Concatenate runs on every axis, including the batch axis 0 (which Keras
accepts), with inputs of different sizes on that axis; N > 1, C > 1, H != W.
"""
import numpy as np
import pytest

from keras_helpers import assert_parity
from minicnn import layers
from minicnn.gradcheck import check_layer

# Input shapes for Concatenate(axis): equal except on axis.
CONCAT_CASES = [
    (-1, [(2, 5, 3, 4), (2, 5, 3, 2)]),
    (3, [(2, 4, 6, 1), (2, 4, 6, 3), (2, 4, 6, 2)]),   # three inputs
    (1, [(2, 3, 4, 2), (2, 5, 4, 2)]),
    (2, [(3, 4, 2, 2), (3, 4, 5, 2)]),
    (-3, [(2, 1, 3, 2), (2, 4, 3, 2)]),
    (0, [(2, 3, 4, 2), (1, 3, 4, 2)]),                 # batch axis
]
ADD_CASES = [
    [(2, 5, 3, 4)] * 2,
    [(3, 4, 7, 2)] * 3,
]


def _inputs(shapes, seed=41):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


# ------------------------------------------------------------------- oracles
@pytest.mark.parametrize("axis, shapes", CONCAT_CASES)
def test_concatenate_matches_oracle_and_splits_back(axis, shapes):
    xs = _inputs(shapes)
    layer = layers.Concatenate(axis=axis, dtype="float64")
    y = layer(xs)
    a = axis % 4
    offset = 0
    for x in xs:                                  # each input sits in its slice
        for index in np.ndindex(x.shape):
            moved = list(index)
            moved[a] += offset
            assert y[tuple(moved)] == x[index]
        offset += x.shape[a]
    assert y.shape[a] == offset
    dy = np.random.default_rng(0).standard_normal(y.shape)
    dxs = layer.backward(dy)
    assert [d.shape for d in dxs] == [x.shape for x in xs]
    np.testing.assert_array_equal(np.concatenate(dxs, axis=a), dy)


def test_add_matches_oracle():
    xs = _inputs([(2, 3, 4, 2)] * 3)
    y = layers.Add(dtype="float64")(xs)
    expected = np.empty_like(xs[0])
    for index in np.ndindex(expected.shape):
        expected[index] = xs[0][index] + xs[1][index] + xs[2][index]
    np.testing.assert_array_equal(y, expected)


# ------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("axis, shapes", CONCAT_CASES)
def test_concatenate_gradients(axis, shapes, backend):
    errors = check_layer(layers.Concatenate(axis=axis, dtype="float64"), _inputs(shapes))
    assert len(errors) == len(shapes)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("shapes", ADD_CASES)
def test_add_gradients(shapes):
    errors = check_layer(layers.Add(dtype="float64"), _inputs(shapes))
    assert len(errors) == len(shapes)
    assert max(errors.values()) < 1e-7, errors


def test_input_gradients_are_independent_arrays():
    for layer, shapes in [(layers.Add(), [(2, 3, 4, 2)] * 2),
                          (layers.Concatenate(), [(2, 3, 4, 2), (2, 3, 4, 1)])]:
        y = layer(_inputs(shapes))
        dy = np.ones_like(y)
        dxs = layer.backward(dy)
        dxs[0] += 5.0                               # a caller accumulating in place
        assert np.all(dy == 1.0) and np.all(dxs[1] == 1.0)


# ---------------------------------------------------------------- Keras parity
@pytest.mark.parametrize("axis, shapes", CONCAT_CASES)
def test_concatenate_keras_parity(axis, shapes, backend, keras):
    assert_parity(layers.Concatenate(axis=axis, dtype="float64"),
                  keras.layers.Concatenate(axis=axis, dtype="float64"), _inputs(shapes))


@pytest.mark.parametrize("shapes", ADD_CASES)
def test_add_keras_parity(shapes, keras):
    assert_parity(layers.Add(dtype="float64"), keras.layers.Add(dtype="float64"),
                  _inputs(shapes))


# ------------------------------------------------------------- shapes, dtype
def test_unet_skip_concatenation_shape():
    layer = layers.Concatenate(axis=3)
    assert layer.compute_output_shape([(None, 52, 52, 128), (None, 52, 52, 64)]) == \
        (None, 52, 52, 192)
    assert layers.Concatenate(axis=0).compute_output_shape(
        [(None, 4, 4, 2), (3, 4, 4, 2)]) == (None, 4, 4, 2)
    assert layers.Add().compute_output_shape([(None, 4, 5, 2), (None, 4, 5, 2)]) == \
        (None, 4, 5, 2)


def test_float32_by_default():
    for layer in (layers.Add(), layers.Concatenate()):
        y = layer(_inputs([(2, 3, 4, 2)] * 2))
        assert y.dtype == np.float32
        assert all(d.dtype == np.float32 for d in layer.backward(np.ones_like(y)))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("shapes", [
    [(2, 3, 4, 2), (2, 3, 4, 1)],          # Keras would broadcast this; we refuse
    [(2, 3, 4, 2), (2, 4, 3, 2)],
    [(2, 3, 4, 2), (3, 3, 4, 2)],          # batch sizes differ
    [(2, 3, 4, 2), (2, 3, 4, 2), (2, 3, 5, 2)],
])
def test_add_mismatched_shapes(shapes):
    with pytest.raises(ValueError, match=r"inputs.*same shape.*" + str(shapes[-1])
                       .replace("(", r"\(").replace(")", r"\)")):
        layers.Add()(_inputs(shapes))


@pytest.mark.parametrize("axis, shapes", [
    (-1, [(2, 3, 4, 2), (2, 3, 5, 2)]),
    (1, [(2, 3, 4, 2), (2, 3, 4, 3)]),
    (3, [(2, 3, 4, 2), (1, 3, 4, 2)]),     # batch sizes differ off the batch axis
])
def test_concatenate_mismatched_shapes(axis, shapes):
    pattern = (r"inputs.*except on the concatenation axis.*"
               + str(shapes[1]).replace("(", r"\(").replace(")", r"\)"))
    with pytest.raises(ValueError, match=pattern):
        layers.Concatenate(axis=axis)(_inputs(shapes))


def test_mismatch_is_found_at_build_time():
    with pytest.raises(ValueError, match=r"\(None, 52, 52, 128\).*\(None, 51, 52, 64\)"):
        layers.Concatenate(axis=3).build([(None, 52, 52, 128), (None, 51, 52, 64)])
    with pytest.raises(ValueError, match=r"same shape"):
        layers.Add().build([(None, 4, 4, 2), (None, 4, 4, 3)])


@pytest.mark.parametrize("axis, error", [(4, ValueError), (-5, ValueError),
                                         (1.0, TypeError), (None, TypeError)])
def test_concatenate_bad_axis(axis, error):
    with pytest.raises(error, match=rf"axis.*{axis!r}"):
        layers.Concatenate(axis=axis)


@pytest.mark.parametrize("layer_class", [layers.Add, layers.Concatenate])
def test_needs_a_list_of_two_or_more(layer_class):
    with pytest.raises(TypeError, match=r"list of two or more"):
        layer_class()(np.ones((2, 3, 4, 2)))
    with pytest.raises(TypeError, match=r"list of two or more"):
        layer_class()([np.ones((2, 3, 4, 2))])


def test_channel_count_changed_after_build():
    layer = layers.Concatenate()
    layer(_inputs([(2, 3, 4, 2), (2, 3, 4, 1)]))
    with pytest.raises(ValueError, match=r"inputs\[1\].*\(2, 3, 4, 5\).*axis 3 must be 1"):
        layer(_inputs([(2, 3, 4, 2), (2, 3, 4, 5)]))
