"""Synthetic subjects at 1 mm, the compiled kernel against a NumPy reference,
the acquisition model in mm (thick slices, point spread), mixed contrast and
the named presets."""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from minicnn import datasets
from minicnn.data import SynthGenerator, linear_sample, synth
from minicnn.data._acquisition import convolve, neighbours, profile
from minicnn.data.synth import _rotation

STILL = dict(max_scale=0, max_rotation=0, max_shift=0, elastic_std=0, gamma_std=0,
             bias_std=0, max_noise=0)


@pytest.fixture(scope="module")
def icbm1():
    return datasets.icbm152(1)


@pytest.fixture(scope="module")
def icbm2():
    return datasets.icbm152(2)


@pytest.fixture(scope="module")
def train1(icbm1):
    return SynthGenerator(icbm1, seed=11, **synth.preset("train"))


def reference_render(generator, k, axis, positions):
    """The warp, sampling, labels and contrast of ``_render`` in plain NumPy:
    u = M (v - c) + c + (t + d(v)) / h at every voxel, ``linear_sample``."""
    p = generator.params(k)
    plane = [a for a in (0, 1, 2) if a != axis]
    h, w = generator.shape[plane[0]], generator.shape[plane[1]]
    v = np.zeros((len(positions), h, w, 3))
    v[..., axis] = positions[:, None, None]
    v[..., plane[0]] = np.arange(h)[None, :, None]
    v[..., plane[1]] = np.arange(w)[None, None, :]
    m = _rotation(p.angles) @ np.diag(1 / p.scale)
    c = generator._centre
    u = (v - c) @ m.T + c + p.shift / generator.voxel_mm \
        + generator._coarse(p.elastic, axis, positions) / generator.voxel_mm
    q = linear_sample(generator._stack, u.reshape(-1, 3), dtype=np.float64)
    q = q.reshape(len(positions), h, w, 5)
    if p.contrast == "t1":
        image = q[..., 4] ** p.gamma
    else:
        e = np.stack([np.random.default_rng([generator.seed, k, axis, int(s), 0])
                      .standard_normal((h, w), dtype=np.float32) for s in positions])
        image = q[..., 1:4] @ p.means + e * (q[..., 1:4] @ p.spreads)
    return q[..., :4], image


@pytest.mark.parametrize("resolution, intensity", [(2, "t1"), (2, "classes"), (1, "t1")])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_kernel_matches_the_numpy_reference(icbm1, icbm2, resolution, intensity, axis):
    template = icbm1 if resolution == 1 else icbm2
    generator = SynthGenerator(template, seed=4, intensity=intensity, max_shift=10.0)
    n = template.t1.shape[axis]
    positions = np.array([0, n // 3, n // 2, n - 1])       # edges: partly outside the view
    for k in (0, 1):
        p = generator.params(k)
        labels, image = generator._render(k, p, axis, positions)
        q, expected = reference_render(generator, k, axis, positions)
        top2 = np.sort(q, axis=-1)[..., -2:]
        outside = top2[..., 1] == 0                            # beyond the view: label 0
        clear = (top2[..., 1] - top2[..., 0] > 1e-6) | outside  # not a near-tie
        np.testing.assert_array_equal(labels[clear], q.argmax(-1)[clear])
        assert clear.mean() > 0.999
        bias = np.exp(generator._coarse(p.bias, axis, positions)[..., 0])
        np.testing.assert_allclose(image, expected * bias, rtol=1e-4, atol=1e-5)


def test_one_mm_subjects_are_deterministic_on_every_axis(icbm1, train1):
    other = SynthGenerator(icbm1, seed=11, **synth.preset("train"))
    for axis in (0, 1, 2):
        # a subject whose thick slices run along this axis: the blur needs neighbours
        k = next(k for k in range(60) if train1.params(k).thick_axis == axis
                 and train1.params(k).thickness > 2)
        positions = np.array([5, 60, 61, 100])
        x, y, _ = train1.slices(k, axis=axis, positions=positions)
        x2, y2, _ = other.slices(k, axis=axis, positions=positions)
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
        x1, y1, _ = train1.slices(k, axis=axis, positions=[61])   # alone, other neighbours
        np.testing.assert_array_equal(x[2], x1[0])
        np.testing.assert_array_equal(y[2], y1[0])
        assert x.shape == (4,) + tuple(np.delete(icbm1.t1.shape, axis)) + (1,)
        assert set(np.unique(y[1])) == {0, 1, 2, 3}
    x3, _, _ = SynthGenerator(icbm1, seed=12, **synth.preset("train")).slices(k, 2, [60])
    assert not np.allclose(x3[0], x[1])


def test_one_mm_volume_is_the_stack_of_its_slices(train1):
    k = next(k for k in range(60) if train1.params(k).thick_axis == 1
             and train1.params(k).thickness > 2)
    image, labels = train1.volume(k, axis=1)
    assert image.shape == labels.shape == train1.shape
    x, y, _ = train1.slices(k, axis=1, positions=[0, 90])
    np.testing.assert_array_equal(image[:, 90], x[1, ..., 0])
    np.testing.assert_array_equal(labels[:, 0], y[0])


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("thick_axis", [0, 1, 2])
def test_thick_slices_are_a_box_blur_along_their_axis(icbm2, axis, thick_axis):
    """With no warp and no noise, a subject with 6 mm slices along thick_axis
    is the sharp subject convolved with (1/3, 1/3, 1/3) along that axis,
    whether it is the slicing axis (neighbour slices) or in the plane."""
    generator = SynthGenerator(icbm2, seed=0, **STILL)
    still = generator.params(0)
    sharp, _, _ = generator.slices(0, axis=axis)                   # (n, H, W, 1)
    generator.params = lambda k: dataclasses.replace(still, thick_axis=thick_axis,
                                                     thickness=6.0)
    assert [len(kernel) for kernel in generator.profiles(0)] == \
        [3 if a == thick_axis else 1 for a in (0, 1, 2)]
    positions = np.array([0, 30, 31, icbm2.t1.shape[axis] - 1])
    x, y, _ = generator.slices(0, axis=axis, positions=positions)
    plane = [a for a in (0, 1, 2) if a != axis]
    along = 0 if thick_axis == axis else 1 + plane.index(thick_axis)
    expected = convolve(sharp[..., 0], np.full(3, 1 / 3), axis=along)[positions]
    np.testing.assert_allclose(x[..., 0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y, np.moveaxis(icbm2.tissue.argmax(-1), axis, 0)[positions])


def test_neighbours_of_slices_near_the_edges():
    needed, slot = neighbours(np.array([0, 5, 3]), 6, 1)
    np.testing.assert_array_equal(needed, [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(slot, [[6, 0, 1], [4, 5, 6], [2, 3, 4]])   # 6: zeros
    needed, slot = neighbours(np.array([4]), 9, 2)
    np.testing.assert_array_equal(needed, [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(slot, [[0, 1, 2, 3, 4]])


def test_blur_is_in_mm_at_both_resolutions(icbm1, icbm2):
    """4 mm slices and a 1 mm point spread are 4 and 2 voxels wide at 1 and
    2 mm (sd 1 and 0.5 voxels): the same physical kernel, sampled twice."""
    kernels = {}
    for template in (icbm1, icbm2):
        generator = SynthGenerator(template, seed=0, **STILL)
        still = generator.params(0)
        generator.params = lambda k, s=still: dataclasses.replace(s, thick_axis=2,
                                                                  thickness=4.0, blur=1.0)
        kernels[template.resolution] = generator.profiles(0)
    for r, kernel in kernels.items():
        np.testing.assert_array_equal(kernel[2], profile(4 / r, 1 / r))
        np.testing.assert_array_equal(kernel[0], profile(1, 1 / r))
        np.testing.assert_array_equal(kernel[1], kernel[0])
    spread = {r: (kernel[2] * (r * (np.arange(len(kernel[2])) - len(kernel[2]) // 2)) ** 2).sum()
              for r, kernel in kernels.items()}                    # variance, mm^2
    assert abs(spread[1] - (16 / 12 + 1)) < 0.3 and abs(spread[2] - spread[1]) < 0.7
    no_blur = SynthGenerator(icbm1, seed=0, **STILL).profiles(3)
    assert all(np.array_equal(kernel, [1.0]) for kernel in no_blur)


def test_intensity_mixes_contrasts_per_subject(icbm2):
    def contrasts(intensity):
        generator = SynthGenerator(icbm2, seed=5, intensity=intensity)
        return [generator.params(k).contrast for k in range(300)]
    assert set(contrasts("t1")) == {"t1"} and set(contrasts("classes")) == {"classes"}
    share = np.mean([c == "classes" for c in contrasts(0.3)])
    assert 0.22 < share < 0.38
    assert contrasts(0.3) == contrasts(0.3)


def test_bias_grid_sets_the_field_resolution(icbm2):
    generator = SynthGenerator(icbm2, seed=0, bias_grid=2, bias_std=0.5)
    assert generator.params(0).bias.shape == (2, 2, 2, 1)
    # 2 points per axis: log b is trilinear, so it is linear along each row
    field = generator._coarse(generator.params(0).bias, 2, np.array([40]))[0, ..., 0]
    np.testing.assert_allclose(np.diff(field, 2, axis=0), 0, atol=1e-5)


def test_presets(icbm1):
    train, proxy = synth.preset("train"), synth.preset("proxy")
    assert train["intensity"] == 0.5 and proxy["intensity"] == "classes"
    assert proxy["bias_std"] > train["bias_std"] and proxy["bias_grid"] < train["bias_grid"]
    assert proxy["max_thickness"] > train["max_thickness"]
    assert proxy["max_blur"] > train["max_blur"]
    anatomy = ("max_scale", "max_rotation", "max_shift", "elastic_std")
    assert all(train[name] == proxy[name] for name in anatomy)
    assert synth.preset("proxy", max_noise=0.1)["max_noise"] == 0.1
    assert synth.PRESETS["proxy"]["max_noise"] == 0.05               # not modified
    generator = SynthGenerator(icbm1, seed=2, **proxy)
    assert {generator.params(k).contrast for k in range(20)} == {"classes"}
    x, y, _ = generator.slices(0, axis=2, positions=[80])
    assert x.shape == (1, 150, 186, 1) and np.isfinite(x).all() and y.max() == 3
    with pytest.raises(ValueError, match=r"preset name must be one of \('train', 'proxy'\)"):
        synth.preset("test")
    with pytest.raises(TypeError, match=r"preset overrides must be among .* got \['low_res'\]"):
        synth.preset("train", low_res=2)


def test_acquisition_errors(icbm2):
    with pytest.raises(ValueError, match=r"max_thickness must be a number in \[0, 20\)"):
        SynthGenerator(icbm2, max_thickness=-1)
    with pytest.raises(ValueError, match=r"max_blur must be a number in \[0, 5\)"):
        SynthGenerator(icbm2, max_blur=5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'low_res'"):
        SynthGenerator(icbm2, low_res=2)          # was in voxels: now max_thickness, mm


def test_without_numba_the_generator_refuses_loudly():
    code = """
import importlib.abc, json, sys
class NoNumba(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "numba" or name.startswith("numba."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoNumba())
import minicnn.data
try:
    minicnn.data.SynthGenerator()
    print(json.dumps(None))
except ImportError as error:
    print(json.dumps(str(error)))
"""
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), check=True,
                         capture_output=True, text=True)
    message = json.loads(out.stdout.strip().splitlines()[-1])
    assert message and "SynthGenerator needs numba" in message
