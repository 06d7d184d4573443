"""Augmentation and the streaming batch iterator."""
import numpy as np
import pytest

from minicnn.data import Augmenter, BatchIterator, left_right_axis, one_hot
from minicnn.data.augment import _rotation_coords


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=(10, 8, 6))
    x = (y[..., None] + rng.normal(0, 0.1, size=(10, 8, 6, 2))).astype(np.float64)
    return x, y


def test_left_right_axis():
    ras = np.diag([2.0, 2.0, 2.0, 1.0])
    assert left_right_axis(ras, 2) == 1          # axial (X, Y): X is H
    assert left_right_axis(ras, 1) == 1          # coronal (X, Z)
    assert left_right_axis(ras, 0) is None       # sagittal: no left-right axis
    permuted = np.array([[0, 0, -1.0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1]])
    assert left_right_axis(permuted, 0) == 2     # voxel axis 2 runs left-right
    assert left_right_axis(permuted, 2) is None
    with pytest.raises(ValueError, match="affine must be 4 x 4"):
        left_right_axis(np.eye(3), 0)
    with pytest.raises(ValueError, match="slice_axis must be 0, 1 or 2"):
        left_right_axis(ras, 3)


def test_flip_only(data):
    x, y = data
    aug = Augmenter(flip_axis=1, max_rotation=0, gain=0, shift=0)
    xa, ya = aug(x, y, np.random.default_rng(3))
    assert xa.dtype == np.float32
    flipped = [not np.array_equal(ya[i], y[i]) for i in range(len(y))]
    assert 0 < sum(flipped) < len(y)
    for i in range(len(y)):
        src_y = y[i][::-1] if flipped[i] else y[i]
        src_x = x[i][::-1] if flipped[i] else x[i]
        np.testing.assert_array_equal(ya[i], src_y)
        np.testing.assert_allclose(xa[i], src_x.astype(np.float32))


def test_rotation_by_90_degrees_is_exact_on_a_square():
    h = 5
    coords = _rotation_coords(h, h, np.pi / 2).reshape(h, h, 2)
    image = np.arange(h * h).reshape(h, h)
    rotated = image[tuple(np.rint(coords).astype(int).transpose(2, 0, 1))]
    np.testing.assert_array_equal(rotated, np.rot90(image, k=1))


def test_rotation_keeps_labels_and_image_aligned():
    # Blocky labels (quadrants and a square), and an image equal to them.
    y = np.zeros((4, 20, 16), int)
    y[:, :10, 8:] = 1
    y[:, 10:, :8] = 2
    y[:, 5:15, 4:12] = 3
    x = y[..., None].astype(np.float32)
    aug = Augmenter(max_rotation=30, gain=0, shift=0)
    xa, ya = aug(x, y, np.random.default_rng(0))
    assert all(not np.array_equal(ya[i], y[i]) for i in range(4))
    # Away from block borders the bilinear image equals the nearest label; a
    # mismatch in angle or centre between the two would break this.
    agree = np.isclose(xa[..., 0], ya, atol=1e-4)
    assert agree.mean() > 0.75


def test_intensity_jitter_and_inputs_untouched(data):
    x, y = data
    x0, y0 = x.copy(), y.copy()
    aug = Augmenter(max_rotation=0, gain=0.2, shift=0.5, noise=0.0)
    xa, ya = aug(x, y, np.random.default_rng(0))
    np.testing.assert_array_equal(ya, y)
    for i in range(len(x)):                          # x' = a x + b, one (a, b) per image
        a, b = np.polyfit(x[i].ravel(), xa[i].ravel(), 1)
        assert 0.8 <= a <= 1.2 and -0.5 <= b <= 0.5
        np.testing.assert_allclose(xa[i], a * x[i] + b, atol=1e-4)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_augmenter_errors(data):
    x, y = data
    with pytest.raises(ValueError, match="flip_axis must be None, 1 \\(H\\) or 2 \\(W\\), got 3"):
        Augmenter(flip_axis=3)
    with pytest.raises(ValueError, match="max_rotation must be a number in \\[0, 180\\)"):
        Augmenter(max_rotation=-5)
    with pytest.raises(ValueError, match="gain must be a number in \\[0, 1\\)"):
        Augmenter(gain=1.5)
    with pytest.raises(ValueError, match=r"y must be \(N, H, W\) = \(10, 8, 6\), got \(10, 6, 8\)"):
        Augmenter()(x, y.transpose(0, 2, 1), np.random.default_rng(0))


def test_batches_cover_an_epoch_once(data):
    x, y = data
    it = BatchIterator(x, y, batch_size=4, n_classes=4, seed=0)
    assert len(it) == 3
    batches = list(it)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    xb = np.concatenate([b[0] for b in batches])
    yb = np.concatenate([b[1] for b in batches])
    assert xb.dtype == np.float32 and yb.dtype == np.float32 and yb.shape == (10, 8, 6, 4)
    order = [int(np.argmin(np.abs(x.astype(np.float32) - xi).sum(axis=(1, 2, 3)))) for xi in xb]
    assert sorted(order) == list(range(10)) and order != list(range(10))
    np.testing.assert_array_equal(yb, one_hot(y[order], 4))


def test_batches_reproducible_and_epochs_differ(data):
    x, y = data
    def epochs(seed):
        it = BatchIterator(x, y, batch_size=3, n_classes=4, seed=seed,
                           augment=Augmenter(flip_axis=2))
        return [[b[0] for b in it] for _ in range(2)]
    a, b = epochs(5), epochs(5)
    for ea, eb in zip(a, b):
        for ba, bb in zip(ea, eb):
            np.testing.assert_array_equal(ba, bb)
    assert not np.array_equal(a[0][0], a[1][0])


def test_batches_integer_labels_drop_remainder_no_shuffle(data):
    x, y = data
    it = BatchIterator(x, y, batch_size=4, one_hot=False, shuffle=False, drop_remainder=True)
    batches = list(it)
    assert len(it) == len(batches) == 2
    np.testing.assert_array_equal(batches[1][1], y[4:8])
    assert batches[1][1].dtype == np.int32


def test_batch_errors(data):
    x, y = data
    with pytest.raises(ValueError, match="n_classes is required when one_hot=True"):
        BatchIterator(x, y)
    with pytest.raises(ValueError, match=r"y must lie in \[0, n_classes=3\), got values in \[0, 3\]"):
        BatchIterator(x, y, n_classes=3)
    with pytest.raises(ValueError, match=r"y must be \(N, H, W\) = \(10, 8, 6\) to match x"):
        BatchIterator(x, y[:5], n_classes=4)
    with pytest.raises(TypeError, match="y must hold integer labels"):
        BatchIterator(x, y.astype(float), n_classes=4)
    with pytest.raises(ValueError, match="x must have rank 4"):
        BatchIterator(x[..., 0], y, n_classes=4)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        BatchIterator(x, y, batch_size=0, n_classes=4)
    with pytest.raises(TypeError, match="augment must be an Augmenter or a callable"):
        BatchIterator(x, y, n_classes=4, augment="flip")
    with pytest.raises(ValueError, match="would yield no batch"):
        BatchIterator(x, y, batch_size=32, n_classes=4, drop_remainder=True)
    with pytest.raises(ValueError, match="at least one example"):
        BatchIterator(x[:0], y[:0], n_classes=4)
