"""A whole volume through a 2D network: the slicing, padding and stacking are
undone exactly, and empty slices skip the network."""
import numpy as np
import pytest

from minicnn.data import padded_slice_shape, segment_volume


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
