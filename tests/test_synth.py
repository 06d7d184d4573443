"""Synthetic subjects: determinism, geometry, plausibility of labels, errors."""
import dataclasses

import numpy as np
import pytest

from minicnn import datasets
from minicnn.data import SynthGenerator, class_fractions, linear_sample, synth_slices
from minicnn.data._acquisition import convolve, profile
from minicnn.data.synth import _linear_weights

STILL = dict(max_scale=0, max_rotation=0, max_shift=0, elastic_std=0, gamma_std=0,
             bias_std=0, max_noise=0)


@pytest.fixture(scope="module")
def icbm():
    return datasets.icbm152(2)


@pytest.fixture(scope="module")
def generator(icbm):
    return SynthGenerator(icbm, seed=7)


def test_subject_k_of_seed_s_is_always_the_same(icbm, generator):
    x, y, _ = generator.slices(3, axis=1, positions=[20, 50])
    x2, y2, _ = SynthGenerator(icbm, seed=7).slices(3, axis=1, positions=[20, 50])
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _, _ = generator.slices(4, axis=1, positions=[20, 50])
    x4, _, _ = SynthGenerator(icbm, seed=8).slices(3, axis=1, positions=[20, 50])
    assert not np.allclose(x, x3) and not np.allclose(x, x4)


def test_a_slice_does_not_depend_on_the_others_requested(generator):
    x, y, _ = generator.slices(2, axis=2, positions=[30, 40, 41])
    x1, y1, _ = generator.slices(2, axis=2, positions=[40])
    np.testing.assert_array_equal(x[1], x1[0])
    np.testing.assert_array_equal(y[1], y1[0])


def test_volume_is_the_stack_of_axial_slices(icbm):
    generator = SynthGenerator(icbm, seed=1, max_thickness=6.0, max_blur=1.0,
                               max_noise=0.05)
    image, labels = generator.volume(0)
    assert image.shape == labels.shape == icbm.t1.shape
    x, y, _ = generator.slices(0, axis=2, positions=[33])
    np.testing.assert_array_equal(image[:, :, 33], x[0, ..., 0])
    np.testing.assert_array_equal(labels[:, :, 33], y[0])


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_without_randomness_the_template_comes_back(icbm, axis):
    generator = SynthGenerator(icbm, seed=0, **STILL)
    x, y, positions = generator.slices(5, axis=axis)
    np.testing.assert_array_equal(positions, np.arange(icbm.t1.shape[axis]))
    expected = np.moveaxis(icbm.tissue.argmax(-1), axis, 0)
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_allclose(x[..., 0], np.moveaxis(icbm.t1, axis, 0), atol=1e-6)


def test_a_known_shift_moves_the_anatomy(icbm):
    generator = SynthGenerator(icbm, seed=0, **STILL)
    still = generator.params(0)
    # A 4 mm (2 voxel) shift along axis 0: output voxel v reads template v + 2.
    generator.params = lambda k: dataclasses.replace(still, shift=np.array([4.0, 0, 0]))
    _, y, _ = generator.slices(0, axis=2, positions=[40])
    expected = icbm.tissue.argmax(-1)[:, :, 40]
    np.testing.assert_array_equal(y[0, :-2], expected[2:])
    assert (y[0, -2:] == 0).all()                 # beyond the field of view


def test_a_known_scale_enlarges_the_brain(icbm):
    generator = SynthGenerator(icbm, seed=0, **STILL)
    still = generator.params(0)
    sizes = []
    for s in (0.9, 1.0, 1.1):
        generator.params = lambda k, s=s: dataclasses.replace(still, scale=np.full(3, s))
        sizes.append((generator.slices(0, axis=2, positions=[40])[1] > 0).sum())
    assert sizes[0] < sizes[1] < sizes[2]
    ratio = sizes[2] / sizes[1]
    assert 1.1 ** 2 * 0.9 < ratio < 1.1 ** 2 * 1.1  # area grows with s^2


def test_class_fractions_stay_plausible(icbm, generator):
    """Stated tolerance: per subject, the CSF/GM/WM composition of the brain
    within 0.03 of the template's and all four classes present; whole-volume
    fractions within 0.15 per subject (scaling moves brain/background) and
    within 0.03 on average over subjects."""
    def composition(labels):
        return class_fractions(labels, 4)[1:] / (labels > 0).mean()
    template_composition = composition(icbm.labels)
    fractions = []
    for k in range(8):
        _, y, _ = generator.slices(k, axis=2)
        assert set(np.unique(y)) == {0, 1, 2, 3}
        np.testing.assert_allclose(composition(y), template_composition, atol=0.03)
        fractions.append(class_fractions(y, 4))
        np.testing.assert_allclose(fractions[-1], class_fractions(icbm.labels, 4), atol=0.15)
    np.testing.assert_allclose(np.mean(fractions, axis=0), class_fractions(icbm.labels, 4),
                               atol=0.03)


def test_class_intensities(icbm):
    """I = sum_c p_c (m_c + s_c e), checked on the unwarped template."""
    generator = SynthGenerator(icbm, seed=3, intensity="classes", **STILL)
    p = generator.params(0)
    x, _, _ = generator.slices(0, axis=2, positions=np.arange(25, 55))
    tissue = np.moveaxis(icbm.tissue[:, :, 25:55, 1:], 2, 0)          # (30, X, Y, 3)
    mean, spread = tissue @ p.means, tissue @ p.spreads
    brain = spread > 1e-3
    e = (x[..., 0] - mean)[brain] / spread[brain]                     # the N(0, 1) draws
    assert abs(e.mean()) < 0.02 and abs(e.std() - 1) < 0.02
    np.testing.assert_allclose(x[..., 0][~brain], mean[~brain], atol=1e-3)
    # Pure tissue voxels sit at their class mean (up to the spread).
    for c in range(3):
        pure = tissue[..., c] > 0.99
        assert abs(np.median(x[..., 0][pure]) - p.means[c]) < 0.02


def test_t1_gamma(icbm):
    generator = SynthGenerator(icbm, seed=0, **dict(STILL, gamma_std=0.5))
    gamma = generator.params(1).gamma
    assert abs(np.log(gamma)) > 0.05
    x, _, _ = generator.slices(1, axis=2, positions=[40])
    np.testing.assert_allclose(x[0, ..., 0], icbm.t1[:, :, 40] ** gamma, rtol=1e-5, atol=1e-6)


def test_coarse_fields_equal_trilinear_sampling(generator):
    grid = np.random.default_rng(0).normal(size=(5, 5, 5, 3))
    positions = np.array([0, 17, 78])
    field = generator._coarse(grid, 2, positions)                       # (3, X, Y, 3)
    shape = np.array(generator.shape)
    i, j, k = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), positions, indexing="ij")
    points = np.stack([i, j, k], -1).reshape(-1, 3) * (4 / (shape - 1))
    expected = linear_sample(grid, points, dtype=np.float64).reshape(shape[0], shape[1], 3, 3)
    np.testing.assert_allclose(field, np.moveaxis(expected, 2, 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_linear_weights(7, 3).sum(1), 1)


@pytest.mark.parametrize("width, sigma", [(1, 0), (2, 0), (3, 0), (2.5, 0), (4.2, 0),
                                          (1, 0.7), (3, 1.5)])
def test_profile_is_a_box_of_width_w_convolved_with_a_gaussian(width, sigma):
    kernel = profile(width, sigma)
    assert len(kernel) % 2 == 1 and abs(kernel.sum() - 1) < 1e-12
    np.testing.assert_allclose(kernel, kernel[::-1], atol=1e-15)
    # The variance of a box of width w is w^2 / 12 (plus w-dependent
    # sampling terms), of the Gaussian sigma^2: check against fine sampling.
    fine = 1000
    x = (np.arange(-20 * fine, 20 * fine + 1)) / fine
    box = (np.abs(x) <= width / 2).astype(float)
    if sigma == 0:
        j = np.arange(len(kernel)) - len(kernel) // 2
        # weight of j = overlap of the voxel [j - 1/2, j + 1/2] with the box, / w
        expected = [box[(np.abs(x - jj) < 0.5)].sum() / fine / width for jj in j]
        np.testing.assert_allclose(kernel, expected, atol=2e-3)
    if width == 1 and sigma == 0:
        np.testing.assert_array_equal(kernel, [1.0])
    if width == 2 and sigma == 0:
        np.testing.assert_allclose(kernel, [0.25, 0.5, 0.25])
    if width == 3 and sigma == 0:
        np.testing.assert_allclose(kernel, [1 / 3] * 3)


def test_convolve_matches_loops():
    x = np.random.default_rng(0).normal(size=(3, 9, 6)).astype(np.float32)
    kernel = profile(3, 0.8)
    r = len(kernel) // 2
    out = convolve(x, kernel, axis=1)
    for i in range(9):
        expected = sum(kernel[j + r] * x[:, i + j] for j in range(-r, r + 1) if 0 <= i + j < 9)
        np.testing.assert_allclose(out[:, i], expected, rtol=1e-5, atol=1e-6)


def test_synth_slices(icbm):
    x, y, subject, positions = synth_slices(3, seed=5, first=10, template=icbm,
                                            positions=np.arange(0, 79, 4))
    assert x.shape[1:] == (75, 93, 1) and x.dtype == np.float32 and y.dtype == np.int32
    assert set(subject) == {10, 11, 12}
    assert (y.reshape(len(y), -1).max(1) > 0).all()         # empty slices dropped
    x11, y11, _ = SynthGenerator(icbm, seed=5).slices(11, positions=positions[subject == 11])
    np.testing.assert_array_equal(x[subject == 11], x11)


def test_errors(icbm, generator):
    with pytest.raises(ValueError, match=r"template must have .t1 and .tissue"):
        SynthGenerator(dataclasses.replace(icbm, tissue=None))
    broken = dataclasses.replace(icbm, tissue=icbm.tissue[..., :3])
    with pytest.raises(ValueError, match=r"template.tissue must be \(X, Y, Z, 4\)"):
        SynthGenerator(broken)
    with pytest.raises(ValueError, match="max_noise must be a number"):
        SynthGenerator(icbm, max_noise="0.1")
    for bad in ("t2", 1.5, True):
        with pytest.raises(ValueError, match="intensity must be one of \\('t1', 'classes'\\) "
                                             "or a probability"):
            SynthGenerator(icbm, intensity=bad)
    with pytest.raises(ValueError, match="max_scale must be a number in \\[0, 0.5\\), got 0.6"):
        SynthGenerator(icbm, max_scale=0.6)
    with pytest.raises(ValueError, match="bias_grid must be an integer >= 2"):
        SynthGenerator(icbm, bias_grid=1)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        SynthGenerator(icbm, seed=-1)
    with pytest.raises(ValueError, match="k must be an integer >= 0, got -1"):
        generator.slices(-1)
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2"):
        generator.slices(0, axis=3)
    with pytest.raises(ValueError, match=r"positions must be non-empty and in \[0, 79\)"):
        generator.slices(0, axis=2, positions=[79])
    with pytest.raises(TypeError, match="positions must be a 1D array of slice indices"):
        generator.slices(0, positions=[1.5])
    with pytest.raises(ValueError, match="n_subjects must be an integer >= 1"):
        synth_slices(0)
