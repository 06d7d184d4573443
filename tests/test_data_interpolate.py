"""Linear and nearest sampling against point-by-point loop oracles; resampling
a volume to another voxel size."""
import itertools

import numpy as np
import pytest

from minicnn.data import grid_for_voxel_size, linear_sample, nearest_sample, resample


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


# ------------------------------------------------------------- resampling
def test_identity_and_halving_resampling():
    volume = np.random.default_rng(0).random((5, 6, 7)).astype(np.float32)
    np.testing.assert_allclose(resample(volume, (1, 1, 1), volume.shape), volume)
    halved = resample(volume, (2, 2, 2), (3, 3, 4))
    assert halved.shape == (3, 3, 4)
    np.testing.assert_allclose(halved[0, 0, 0], volume[:2, :2, :2].mean(), rtol=1e-6)


def test_resampling_matches_the_point_sampler():
    """Inside the volume the separable resampling is trilinear interpolation at
    u = (j + 1/2) r - 1/2 per axis: ``linear_sample`` at those points."""
    rng = np.random.default_rng(1)
    volume = rng.random((9, 8, 7, 2))                           # two channels
    ratios, shape = (0.75, 1.6, 1.25), (11, 5, 5)
    out = resample(volume, ratios, shape)
    assert out.shape == shape + (2,) and out.dtype == np.float32
    axes = [(np.arange(n) + 0.5) * r - 0.5 for n, r in zip(shape, ratios)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    inside = ((points >= 0) & (points <= np.array(volume.shape[:3]) - 1)).all(axis=1)
    expected = linear_sample(volume, points[inside], dtype=np.float64)
    np.testing.assert_allclose(out.reshape(-1, 2)[inside], expected, rtol=1e-5)
    assert inside.sum() > 100


def test_resampling_there_and_back_keeps_a_smooth_volume():
    """1 mm -> 2 mm -> 1 mm on a linear ramp: linear interpolation is exact on
    a linear function away from the clamped edges."""
    ramp = np.add.outer(np.add.outer(np.arange(20.0), 2 * np.arange(18.0)),
                        -np.arange(16.0))                        # (20, 18, 16)
    shape, ratios = grid_for_voxel_size(ramp.shape, (1.0, 1.0, 1.0), 2.0)
    assert shape == (10, 9, 8) and ratios == (2.0, 2.0, 2.0)
    coarse = resample(ramp, ratios, shape)
    back = resample(coarse, [m / n for m, n in zip(shape, ramp.shape)], ramp.shape)
    np.testing.assert_allclose(back[2:-2, 2:-2, 2:-2], ramp[2:-2, 2:-2, 2:-2], atol=1e-4)


def test_grid_keeps_the_field_of_view():
    shape, ratios = grid_for_voxel_size((150, 186, 158), np.array([1.0, 1.0, 1.0]), 2.0)
    assert shape == (75, 93, 79) and ratios == (2.0, 2.0, 2.0)
    shape, ratios = grid_for_voxel_size((10, 7, 3), (0.9, 1.3, 0.2), 2.0)
    assert shape == (4, 5, 1)                      # round(4.5) = 4, round(4.55) = 5, at least 1
    np.testing.assert_allclose(ratios, (10 / 4, 7 / 5, 3 / 1))


@pytest.mark.parametrize("call, error, words", [
    (lambda: resample(np.zeros((3, 3)), (1, 1, 1), (3, 3, 3)), ValueError,
     "volume must be (X, Y, Z) or (X, Y, Z, C), got shape (3, 3)"),
    (lambda: resample(np.zeros((3, 3, 3)), (1, 0, 1), (3, 3, 3)), ValueError,
     "ratios[1] must be a finite number > 0, got 0"),
    (lambda: resample(np.zeros((3, 3, 3)), (1, 1), (3, 3, 3)), ValueError,
     "ratios must be three numbers > 0, one per spatial axis, got (1, 1)"),
    (lambda: resample(np.zeros((3, 3, 3)), (1, 1, 1), (3, 0, 3)), ValueError,
     "shape values must be >= 1, got (3, 0, 3)"),
    (lambda: grid_for_voxel_size((3, 3, 3), (1, 1, 1), -2), ValueError,
     "target_mm must be a finite number > 0, got -2"),
    (lambda: grid_for_voxel_size((3, 3, 3), (1, np.nan, 1), 2), ValueError,
     "voxel_mm[1] must be a finite number > 0, got nan"),
])
def test_resampling_errors_name_the_argument(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)
