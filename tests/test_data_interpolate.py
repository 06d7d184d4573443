"""Linear and nearest sampling against point-by-point loop oracles."""
import itertools

import numpy as np
import pytest

from minicnn.data import linear_sample, nearest_sample


def reference_linear(array, point):
    """Multilinear interpolation at one point, corner by corner; 0 outside."""
    spatial = array.shape[:-1]
    base = np.floor(point).astype(int)
    frac = point - base
    value = np.zeros(array.shape[-1])
    for corner in itertools.product((0, 1), repeat=len(spatial)):
        index = base + np.array(corner)
        if all(0 <= i < n for i, n in zip(index, spatial)):
            weight = np.prod([f if b else 1 - f for f, b in zip(frac, corner)])
            value += weight * array[tuple(index)]
    return value


@pytest.mark.parametrize("shape", [(5, 4, 3), (6, 3, 4, 2), (7, 1)])
def test_linear_matches_loops(shape):
    rng = np.random.default_rng(0)
    array = rng.normal(size=shape)
    d = len(shape) - 1
    # Points inside, on the border, and partly or wholly outside the grid.
    coords = rng.uniform(-1.5, np.array(shape[:-1]) + 0.5, size=(60, d))
    coords[:5] = np.floor(coords[:5])                       # exactly on grid points
    out = linear_sample(array, coords, dtype=np.float64)
    expected = np.stack([reference_linear(array, c) for c in coords])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_linear_is_exact_on_the_grid_and_float32_by_default():
    array = np.arange(24.0).reshape(2, 3, 4, 1)
    grid = np.stack(np.meshgrid(*map(np.arange, (2, 3, 4)), indexing="ij"), -1).reshape(-1, 3)
    out = linear_sample(array, grid)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0], np.arange(24.0))


def test_probabilities_stay_probabilities():
    rng = np.random.default_rng(1)
    p = rng.random((4, 5, 6, 3))
    p /= p.sum(-1, keepdims=True)
    out = linear_sample(p, rng.uniform(0, 3, (100, 3)), dtype=np.float64)
    np.testing.assert_allclose(out.sum(-1), 1, rtol=1e-12)


def test_nearest_matches_loops():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 5, size=(6, 5, 1))
    coords = rng.uniform(-1, 6, size=(50, 2))
    out = nearest_sample(labels, coords, fill=9)
    for value, c in zip(out[:, 0], coords):
        i, j = np.rint(c).astype(int)
        expected = labels[i, j, 0] if 0 <= i < 6 and 0 <= j < 5 else 9
        assert value == expected


def test_errors():
    with pytest.raises(ValueError, match=r"coords must be \(P, d\)"):
        linear_sample(np.zeros((3, 3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="array must have 2 spatial axes plus one channel axis"):
        linear_sample(np.zeros((3, 3, 3, 1)), np.zeros((4, 2)))
    with pytest.raises(TypeError, match="coords must hold numbers"):
        nearest_sample(np.zeros((3, 1)), np.array([["a"]]))
