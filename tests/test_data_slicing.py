"""Slices, 2.5D stacks and 3D patches against loop oracles; reassembly round trips."""
import numpy as np
import pytest

from minicnn.data import (extract_patches, extract_slices, patches_to_volume,
                          slices_to_volume)
from minicnn.data.slicing import patch_origins


@pytest.fixture
def volume():
    """A (7, 6, 5, 2) volume with labels; slices 0 and 6 along axis 0 are empty."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(7, 6, 5))
    labels[0] = 0
    labels[6] = 0
    image = rng.normal(size=(7, 6, 5, 2)) * (labels > 0)[..., None]
    return image, labels


def reference_slices(volume, axis, context):
    """Direct loops: slice p with its neighbours p-k..p+k, zeros outside."""
    volume = volume if volume.ndim == 4 else volume[..., None]
    n = volume.shape[axis]
    out = []
    for p in range(n):
        channels = []
        for o in range(-context, context + 1):
            if 0 <= p + o < n:
                channels.append(np.take(volume, p + o, axis=axis))
            else:
                channels.append(np.zeros_like(np.take(volume, 0, axis=axis)))
        out.append(np.concatenate(channels, axis=-1))
    return np.stack(out)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("context", [0, 1, 2])
def test_slices_match_loops(volume, axis, context):
    image, labels = volume
    x, y, positions = extract_slices(image, axis=axis, labels=labels, context=context,
                                     drop_empty=False)
    np.testing.assert_array_equal(positions, np.arange(image.shape[axis]))
    np.testing.assert_array_equal(x, reference_slices(image, axis, context))
    np.testing.assert_array_equal(y, np.moveaxis(labels, axis, 0))
    assert x.shape[-1] == 2 * (2 * context + 1)


def test_course_slice_shape():
    x, _, _ = extract_slices(np.ones((92, 110, 92)), axis=0)
    assert x.shape == (92, 110, 92, 1)


def test_empty_slices_dropped_or_partly_kept(volume):
    image, labels = volume
    _, _, positions = extract_slices(image, axis=0, labels=labels)
    np.testing.assert_array_equal(positions, [1, 2, 3, 4, 5])
    _, _, positions = extract_slices(image, axis=0)           # emptiness from the image
    np.testing.assert_array_equal(positions, [1, 2, 3, 4, 5])
    _, _, positions = extract_slices(image, axis=0, labels=labels, keep_empty=0.5, seed=0)
    assert len(positions) == 6 and set(positions) - {1, 2, 3, 4, 5} <= {0, 6}
    _, _, again = extract_slices(image, axis=0, labels=labels, keep_empty=0.5, seed=0)
    np.testing.assert_array_equal(positions, again)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_slices_round_trip(volume, axis):
    image, labels = volume
    x, y, positions = extract_slices(image, axis=axis, labels=labels, drop_empty=False)
    np.testing.assert_array_equal(slices_to_volume(x, positions, axis, labels.shape), image)
    np.testing.assert_array_equal(slices_to_volume(y, positions, axis, labels.shape), labels)


def test_dropped_slices_come_back_as_fill(volume):
    image, labels = volume
    _, y, positions = extract_slices(image, axis=0, labels=labels)
    back = slices_to_volume(y, positions, 0, labels.shape, fill=0)
    np.testing.assert_array_equal(back, labels)          # the dropped ones were all 0


def reference_patch_origins(shape, size, stride):
    starts = []
    for n, p, s in zip(shape, size, stride):
        axis_starts = []
        o = 0
        while o + p <= n:
            axis_starts.append(o)
            o += s
        if axis_starts[-1] + p < n:
            axis_starts.append(n - p)
        starts.append(axis_starts)
    return [(i, j, k) for i in starts[0] for j in starts[1] for k in starts[2]]


@pytest.mark.parametrize("size, stride", [
    ((3, 3, 3), None), ((4, 2, 5), (2, 2, 1)), ((7, 6, 5), None), (2, 3)])
def test_patches_match_loops(volume, size, stride):
    image, labels = volume
    x, y, origins = extract_patches(image, size, stride, labels=labels)
    size3 = (size,) * 3 if isinstance(size, int) else size
    stride3 = size3 if stride is None else ((stride,) * 3 if isinstance(stride, int) else stride)
    expected = reference_patch_origins(image.shape[:3], size3, stride3)
    assert [tuple(o) for o in origins] == expected
    for patch, labs, (i, j, k) in zip(x, y, origins):
        block = (slice(i, i + size3[0]), slice(j, j + size3[1]), slice(k, k + size3[2]))
        np.testing.assert_array_equal(patch, image[block])
        np.testing.assert_array_equal(labs, labels[block])


def reference_average(patches, origins, shape):
    """Voxel-by-voxel average of every patch covering the voxel."""
    out = np.zeros(shape + patches.shape[4:])
    for v in np.ndindex(shape):
        values = [p[tuple(np.subtract(v, o))] for p, o in zip(patches, origins)
                  if all(o[a] <= v[a] < o[a] + p.shape[a] for a in range(3))]
        if values:
            out[v] = np.mean(values, axis=0)
    return out


@pytest.mark.parametrize("size, stride", [((3, 3, 3), (2, 2, 2)), ((4, 5, 2), (1, 3, 1))])
def test_overlapping_patches_are_averaged(size, stride):
    shape = (7, 6, 5)
    origins = patch_origins(shape, size, stride)
    rng = np.random.default_rng(0)
    patches = rng.random((len(origins),) + size + (2,))        # K = 2 channels
    out = patches_to_volume(patches, origins, shape)
    np.testing.assert_allclose(out, reference_average(patches, origins, shape), rtol=1e-12)


def test_patch_round_trip_with_overlap(volume):
    image, _ = volume
    x, _, origins = extract_patches(image, (4, 4, 3), (2, 3, 1))
    np.testing.assert_allclose(patches_to_volume(x, origins, image.shape[:3]), image,
                               rtol=1e-12, atol=1e-15)


def test_uncovered_voxels_get_fill():
    labels = np.zeros((6, 6, 6), int)
    labels[4, 4, 4] = 2                                   # only one patch is non-empty
    image = np.arange(216.0).reshape(6, 6, 6)
    x, _, origins = extract_patches(image, 3, labels=labels, drop_empty=True)
    assert origins.tolist() == [[3, 3, 3]]
    out = patches_to_volume(x[..., 0], origins, labels.shape, fill=-1.0)
    np.testing.assert_array_equal(out[3:, 3:, 3:], image[3:, 3:, 3:])
    out[3:, 3:, 3:] = -1
    assert (out == -1).all()


def test_errors(volume):
    image, labels = volume
    with pytest.raises(ValueError, match=r"volume must be \(X, Y, Z\) or \(X, Y, Z, C\), got shape \(7, 6\)"):
        extract_slices(image[:, :, 0, 0])
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2, got 3"):
        extract_slices(image, axis=3)
    with pytest.raises(ValueError, match=r"labels must have the spatial shape of volume \(7, 6, 5\), got \(7, 6, 4\)"):
        extract_slices(image, labels=labels[..., :4])
    with pytest.raises(TypeError, match="labels must be integers, got dtype float64"):
        extract_slices(image, labels=labels.astype(float))
    with pytest.raises(ValueError, match="context must be an integer >= 0"):
        extract_slices(image, context=-1)
    with pytest.raises(ValueError, match="keep_empty must be a fraction"):
        extract_slices(image, keep_empty=1.5)
    with pytest.raises(ValueError, match="exceeds the volume's spatial shape"):
        extract_patches(image, (8, 2, 2))
    with pytest.raises(ValueError, match="stride values must be >= 1"):
        extract_patches(image, 2, stride=0)
    with pytest.raises(ValueError, match=r"slices along axis 0 of a \(7, 6, 5\) volume must be \(6, 5\), got \(5, 6\)"):
        slices_to_volume(np.zeros((2, 5, 6)), [0, 1], 0, (7, 6, 5))
    with pytest.raises(ValueError, match=r"slices must be \(N, H, W\) or \(N, H, W, K\)"):
        slices_to_volume(np.zeros((6, 5)), [0], 0, (7, 6, 5))
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2, got -1"):
        slices_to_volume(np.zeros((1, 6, 5)), [0], -1, (7, 6, 5))
    with pytest.raises(ValueError, match="positions must be distinct"):
        slices_to_volume(np.zeros((2, 6, 5)), [1, 1], 0, (7, 6, 5))
    with pytest.raises(ValueError, match="positions has 1 entries but there are 2"):
        slices_to_volume(np.zeros((2, 6, 5)), [1], 0, (7, 6, 5))
    with pytest.raises(ValueError, match=r"positions must lie inside the volume \(0 .. 6\)"):
        slices_to_volume(np.zeros((2, 6, 5)), [1, 7], 0, (7, 6, 5))
    with pytest.raises(TypeError, match="positions must be integers"):
        slices_to_volume(np.zeros((2, 6, 5)), [1.0, 2.0], 0, (7, 6, 5))
    with pytest.raises(ValueError, match="shape must be 3 positive ints"):
        slices_to_volume(np.zeros((2, 6, 5)), [1, 2], 0, (7, 6))
    with pytest.raises(TypeError, match="patches must be float"):
        patches_to_volume(np.zeros((1, 2, 2, 2), int), [[0, 0, 0]], (7, 6, 5))
    with pytest.raises(ValueError, match=r"origins must have shape \(N, 3\)"):
        patches_to_volume(np.zeros((1, 2, 2, 2)), [0, 0, 0], (7, 6, 5))
    with pytest.raises(ValueError, match="outside the volume"):
        patches_to_volume(np.zeros((1, 2, 2, 2)), [[6, 0, 0]], (7, 6, 5))
    with pytest.raises(ValueError, match="patch size .* exceeds the volume shape"):
        patches_to_volume(np.zeros((1, 8, 2, 2)), [[0, 0, 0]], (7, 6, 5))
