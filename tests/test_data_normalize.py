"""Intensity normalisation: values against hand-computed statistics, masks, errors."""
import numpy as np
import pytest

from minicnn import data
from minicnn.data import (clip_percentiles, minmax, scale_by_brain_percentile, zscore,
                          zscore_minmax)


@pytest.fixture
def volume():
    rng = np.random.default_rng(0)
    x = np.zeros((9, 8, 7), np.float32)
    x[2:7, 2:6, 1:6] = rng.uniform(50, 300, size=(5, 4, 5))   # a "brain" in zeros
    return x, x > 0


def test_zscore_whole_volume(volume):
    x, _ = volume
    z = zscore(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(), 1, atol=1e-5)
    np.testing.assert_allclose(z, (x - x.mean()) / x.std(), rtol=1e-5, atol=1e-5)


def test_zscore_inside_mask(volume):
    x, mask = volume
    z = zscore(x, mask=mask)
    np.testing.assert_allclose(z[mask].mean(), 0, atol=1e-5)
    np.testing.assert_allclose(z[mask].std(), 1, atol=1e-5)
    # Background is transformed with the brain's statistics, not zeroed.
    np.testing.assert_allclose(z[~mask], -x[mask].mean() / x[mask].std(), rtol=1e-5)


def test_minmax_with_and_without_mask(volume):
    x, mask = volume
    m = minmax(x)
    assert m.min() == 0 and m.max() == 1
    mm = minmax(x, mask=mask.astype(np.uint8))       # 0/1 masks are accepted
    assert mm[mask].min() == 0 and mm[mask].max() == pytest.approx(1)
    lo = x[mask].min()
    np.testing.assert_allclose(mm[~mask], -lo / (x[mask].max() - lo), rtol=1e-5)


def test_course_scheme_equals_minmax(volume):
    x, mask = volume
    np.testing.assert_allclose(zscore_minmax(x), minmax(x), atol=1e-6)
    np.testing.assert_allclose(zscore_minmax(x, mask), minmax(x, mask), atol=1e-5)


def test_clip_percentiles(volume):
    x, mask = volume
    x = x.copy()
    x[4, 4, 3] = 1e5                                   # one very bright voxel
    c = clip_percentiles(x, 1, 99, mask=mask)
    lo, hi = np.percentile(x[mask], [1, 99])
    assert c.max() == pytest.approx(hi) and c[mask].min() == pytest.approx(lo)
    assert c[~mask].max() == pytest.approx(lo)         # background raised to P1 of the brain
    assert x[4, 4, 3] == 1e5                           # input untouched


def test_float64_stays_float64():
    assert zscore(np.arange(10.0)).dtype == np.float64
    assert minmax(np.arange(10)).dtype == np.float32   # integers become float32


def test_errors(volume):
    x, mask = volume
    with pytest.raises(ValueError, match="constant"):
        zscore(np.ones((3, 3, 3)))
    with pytest.raises(ValueError, match=r"constant \(0.0\)"):
        minmax(x, mask=~mask)              # only background: constant 0
    with pytest.raises(ValueError, match="all False"):
        zscore(x, mask=np.zeros_like(mask))
    with pytest.raises(ValueError, match=r"mask must have the shape of x \(9, 8, 7\), got \(9, 8\)"):
        zscore(x, mask=mask[..., 0])
    with pytest.raises(ValueError, match="mask must be boolean"):
        zscore(x, mask=mask * 2)
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        bad = x.copy()
        bad[0, 0, 0] = np.nan
        zscore(bad)
    with pytest.raises(ValueError, match="must not be empty"):
        minmax(np.zeros((0, 3)))
    with pytest.raises(TypeError, match="x must hold numbers"):
        minmax(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="lower must be a percentile in \\[0, 100\\], got 101"):
        clip_percentiles(x, 101, 99)
    with pytest.raises(ValueError, match="lower must be < upper"):
        clip_percentiles(x, 50, 50)


# ------------------------------------------------- scaling by a brain percentile
def test_brain_percentile_scaling_ignores_the_intensity_unit():
    """16 axial slices of a synthetic subject: any unit, the same result."""
    image, labels = data.SynthGenerator(seed=0).volume(2)
    image, labels = image[..., 30:46], labels[..., 30:46]
    x = scale_by_brain_percentile(image)
    np.testing.assert_allclose(scale_by_brain_percentile(image * 730.0), x,
                               rtol=1e-5, atol=1e-6)
    assert x.min() >= 0 and x.max() <= 1.5
    white = np.median(x[labels == 3])
    assert 0.75 < white < 1.0                 # white matter lands near 1
    with pytest.raises(ValueError, match="no positive intensities"):
        scale_by_brain_percentile(np.zeros((4, 4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        scale_by_brain_percentile(np.full((4, 4, 4), np.nan))


def test_brain_percentile_scaling_is_its_formula(volume):
    x, _ = volume
    x = x.copy()
    x[0, 0, 0] = 3.0                          # faint noise outside the brain
    reference = np.percentile(x, 99.9)
    brain = x[x > 0.1 * reference]
    assert 0 < len(brain) < (x > 0).sum()     # the noise voxel is left out
    scale = np.percentile(brain, 99)
    out = scale_by_brain_percentile(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.clip(x / np.float32(scale), 0.0, 1.5))
    # Every setting is used: the median of the brain, clipped to [0, 1].
    scale = np.percentile(x[x > 0.5 * reference], 50)
    out = scale_by_brain_percentile(x, brain_threshold=0.5, percentile=50, clip=(0, 1))
    np.testing.assert_array_equal(out, np.clip(x / np.float32(scale), 0, 1))
    assert scale_by_brain_percentile(x.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize("settings, words", [
    ({"brain_threshold": 1.0}, "brain_threshold must be a fraction in [0, 1), got 1.0"),
    ({"brain_threshold": True}, "brain_threshold must be a fraction in [0, 1), got True"),
    ({"brain_reference_percentile": 101},
     "brain_reference_percentile must be a percentile in [0, 100], got 101"),
    ({"percentile": "99"}, "percentile must be a percentile in [0, 100], got '99'"),
    ({"clip": (1.5, 0.0)},
     "clip must be two numbers (low, high) with low < high, got (1.5, 0.0)"),
    ({"clip": 1.5}, "clip must be two numbers (low, high) with low < high, got 1.5"),
])
def test_brain_percentile_scaling_errors_name_the_setting(volume, settings, words):
    with pytest.raises(ValueError) as error:
        scale_by_brain_percentile(volume[0], **settings)
    assert words in str(error.value)
