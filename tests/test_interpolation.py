"""The half-pixel linear interpolation matrix shared by bilinear upsampling and
volume resampling: hand-made examples, and bit-for-bit equality with the two
formulas it replaced, on many sizes."""
import numpy as np
import pytest

from minicnn.functional.interpolation import linear_interpolation_matrix
from minicnn.functional.upsampling import bilinear_matrix


# Why two old formulas are kept here. linear_interpolation_matrix is the one
# copy of a matrix that two modules computed each on its own until commit
# ed1d202: old_bilinear_matrix is functional/upsampling.py's bilinear_matrix
# and old_volume_matrix is _interpolation_matrix of minicnn/cli/volumes.py (a
# module deleted since; it resampled volumes for minicnn predict), both
# copied verbatim from commit abf49bf. They are frozen oracles, written-out
# second implementations that the shared helper must reproduce bit for bit,
# so that bilinear upsampling and volume resampling compute exactly the
# numbers those two formulas compute. Neither is redundant: old_bilinear_matrix
# covers integer factors only, in float64 and float32; old_volume_matrix
# covers every ratio, with its own rule for the last interval and float32
# from the start; the hand-made examples below check a few cases only.
# Change them only with a deliberate change of the helper's numbers.


def old_bilinear_matrix(n, scale, dtype=np.float64):
    """functional/upsampling.py's bilinear_matrix as it computed it on its own
    (integer factors only), frozen."""
    out = np.arange(n * scale)
    src = np.clip((out + 0.5) / scale - 0.5, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = src - lo
    matrix = np.zeros((n * scale, n))
    matrix[out, lo] += 1 - frac
    matrix[out, hi] += frac
    return matrix.astype(dtype)


def old_volume_matrix(n_out, n_in, ratio):
    """cli/volumes.py's _interpolation_matrix, frozen: another rule for the
    last interval (low never n_in - 1) and float32 from the start."""
    u = np.clip((np.arange(n_out) + 0.5) * ratio - 0.5, 0, n_in - 1)
    low = np.minimum(np.floor(u).astype(int), max(n_in - 2, 0))
    frac = u - low
    weights = np.zeros((n_out, n_in), dtype=np.float32)
    weights[np.arange(n_out), low] += 1 - frac
    weights[np.arange(n_out), np.minimum(low + 1, n_in - 1)] += frac
    return weights


def assert_bitwise_equal(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()          # -0.0 against 0.0 would show here too


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bilinear_matrix_is_unchanged_bit_for_bit(dtype):
    """n = 1 .. 40 and every factor 1 .. 9 (3, 5, 6, 7, 9 are where reading
    (o + 1/2) * (1/s) instead of (o + 1/2) / s would change the last bit)."""
    for n in range(1, 41):
        for scale in range(1, 10):
            assert_bitwise_equal(bilinear_matrix(n, scale, dtype),
                                 old_bilinear_matrix(n, scale, dtype))


def test_volume_resampling_matrix_is_unchanged_bit_for_bit():
    """Every pair of sizes 1 .. 30 with the ratio that keeps the field of view
    (n_in / n_out, as grid_for_voxel_size makes), and arbitrary ratios."""
    ratios = (0.5, 1.0, 1.5, 2.0, 0.3, 1.7, 2.0 / 3.0, 3.0)
    for n_in in range(1, 31):
        for n_out in range(1, 31):
            for ratio in (n_in / n_out,) + ratios:
                assert_bitwise_equal(
                    linear_interpolation_matrix(n_out, n_in, ratio, 1, dtype=np.float32),
                    old_volume_matrix(n_out, n_in, ratio))


def test_the_two_old_rules_agree_where_both_apply():
    """Upsampling by s is resampling with ratio 1/s: the old volume formula,
    with 1/s rounded, lands within an ulp of the old bilinear one."""
    for n in range(1, 25):
        for scale in range(1, 7):
            np.testing.assert_allclose(old_volume_matrix(n * scale, n, 1 / scale),
                                       old_bilinear_matrix(n, scale, np.float32),
                                       rtol=0, atol=1e-7)


def test_examples_by_hand():
    up = linear_interpolation_matrix(6, 3, 1, 2)
    np.testing.assert_array_equal(up, [[1, 0, 0], [0.75, 0.25, 0], [0.25, 0.75, 0],
                                       [0, 0.75, 0.25], [0, 0.25, 0.75], [0, 0, 1]])
    down = linear_interpolation_matrix(3, 6, 2, 1)          # means of neighbouring pairs
    np.testing.assert_array_equal(down, [[0.5, 0.5, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0, 0],
                                         [0, 0, 0, 0, 0.5, 0.5]])
    np.testing.assert_array_equal(linear_interpolation_matrix(4, 1, 0.7, 1), np.ones((4, 1)))
    np.testing.assert_array_equal(linear_interpolation_matrix(5, 5, 2.5, 2.5), np.eye(5))
    # Only the ratio of the spacings matters (up to rounding).
    np.testing.assert_allclose(linear_interpolation_matrix(7, 5, 2.0, 2.8),
                               linear_interpolation_matrix(7, 5, 5, 7), rtol=0, atol=1e-15)


def test_rows_are_non_negative_and_sum_to_one():
    for n_out, n_in, out_spacing in [(17, 5, 0.3), (4, 23, 5.75), (9, 9, 1.1), (1, 8, 8)]:
        matrix = linear_interpolation_matrix(n_out, n_in, out_spacing, 1)
        assert matrix.shape == (n_out, n_in) and matrix.min() >= 0
        np.testing.assert_allclose(matrix.sum(axis=1), 1, rtol=1e-15)
        assert ((matrix > 0).sum(axis=1) <= 2).all()        # two neighbours at most


@pytest.mark.parametrize("args, error, words", [
    ((0, 3, 1, 1), ValueError, "n_out must be an integer >= 1, got 0"),
    ((3, 2.0, 1, 1), TypeError, "n_in must be an integer >= 1, got 2.0"),
    ((3, 3, 0, 1), ValueError, "out_spacing must be a finite number > 0, got 0"),
    ((3, 3, 1, float("inf")), ValueError, "in_spacing must be a finite number > 0, got inf"),
    ((3, 3, True, 1), TypeError, "out_spacing must be a finite number > 0, got True"),
])
def test_errors_name_the_argument(args, error, words):
    with pytest.raises(error) as caught:
        linear_interpolation_matrix(*args)
    assert words in str(caught.value)
