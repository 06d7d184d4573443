"""The input checks of minicnn predict: no warning on the template or on
synthetic subjects with bias fields; a warning for a skull (a bright shell
around the brain) and for inverted contrast. Whole heads:
tests/test_data_heads.py."""
import numpy as np
import pytest

from minicnn import data, datasets
from minicnn.data import quality


def _grow(mask, voxels):
    """`mask` dilated by a cube of 2 voxels + 1 a side, one axis at a time: a
    voxel is set if its window along the axis holds any (a running sum)."""
    for axis in range(3):
        m = np.moveaxis(mask, axis, 0)
        total = np.cumsum(np.pad(m, [(voxels + 1, voxels)] + [(0, 0)] * 2), axis=0,
                          dtype=np.int32)
        mask = np.moveaxis(total[2 * voxels + 1:] - total[:-2 * voxels - 1] > 0, 0, axis)
    return mask


def with_skull(t1, voxel_mm, brightness=1.0):
    """`t1` in a field of view 24 mm larger, with a bright shell 6-10 mm
    outside the brain (scalp fat is as bright as white matter in a T1, or
    brighter) and a dark gap (bone) between."""
    pad = round(24 / voxel_mm)
    x = np.pad(t1, pad)
    brain = x > 0
    shell = _grow(brain, round(10 / voxel_mm)) & ~_grow(brain, round(6 / voxel_mm))
    x[shell] = brightness
    return x


def inverted(t1, brain):
    """max - t1 inside the brain, 0 outside: white matter dark, CSF bright."""
    out = np.zeros_like(t1)
    out[brain] = t1[brain].max() - t1[brain]
    return out


def _values(findings):
    assert [f.check for f in findings] == ["skull-stripped", "T1 contrast"]
    return {f.check: f for f in findings}


def margin(finding):
    """The figure against its limit, for assertion messages."""
    return f"{finding.value:.3f} against {finding.limit:g} (x{finding.value / finding.limit:.2f})"


@pytest.fixture(scope="module", params=[2, 1], ids=["2mm", "1mm"])
def template(request):
    return datasets.icbm152(resolution=request.param)


def test_the_template_raises_no_warning(template):
    found = _values(data.check_input(template.t1, template.resolution))
    assert all(f.ok for f in found.values()), found
    skull = found["skull-stripped"]
    assert skull.value < quality.MAX_SKULL / 4, margin(skull)      # 0.005 measured
    assert found["T1 contrast"].value > 1.5                          # 1.9 measured


@pytest.mark.parametrize("brightness", [1.0, 0.6])
def test_a_skull_around_the_brain_is_found(template, brightness):
    """A shell as bright as the brightest white matter, or as grey matter."""
    found = _values(data.check_input(with_skull(template.t1, template.resolution,
                                                brightness), template.resolution))
    skull = found["skull-stripped"]
    assert not skull.ok and skull.value > 4 * quality.MAX_SKULL, margin(skull)  # 0.99
    assert "does not look skull-stripped" in skull.message
    contrast = found["T1 contrast"]         # not measured on a head: no second warning
    assert contrast.ok and np.isnan(contrast.value) and "not measured" in contrast.message


def test_inverted_contrast_is_found(template):
    found = _values(data.check_input(inverted(template.t1, template.mask),
                                     template.resolution))
    contrast = found["T1 contrast"]
    assert not contrast.ok and contrast.value < 0.9, contrast  # 0.82 at 2 mm, 0.63 at 1 mm
    assert "looks inverted (T2-like)" in contrast.message
    skull = found["skull-stripped"]          # bright CSF over dark white matter is no skull
    assert skull.ok and skull.value < quality.MAX_SKULL / 2, margin(skull)   # 0.05-0.08


def test_synthetic_subjects_with_bias_fields_raise_no_warning():
    """Random gamma, bias field (up to ~1.5x across the brain) and noise in
    the background: no false alarm."""
    generator = data.SynthGenerator(seed=0)
    for k in (2000, 2001, 2002, 2006):
        image, _ = generator.volume(k)
        found = _values(data.check_input(image, 2.0))
        assert all(f.ok for f in found.values()), (k, found)
        skull = found["skull-stripped"]
        assert skull.value < quality.MAX_SKULL / 4, (k, margin(skull))   # 0-0.01 measured
        assert found["T1 contrast"].value > 1.3                  # 1.57-1.99 measured


@pytest.mark.slow
def test_synthetic_subjects_at_1mm_raise_no_warning():
    generator = data.SynthGenerator(datasets.icbm152(resolution=1), seed=0)
    for k in (2000, 2001, 2002):
        image, _ = generator.volume(k)
        found = _values(data.check_input(image, 1.0))
        assert all(f.ok for f in found.values()), (k, found)
        skull = found["skull-stripped"]
        assert skull.value < quality.MAX_SKULL / 4, (k, margin(skull))   # 0.003-0.02


def test_anisotropic_voxels_are_resampled_first():
    """The 1 mm template averaged to 1 x 1 x 3 mm voxels checks like the original."""
    t1 = datasets.icbm152(resolution=1).t1
    z = t1.shape[2] // 3 * 3
    thick = t1[:, :, :z].reshape(t1.shape[0], t1.shape[1], z // 3, 3).mean(axis=-1)
    found = _values(data.check_input(thick, (1.0, 1.0, 3.0)))
    assert all(f.ok for f in found.values()), found


def test_an_empty_image_is_no_brain():
    found = _values(data.check_input(np.zeros((20, 20, 20)), 2.0))
    assert found["skull-stripped"].ok and found["skull-stripped"].value == 0
    assert not found["T1 contrast"].ok and "is this a brain?" in found["T1 contrast"].message


def test_the_brain_shaped_region_drops_a_thin_shell_and_keeps_the_brain():
    t1 = datasets.icbm152(resolution=2).t1
    skull = with_skull(t1, 2.0)
    signal, region = quality.brain_region(skull, 2.0)
    brain = np.pad(t1, 12) > 0
    assert (region & brain).sum() > 0.99 * (signal & brain).sum()   # the brain stays
    assert (signal & ~_grow(brain, 2)).sum() > 0.2 * brain.sum()
    assert not (region & ~_grow(brain, 2)).any()              # the shell goes


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="volume must have rank 3"):
        data.check_input(np.zeros((4, 4)), 2.0)
    with pytest.raises(ValueError, match=r"voxel_mm\[2\] must be a finite number > 0"):
        data.check_input(np.zeros((4, 4, 4)), (1.0, 1.0, 0.0))


# ------------------------------------------------------------ the rays
def _ball(radius_mm, size=70):
    """A centred ball on a grid of 2 mm: (distance from the centre in mm, shape)."""
    c = (size - 1) / 2
    i, j, k = np.ogrid[:size, :size, :size]
    return 2.0 * np.sqrt((i - c) ** 2 + (j - c) ** 2 + (k - c) ** 2)


def test_rays_cross_a_skull_only_where_there_is_one():
    """A bright ball (brain) is 0; with a dark gap of 4 mm and a bright
    shell of 6 mm around it (skull and scalp) every ray crosses them; an
    outer shell with no gap, one thick solid, is no skull."""
    r = _ball(40)
    brain = (r < 40).astype(np.float32)
    head = brain + (r >= 44) * (r < 50)
    solid = (r < 50).astype(np.float32)
    for volume, expected in ((brain, 0.0), (head, 1.0), (solid, 0.0)):
        skull = data.check_input(volume, 2.0)[0]
        assert skull.value == pytest.approx(expected, abs=0.02), margin(skull)


def test_rays_that_leave_through_the_border_are_not_counted():
    """The head above, cut through its middle by the field of view: the rays
    through the cut are not counted, the others still cross the skull."""
    r = _ball(40)
    head = ((r < 40) + (r >= 44) * (r < 50)).astype(np.float32)
    skull = data.check_input(head[:, :, :40], 2.0)[0]
    assert skull.value > 0.95, margin(skull)
