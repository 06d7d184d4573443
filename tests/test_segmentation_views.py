"""A whole volume through a 2D network: the slicing, padding and stacking are
undone exactly, empty slices skip the network, and several views average back
into the input grid."""
import numpy as np
import pytest

from minicnn.segmentation import (VIEWS, brain_bounding_box, padded_slice_shape,
                                  segment_views, segment_volume, view_axes)


class ThresholdNetwork:
    """A stand-in for a trained network: P(class 1) = the pixel's value.

    It records the inputs it saw, and refuses H, W that are not multiples of 8
    as a depth-3 U-Net would."""
    output_shape = (None, None, None, 2)

    def __init__(self):
        self.inputs = []

    def predict(self, x, batch_size, verbose):
        assert x.shape[1] % 8 == 0 and x.shape[2] % 8 == 0 and verbose == 0
        self.inputs.append((x.shape, batch_size))
        return np.concatenate([1 - x, x], axis=-1)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_voxel_ijk_of_the_result_is_the_prediction_for_voxel_ijk(axis):
    volume = np.random.default_rng(axis).random((11, 6, 9)).astype(np.float32)
    volume[:, :, 0] = 0                                   # an empty slice along axis 2
    network = ThresholdNetwork()
    prob = segment_volume(network, volume, axis, 8, batch_size=3)
    assert prob.shape == (11, 6, 9, 2)
    expected = np.stack([1 - volume, volume], axis=-1)
    if axis == 2:                                         # skipped: all-zero probabilities
        expected[:, :, 0] = 0
    np.testing.assert_array_equal(prob, expected)
    (shape, batch_size), = network.inputs
    assert shape[1:3] == padded_slice_shape(volume.shape, axis, 8) and batch_size == 3
    assert shape[0] == volume.shape[axis] - (axis == 2)


def test_an_empty_volume_never_reaches_the_network():
    network = ThresholdNetwork()
    prob = segment_volume(network, np.zeros((4, 5, 6)), 2, 8)
    assert prob.shape == (4, 5, 6, 2) and not prob.any() and network.inputs == []


def test_padded_slice_shape():
    assert padded_slice_shape((75, 93, 79), 2, 8) == (80, 96)
    assert padded_slice_shape((75, 93, 79), 0, 8) == (96, 80)
    assert padded_slice_shape((75, 93, 79), 1, 1) == (75, 79)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2, got 3"):
        padded_slice_shape((4, 4, 4), 3, 8)
    with pytest.raises(ValueError, match=r"volume must be \(X, Y, Z\), got shape \(4, 4\)"):
        segment_volume(ThresholdNetwork(), np.zeros((4, 4)), 2, 8)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        segment_volume(ThresholdNetwork(), np.zeros((4, 4, 4)), 2, 8, batch_size=0)


# ------------------------------------------------------------------ views
class PositionNetwork:
    """A stand-in network whose output is a known function of position: each
    pixel's row and column in the (cropped, padded) slice it was given."""
    output_shape = (None, None, None, 2)

    def __init__(self):
        self.shapes = []

    def predict(self, x, batch_size, verbose):
        n, h, w, _ = x.shape
        self.shapes.append((h, w))
        rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        return np.broadcast_to(np.stack([rows, cols], axis=-1), (n, h, w, 2)).astype(np.float32)


def _brain_in_a_box():
    """A (12, 10, 14) volume, non-zero (random) only in [3:9, 2:7, 4:11]."""
    volume = np.zeros((12, 10, 14), dtype=np.float32)
    volume[3:9, 2:7, 4:11] = np.random.default_rng(0).uniform(0.1, 1, (6, 5, 7))
    return volume


def test_each_view_lands_on_its_own_voxels():
    """A prediction that is the voxel's own value (random per voxel) comes back
    at that voxel from every view, so the average of the three is it too."""
    volume = _brain_in_a_box()
    expected = np.stack([1 - volume, volume], axis=-1)      # background: (1, 0)
    for views in (["axial"], ["coronal"], ["sagittal"], ["axial", "coronal", "sagittal"]):
        prob = segment_views(ThresholdNetwork(), volume, views, 8, margin=1)
        np.testing.assert_allclose(prob, expected, rtol=1e-6, atol=1e-7, err_msg=str(views))


def test_views_crop_to_the_box_pad_and_average_in_the_input_grid():
    """Box [2:10, 1:8, 3:12] (margin 1), padded to 8: rows and columns of each
    view's input map back to the voxel they came from; the average of the
    three views is the mean of the three maps."""
    volume = _brain_in_a_box()
    box = brain_bounding_box(volume, margin=1)
    assert box == (slice(2, 10), slice(1, 8), slice(3, 12))
    i, j, k = np.meshgrid(*[np.arange(s.start, s.stop) for s in box], indexing="ij")
    # Index in the box plus the centred padding of the box's extent to a
    # multiple of 8: X 8 -> 8 (0 before), Y 7 -> 8 (0 before), Z 9 -> 16 (3 before).
    x, y, z = i - 2, j - 1, k - 3 + 3
    # Only the box's slices through the non-zero block are run; the margin
    # slices are empty and count as background (1, 0).
    block = (slice(1, 7), slice(1, 6), slice(1, 8))         # the block inside the box
    maps = {"axial": (x, y, 2), "coronal": (x, z, 1), "sagittal": (y, z, 0)}
    per_view = {}
    for view, (rows, cols, axis) in maps.items():
        network = PositionNetwork()
        prob = segment_views(network, volume, [view], 8, margin=1)
        assert network.shapes == [padded_slice_shape((8, 7, 9), axis, 8)]
        expected = np.zeros(prob.shape, dtype=np.float32)
        expected[..., 0] = 1
        inside = np.zeros((8, 7, 9), dtype=bool)
        run = [slice(None)] * 3
        run[axis] = block[axis]                             # the slices that were run
        inside[tuple(run)] = True
        expected[box] = np.where(inside[..., None], np.stack([rows, cols], -1), (1, 0))
        np.testing.assert_array_equal(prob, expected, err_msg=view)
        per_view[view] = prob
    average = segment_views(PositionNetwork(), volume, list(maps), 8, margin=1)
    np.testing.assert_allclose(average, sum(per_view.values()) / 3, rtol=1e-6)


def test_an_empty_volume_is_background_from_every_view():
    network = ThresholdNetwork()
    prob = segment_views(network, np.zeros((4, 5, 6)), ["axial", "sagittal"], 8, margin=2)
    assert prob.shape == (4, 5, 6, 2) and network.inputs == []
    assert (prob[..., 0] == 1).all() and (prob[..., 1] == 0).all()


def test_bounding_box_margins_stop_at_the_volume_edge():
    volume = np.zeros((5, 6, 7))
    volume[0, 3, 6] = 1
    assert brain_bounding_box(volume) == (slice(0, 1), slice(3, 4), slice(6, 7))
    assert brain_bounding_box(volume, 2) == (slice(0, 3), slice(1, 6), slice(4, 7))
    assert brain_bounding_box(np.zeros((3, 3, 3)), 1) is None


def test_view_names_and_their_errors():
    assert view_axes(["axial", "coronal", "sagittal"]) == (2, 1, 0)
    assert VIEWS == {"sagittal": 0, "coronal": 1, "axial": 2}
    for bad in (["transverse"], [], ["axial", "axial"]):
        with pytest.raises(ValueError, match="views must be distinct names among"):
            view_axes(bad)
    with pytest.raises(TypeError, match="views must be a list of view names"):
        view_axes("axial")
    with pytest.raises(ValueError, match="margin must be an integer >= 0, got -1"):
        brain_bounding_box(np.ones((2, 2, 2)), -1)
