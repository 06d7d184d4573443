"""Reorientation to RAS+ and back, and voxel sizes, from the NIfTI affine."""
import numpy as np
import pytest

from minicnn.data import from_ras, to_ras, voxel_sizes


def test_orientation_round_trip():
    generator = np.random.default_rng(0)
    volume = generator.random((5, 6, 7)).astype(np.float32)
    affine = np.array([[0, 0, -2.0, 10], [-2.0, 0, 0, 5], [0, 1.5, 0, 0], [0, 0, 0, 1]])
    ras, ras_affine, back = to_ras(volume, affine)
    # Stored axis 2 runs to the left, 0 to the back, 1 upwards: RAS is (2, 0, 1).
    assert ras.shape == (7, 5, 6)
    assert np.all(np.diag(ras_affine)[:3] > 0)              # every axis increasing
    np.testing.assert_allclose(voxel_sizes(ras_affine), [2.0, 2.0, 1.5])
    np.testing.assert_array_equal(from_ras(ras, back), volume)


def test_ras_affine_maps_each_voxel_to_the_same_millimetres():
    volume = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    affine = np.array([[0, 0, -2.0, 10], [-2.0, 0, 0, 5], [0, 1.5, 0, 0], [0, 0, 0, 1]])
    ras, ras_affine, _ = to_ras(volume, affine)
    for index in [(0, 0, 0), (4, 5, 6), (2, 1, 3)]:
        mm = affine @ np.array([*index, 1.0])
        ras_index = np.linalg.solve(ras_affine, mm)[:3].round().astype(int)
        assert ras[tuple(ras_index)] == volume[index]


def test_channels_are_carried_along_and_a_ras_volume_is_untouched():
    volume = np.random.default_rng(1).random((4, 3, 2, 5))
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    ras, ras_affine, back = to_ras(volume, affine)
    np.testing.assert_array_equal(ras, volume)
    np.testing.assert_array_equal(ras_affine, affine)
    np.testing.assert_array_equal(from_ras(ras, back), volume)


def test_voxel_sizes_ignore_rotation_and_flips():
    angle = 0.3
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0],
                         [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([1.0, -1.2, 3.0])
    np.testing.assert_allclose(voxel_sizes(affine), [1.0, 1.2, 3.0])


def test_errors_name_the_argument():
    with pytest.raises(ValueError,
                       match=r"affine must be a finite 4 x 4 matrix, got shape \(3, 3\)"):
        voxel_sizes(np.eye(3))
    with pytest.raises(ValueError, match=r"volume must have 3 spatial axes, got shape \(4, 4\)"):
        to_ras(np.zeros((4, 4)), np.eye(4))
