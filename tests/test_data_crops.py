"""Random crops of slices: windows, brain-centred draws, seeds, refusals."""
import numpy as np
import pytest

from minicnn import datasets
from minicnn.data import SynthGenerator, random_crops, synth


@pytest.fixture
def slices():
    """5 slices of 20 x 30 with 2 channels; slice 2 has no brain; brain blocks
    elsewhere, one of them in a corner."""
    rng = np.random.default_rng(0)
    y = np.zeros((5, 20, 30), np.int32)
    y[0, 5:10, 5:12] = 1
    y[1, 0:3, 26:30] = 3                        # a corner: windows must be moved inside
    y[3, 8:18, 2:28] = rng.integers(1, 4, (10, 26))
    y[4, 15:20, 0:4] = 2
    x = rng.normal(size=(5, 20, 30, 2)).astype(np.float32)
    return x, y


def test_crops_are_windows_of_their_slices(slices):
    x, y = slices
    xc, yc, where = random_crops(x, y, (8, 10), per_slice=3, seed=1)
    assert xc.shape == (15, 8, 10, 2) and yc.shape == (15, 8, 10) and where.shape == (15, 3)
    assert xc.dtype == x.dtype and yc.dtype == y.dtype
    np.testing.assert_array_equal(where[:, 0], np.repeat(np.arange(5), 3))
    for (i, r0, c0), xi, yi in zip(where, xc, yc):
        assert 0 <= r0 <= 20 - 8 and 0 <= c0 <= 30 - 10
        np.testing.assert_array_equal(xi, x[i, r0:r0 + 8, c0:c0 + 10])
        np.testing.assert_array_equal(yi, y[i, r0:r0 + 8, c0:c0 + 10])
        if y[i].any():
            assert yi.any()                     # the centre is a brain voxel


def test_same_seed_same_crops(slices):
    x, y = slices
    a = random_crops(x, y, (8, 10), per_slice=4, seed=7)
    b = random_crops(x, y, (8, 10), per_slice=4, seed=7)
    c = random_crops(x, y, (8, 10), per_slice=4, seed=8)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[2], c[2])


def test_centres_are_uniform_over_the_brain():
    """Brain blocks of 2 and 6 voxels: crops are centred on them 1 : 3."""
    y = np.zeros((1, 40, 40), np.int32)
    y[0, 2, 2:4] = 1                             # 2 voxels
    y[0, 30, 30:36] = 2                          # 6 voxels
    x = y[..., None].astype(np.float32)
    _, _, where = random_crops(x, y, (1, 1), per_slice=4000, seed=0)
    on_first = (where[:, 1] == 2).mean()
    assert abs(on_first - 0.25) < 0.03
    assert set(map(tuple, where[:, 1:])) <= {(2, 2), (2, 3)} | {(30, c) for c in range(30, 36)}


def test_slices_without_brain_draw_anywhere(slices):
    x, y = slices
    _, _, where = random_crops(x, y, (4, 4), per_slice=500, seed=0)
    empty = where[where[:, 0] == 2]
    assert empty[:, 1].min() == 0 and empty[:, 1].max() == 16       # whole range
    assert empty[:, 2].min() == 0 and empty[:, 2].max() == 26


def test_a_crop_of_the_whole_slice_is_the_slice(slices):
    x, y = slices
    xc, yc, where = random_crops(x, y, (20, 30), seed=0)
    np.testing.assert_array_equal(xc, x)
    np.testing.assert_array_equal(yc, y)
    assert (where[:, 1:] == 0).all()


def test_one_mm_crops_hold_more_brain_than_slices():
    """112 x 112 crops of 1 mm axial slices: the scale of a 2 mm slice (80 x 96)."""
    generator = SynthGenerator(datasets.icbm152(1), seed=0, **synth.preset("train"))
    x, y, _ = generator.slices(0, axis=2, positions=np.arange(20, 140, 6))
    xc, yc, _ = random_crops(x, y, 112, per_slice=2, seed=3)
    assert xc.shape == (40, 112, 112, 1)
    assert (yc > 0).mean() > (y > 0).mean() + 0.1
    assert (yc.reshape(40, -1) > 0).mean(axis=1).min() > 0.05


def test_errors(slices):
    x, y = slices
    with pytest.raises(ValueError, match=r"size \(21, 10\) exceeds the slices' H x W "
                                         r"\(20, 30\); pad the slices first"):
        random_crops(x, y, (21, 10))
    with pytest.raises(ValueError, match=r"size \(8, 31\) exceeds"):
        random_crops(x, y, (8, 31))
    with pytest.raises(ValueError, match="size values must be >= 1"):
        random_crops(x, y, (0, 4))
    with pytest.raises(ValueError, match="size must be an int or a tuple of 2 ints"):
        random_crops(x, y, (4, 4, 4))
    with pytest.raises(ValueError, match="per_slice must be an integer >= 1, got 0"):
        random_crops(x, y, 4, per_slice=0)
    with pytest.raises(TypeError, match="y must hold integer labels, got dtype float32"):
        random_crops(x, y.astype(np.float32), 4)
    with pytest.raises(ValueError, match=r"y must be \(N, H, W\) = \(5, 20, 30\), got \(5, 20, 29\)"):
        random_crops(x, y[..., :29], 4)
    with pytest.raises(ValueError, match="x must have rank 4"):
        random_crops(x[..., 0], y, 4)
