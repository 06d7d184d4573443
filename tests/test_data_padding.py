"""Pad/crop to a multiple of 2**depth: smallest change, centred, undone exactly."""
import numpy as np
import pytest

from minicnn.data import Margins, crop_to_multiple, pad_to_multiple, undo_margins


def reference_pad(x, multiple, axes):
    """Direct construction: allocate the target and copy x into its centre."""
    shape = list(x.shape)
    starts = [0] * x.ndim
    for a in axes:
        target = -(-x.shape[a] // multiple) * multiple
        starts[a] = (target - x.shape[a]) // 2
        shape[a] = target
    out = np.zeros(shape, x.dtype)
    out[tuple(slice(s, s + n) for s, n in zip(starts, x.shape))] = x
    return out


@pytest.mark.parametrize("shape, multiple, axes", [
    ((2, 110, 92, 1), 8, (1, 2)),       # the course's slices, depth-3 U-Net
    ((3, 7, 12, 2), 4, (1, 2)),
    ((1, 16, 9, 3), 16, (1, 2)),
    ((5, 9, 11), 2, (0, 1, 2)),
    ((4, 6, 5), 3, (-1,)),
])
def test_pad_then_undo_is_identity(shape, multiple, axes):
    x = np.random.default_rng(0).normal(size=shape)
    padded, margins = pad_to_multiple(x, multiple, axes)
    for a in margins.axes:
        assert padded.shape[a] % multiple == 0
        assert 0 <= padded.shape[a] - x.shape[a] < multiple       # the smallest pad
    np.testing.assert_array_equal(padded, reference_pad(x, multiple, margins.axes))
    np.testing.assert_array_equal(undo_margins(padded, margins), x)


def test_course_sizes():
    padded, margins = pad_to_multiple(np.ones((1, 110, 92, 1)), 2 ** 3)
    assert padded.shape == (1, 112, 96, 1)                 # not 144
    assert margins.before == (1, 2) and margins.after == (1, 2)
    padded, margins = pad_to_multiple(np.ones((1, 93, 79, 1)), 8)
    assert padded.shape == (1, 96, 80, 1)
    assert margins.before == (1, 0) and margins.after == (2, 1)  # odd extra at the end


def test_undo_keeps_other_axes():
    x = np.ones((2, 10, 6, 1))
    padded, margins = pad_to_multiple(x, 8)
    prediction = np.random.default_rng(0).random(padded.shape[:3] + (4,))  # K = 4 channels
    restored = undo_margins(prediction, margins)
    assert restored.shape == (2, 10, 6, 4)
    np.testing.assert_array_equal(restored, prediction[:, 3:13, 1:7])


def test_crop_then_undo_refills_the_border():
    x = np.arange(2 * 10 * 13).reshape(2, 10, 13).astype(float) + 1
    cropped, margins = crop_to_multiple(x, 4, axes=(1, 2))
    assert cropped.shape == (2, 8, 12)
    np.testing.assert_array_equal(cropped, x[:, 1:9, 0:12])
    restored = undo_margins(cropped, margins, fill=-1)
    assert restored.shape == x.shape
    np.testing.assert_array_equal(restored[:, 1:9, 0:12], x[:, 1:9, 0:12])
    assert (restored[:, 0] == -1).all() and (restored[:, 9] == -1).all()
    assert (restored[:, :, 12] == -1).all()


def test_already_a_multiple_is_unchanged():
    x = np.ones((1, 16, 8, 1))
    padded, margins = pad_to_multiple(x, 8)
    assert padded.shape == x.shape and margins.before == (0, 0) and margins.after == (0, 0)


def test_errors():
    x = np.ones((1, 5, 6, 1))
    with pytest.raises(ValueError, match="multiple must be an integer >= 1, got 0"):
        pad_to_multiple(x, 0)
    with pytest.raises(TypeError, match="multiple must be an integer"):
        pad_to_multiple(x, 2.0)
    with pytest.raises(ValueError, match=r"axes \(1, 5\) out of range"):
        pad_to_multiple(x, 2, axes=(1, 5))
    with pytest.raises(ValueError, match="axes must be distinct"):
        pad_to_multiple(x, 2, axes=(1, -3))
    with pytest.raises(TypeError, match="axes must be an int or a tuple"):
        pad_to_multiple(x, 2, axes=None)
    with pytest.raises(ValueError, match="size 5 < multiple=8: cropping would leave nothing"):
        crop_to_multiple(x, 8)
    padded, margins = pad_to_multiple(x, 4)
    with pytest.raises(ValueError, match="has size 7 on axis 1, but the padded/cropped array had 8"):
        undo_margins(padded[:, :7], margins)
    with pytest.raises(ValueError, match="must have rank 4"):
        undo_margins(padded[0], margins)
    with pytest.raises(TypeError, match="margins must be the Margins"):
        undo_margins(padded, ((1, 1), (1, 1)))
    assert isinstance(margins, Margins)
