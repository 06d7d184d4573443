"""One-hot encoding, consistent remapping across subjects, class fractions and volumes."""
import numpy as np
import pytest

from minicnn.data import (class_fractions, class_volumes_ml, label_mapping, one_hot,
                          remap_labels)


def test_one_hot_against_loops():
    y = np.random.default_rng(0).integers(0, 4, size=(2, 5, 3))
    encoded = one_hot(y, 4)
    assert encoded.shape == (2, 5, 3, 4) and encoded.dtype == np.float32
    for index in np.ndindex(y.shape):
        expected = np.zeros(4)
        expected[y[index]] = 1
        np.testing.assert_array_equal(encoded[index], expected)


def test_one_hot_keeps_absent_classes_in_place():
    encoded = one_hot(np.array([[0, 3]]), 5, dtype=np.float64)
    assert encoded.dtype == np.float64
    np.testing.assert_array_equal(encoded[0, 1], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(one_hot(np.array([1.0, 2.0]), 3), [[0, 1, 0], [0, 0, 1]])


def test_mapping_is_shared_across_subjects():
    # FreeSurfer-like values; subject b has no 41 (a class missing).
    a = np.array([[0, 2, 41], [3, 3, 0]])
    b = np.array([[0, 2, 2], [3, 0, 0]])
    mapping = label_mapping(a, b)
    assert mapping == {0: 0, 2: 1, 3: 2, 41: 3}
    np.testing.assert_array_equal(remap_labels(b, mapping), [[0, 1, 1], [2, 0, 0]])
    # The course's per-volume remap would have given b's 3 the index 2 but a's
    # 3 also index 2 only by luck; with a missing class in the middle it shifts:
    c = np.array([0, 3, 41])
    per_volume = np.searchsorted(np.unique(c), c)
    assert per_volume.tolist() == [0, 1, 2]                 # 3 -> 1: inconsistent
    assert remap_labels(c, mapping).tolist() == [0, 2, 3]   # 3 -> 2 in every subject


def test_merging_classes_and_default():
    y = np.array([0, 1, 2, 3, 7])
    merged = remap_labels(y, {0: 0, 1: 0, 2: 1, 3: 2}, default=0)
    assert merged.tolist() == [0, 0, 1, 2, 0] and merged.dtype == np.int32


def test_remap_matches_a_loop():
    rng = np.random.default_rng(1)
    values = np.array([-5, 0, 4, 10, 11])
    y = rng.choice(values, size=(6, 7))
    mapping = {v: i for i, v in enumerate(rng.permutation(values).tolist())}
    out = remap_labels(y, mapping)
    for index in np.ndindex(y.shape):
        assert out[index] == mapping[int(y[index])]


def test_class_fractions():
    y = np.array([[0, 0, 1], [3, 3, 3]])
    np.testing.assert_allclose(class_fractions(y, 4), [2 / 6, 1 / 6, 0, 3 / 6])


def test_errors():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, n_classes=3\), got values in \[0, 3\]"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="got values in \\[-1, 1\\]"):
        one_hot(np.array([-1, 1]), 3)
    with pytest.raises(ValueError, match="whole numbers"):
        one_hot(np.array([0.5]), 3)
    with pytest.raises(TypeError, match="n_classes must be an integer"):
        one_hot(np.array([0]), 2.0)
    with pytest.raises(ValueError, match=r"values \[5, 9\] that are not in mapping \(keys \[0, 1\]\)"):
        remap_labels(np.array([0, 5, 9, 1]), {0: 0, 1: 1})
    with pytest.raises(TypeError, match="mapping must be a non-empty dict"):
        remap_labels(np.array([0]), [0])
    with pytest.raises(ValueError, match="at least one label map"):
        label_mapping()
    with pytest.raises(ValueError, match=r"label_maps\[1\] must hold whole numbers"):
        label_mapping(np.array([1]), np.array([0.5]))
    with pytest.raises(ValueError, match="labels must lie in"):
        class_fractions(np.array([4]), 4)
    with pytest.raises(ValueError, match="must not be empty"):
        class_fractions(np.array([], dtype=int), 4)


def test_class_volumes_in_millilitres():
    labels = np.zeros((4, 5, 6), dtype=np.uint8)
    labels[0, 0, :3] = 1
    labels[1, :, :] = 3
    affine = np.diag([2.0, -3.0, 1.5, 1.0])           # 9 mm^3 voxels, a flip included
    counts, ml = class_volumes_ml(labels, affine, 4)
    assert counts.tolist() == [120 - 33, 3, 0, 30]
    np.testing.assert_allclose(ml, counts * 9 / 1000)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, n_classes=3\)"):
        class_volumes_ml(labels, affine, 3)
    with pytest.raises(ValueError, match=r"affine must be a 4 x 4 matrix, got shape \(3, 3\)"):
        class_volumes_ml(labels, np.eye(3), 4)
