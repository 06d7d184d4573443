"""What minicnn train feeds the network (minicnn.segmentation.job): subjects
per epoch, K samples per subject and view, whole slices or crops, flips."""
import numpy as np
import pytest

from minicnn import data, datasets, segmentation
from minicnn.segmentation import job


@pytest.fixture(scope="module")
def template():
    return datasets.icbm152(2)


def _sampler(template, views, per_view=5, crop=0, seed=0):
    card = segmentation.new_card("unet-small", template.class_names,
                                 segmentation.VIEWS[views[0]], 2.0, views=views)
    generator = data.SynthGenerator(template, seed=3)
    return job.Sampler(generator, card, per_view, crop, template.affine, seed)


def test_whole_slices_of_several_views_share_the_largest_padded_plane(template):
    sampler = _sampler(template, ["axial", "coronal", "sagittal"])
    x, y = sampler.subjects([0, 1])
    # planes 75 x 93, 75 x 79, 93 x 79 padded to multiples of 8: the largest is 96 x 96
    assert sampler.shape == (96, 96)
    assert x.shape == (2 * 3 * 5, 96, 96, 1) and y.shape == (30, 96, 96)
    assert x.dtype == np.float32 and y.dtype == np.uint8
    assert (y.reshape(30, -1) > 0).any(axis=1).all()      # only slices with brain


def test_crops_are_the_asked_size_and_mostly_brain(template):
    sampler = _sampler(template, ["axial", "sagittal"], per_view=8, crop=48)
    x, y = sampler.subjects([4])
    assert x.shape == (16, 48, 48, 1) and y.shape == (16, 48, 48)
    assert (y > 0).mean() > 0.5


def test_a_crop_must_divide_by_the_networks_multiple(template):
    with pytest.raises(ValueError, match="--crop 50 must be a multiple of 8"):
        _sampler(template, ["axial"], crop=50)


def test_samples_are_reproducible_and_differ_between_subjects(template):
    a = _sampler(template, ["axial", "coronal"]).subjects([2])
    b = _sampler(template, ["axial", "coronal"]).subjects([2])
    c = _sampler(template, ["axial", "coronal"]).subjects([3])
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_only_views_that_show_left_and_right_are_mirrored(template):
    """Sagittal slices have no left-right axis in their plane: never flipped;
    axial ones are, some of them (their labels with them)."""
    plain = _sampler(template, ["sagittal"], per_view=20)
    generator = plain.generator
    x, y = plain.subjects([0])
    raw_x, raw_y, _ = generator.slices(0, axis=0)
    keep = np.flatnonzero(raw_y.reshape(len(raw_y), -1).any(axis=1))
    keep = keep[np.linspace(0, len(keep) - 1, 20).round().astype(int)]
    expected = data.pad_to_shape(raw_y[keep].astype(np.uint8), plain.shape)[0]
    assert np.array_equal(y, expected)
    axial = _sampler(template, ["axial"], per_view=20)
    x, y = axial.subjects([0])
    raw_x, raw_y, _ = generator.slices(0, axis=2)
    keep = np.flatnonzero(raw_y.reshape(len(raw_y), -1).any(axis=1))
    keep = keep[np.linspace(0, len(keep) - 1, 20).round().astype(int)]
    straight = data.pad_to_shape(raw_y[keep].astype(np.uint8), axial.shape)[0]
    same = [np.array_equal(a, b) for a, b in zip(y, straight)]
    # the left-right axis is H of axial slices; a seeded coin picks which
    mirrored = [np.array_equal(a, np.flip(b, axis=0)) for a, b in zip(y, straight)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert 0 < sum(mirrored) < 20


def test_each_epoch_trains_on_its_own_subjects(template):
    sampler = _sampler(template, ["axial"], per_view=3)
    epochs = job.EpochBlocks(sampler, [[0, 1], [2, 3]], batch_size=4, n_classes=4,
                                  seed=0)
    assert epochs.n_samples == 6 and len(epochs) == 2
    first = np.concatenate([xb for xb, _ in epochs])
    second = np.concatenate([xb for xb, _ in epochs])
    third = np.concatenate([xb for xb, _ in epochs])
    assert len(first) == len(second) == 6
    own = sampler.subjects([0, 1])[0]
    assert sorted(first.sum(axis=(1, 2, 3)).round(3)) == sorted(own.sum(axis=(1, 2, 3)).round(3))
    assert not np.allclose(np.sort(first.sum(axis=(1, 2, 3))),
                           np.sort(second.sum(axis=(1, 2, 3))))
    assert np.allclose(np.sort(first.sum(axis=(1, 2, 3))), np.sort(third.sum(axis=(1, 2, 3))))


def test_subject_ids_are_disjoint_and_refuse_overlaps():
    train, val, test = job.subject_ids(3, 2, 2, 1)
    assert train == list(range(6)) and val == [1000, 1001] and test == [2000]
    with pytest.raises(ValueError, match="would reach the validation subjects"):
        job.subject_ids(600, 2, 1, 1)
