"""The synthetic whole heads of minicnn.data.heads: their anatomy; that
they reproduce the failure of the skull-stripped check as it stood before
the whole-head check (it passed a real whole-head T1 with 6.3 % of the
signal outside one brain-shaped region, against a limit of 7 %); and that
the whole-head check refuses them all and passes them skull-stripped.

That check's figure on the test heads, shapes x seeds 0-3 (below 0.07 is
the failure), at 2 mm and at 1 mm (which the check resamples to 2 mm):

    2 mm    mni     0.222  0.040  0.053  0.102
            neck    0.105  0.036  0.080  0.012
            thick   0.021  0.036  0.083  0.138
            tight   0.036  0.048  0.030  0.014
    1 mm    mni     0.240  0.076  0.080  0.145
            neck    0.096  0.041  0.079  0.015
            thick   0.020  0.027  0.066  0.132
            tight   0.038  0.052  0.029  0.015

At 2 mm 10 of 16 below 0.07, at least one of each shape; at 1 mm 9 of 16,
the MNI box's heads just above (their face and neck, cut at the jaw, weigh
least against the scalp). Over 64 heads at 2 mm (seeds 0-5, 20-29) 34.

The whole-head check's figure (the share of rays that cross a skull, limit
0.2; minicnn.data.quality) on the same heads, and on them skull-stripped:

                    whole                              skull-stripped
    2 mm    mni     0.909  0.558  0.804  0.613         0.000-0.005 (all)
            neck    0.723  0.676  0.578  0.737
            thick   0.777  0.733  0.636  0.680
            tight   0.392  0.483  0.578  0.420
    1 mm    mni     0.908  0.624  0.851  0.672         0.000-0.005 (all)
            neck    0.734  0.729  0.633  0.765
            thick   0.795  0.763  0.699  0.681
            tight   0.466  0.542  0.629  0.536

Its settings were chosen on the 2 mm heads of seeds 0-2 of 'mni' and
'neck' (and the template and synthetic subjects): the other heads, and
every head at 1 mm, are held out.
"""
import functools

import numpy as np
import pytest

from minicnn import data, datasets
from minicnn.data import heads, quality

SEEDS = range(4)


@functools.lru_cache(maxsize=None)
def cached_head(shape, seed, voxel_mm=2):
    """Each test head is built once per session (0.3-1 s at 2 mm, 5-10 s at 1 mm)."""
    return heads.head(shape, seed, voxel_mm)


def todays_figure(volume, voxel_mm):
    """The skull-stripped figure of check_input before the whole-head check:
    on the 2 mm grid, the share of the signal outside the brain-shaped
    region, sum_{S \\ R} x / sum_S x (quality.brain_region gives S and R)."""
    sizes = np.broadcast_to(float(voxel_mm), (3,))
    shape, ratios = data.grid_for_voxel_size(volume.shape, sizes, quality.CHECK_MM)
    x = data.resample(volume, ratios, shape)
    signal, region = quality.brain_region(x, quality.CHECK_MM)
    return float(x[signal & ~region].sum(dtype=np.float64) / x[signal].sum(dtype=np.float64))


def _tissue(h, name):
    return h.labels == heads.TISSUES.index(name)


# ---------------------------------------------------------------- the heads
@pytest.mark.parametrize("shape", sorted(heads.SHAPES))
def test_a_head_fills_its_field_of_view(shape):
    h = cached_head(shape, 0)
    fov = heads.SHAPES[shape]["fov_mm"]
    assert h.image.shape == tuple(round(n / 2) for n in fov) and h.image.dtype == np.float32
    assert np.allclose(np.diag(h.affine)[:3], 2.0)
    assert h.labels.shape == h.mask.shape == h.image.shape
    assert set(np.unique(h.labels)) == set(range(len(heads.TISSUES)))


def test_a_seed_is_one_head():
    h = cached_head("tight", 0)
    again = heads.head("tight", 0, 2)
    assert np.array_equal(again.image, h.image) and np.array_equal(again.labels, h.labels)
    first, second = heads.draw("tight", 0), heads.draw("tight", 1)
    assert not np.array_equal(first["scale"], second["scale"])
    assert first["mm"] != second["mm"] and first["t1"] != second["t1"]


@pytest.mark.parametrize("shape", sorted(heads.SHAPES))
def test_tissues_are_ordered_as_in_a_t1(shape):
    """fat > brain (WM and GM) > muscle > CSF > air by the median signal of
    each tissue's voxels, and as drawn: fat brighter than white matter, bone
    at most 4 % of it (at 2 mm, 1-2 mm tables of bone are seen only in
    partial volume with their neighbours)."""
    h = cached_head(shape, 0)
    median = {t: float(np.median(h.image[_tissue(h, t)])) for t in heads.TISSUES}
    order = ["fat", "brain", "muscle", "csf", "air"]
    assert all(median[a] > median[b] for a, b in zip(order, order[1:])), median
    drawn = h.params["t1"]
    assert drawn["fat"] > 1 > drawn["skin"] > drawn["csf"] > 0.04 >= drawn["bone"], drawn


@pytest.mark.parametrize("shape", sorted(heads.SHAPES))
def test_above_the_brain_lie_csf_skull_and_scalp(shape):
    """Straight up from the brain's highest voxel: skull (bone or marrow)
    and scalp (fat or skin) before the air, 6-30 mm in all (at 2 mm the
    thin layers, CSF and the tables, are seldom a voxel's main tissue)."""
    h = cached_head(shape, 0)
    top = np.argwhere(_tissue(h, "brain"))
    i, j, k = top[np.argmax(top[:, 2])]
    column = h.labels[i, j, k + 1:]
    outside = np.nonzero(column == heads.TISSUES.index("air"))[0][0]
    met = {heads.TISSUES[t] for t in column[:outside]}
    assert met & {"bone", "marrow"} and met & {"fat", "skin"}, met
    assert 6 <= 2 * outside <= 30, 2 * outside


def test_the_stripped_head_keeps_the_brain_and_its_csf():
    h = cached_head("mni", 0)
    stripped = h.stripped
    kept = stripped > 0
    assert (kept == h.mask).mean() > 0.999
    assert not (kept & (_tissue(h, "fat") | _tissue(h, "skin") | _tissue(h, "muscle"))).any()
    litres = h.mask.sum() * 8 / 1e6
    assert 1.5 < litres < 2.3, litres           # an MNI-sized brain with its CSF


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(heads.SHAPES))
def test_one_anatomy_at_1_and_2_mm(shape):
    """The 1 mm head averaged to 2 mm matches the 2 mm head up to the noise
    and the partial volumes: the same anatomy and bias at both."""
    fine, coarse = cached_head(shape, 0, 1), cached_head(shape, 0)
    x, y, z = (n // 2 * 2 for n in fine.image.shape)
    averaged = fine.image[:x, :y, :z].reshape(x // 2, 2, y // 2, 2, z // 2, 2).mean((1, 3, 5))
    difference = np.abs(averaged - coarse.image[:x // 2, :y // 2, :z // 2])
    assert np.median(difference) < 0.03 and np.mean(difference) < 0.05, difference.mean()
    brain_fine = (fine.labels == 1).sum() / 8
    assert abs(brain_fine / (coarse.labels == 1).sum() - 1) < 0.05


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="shape must be one of"):
        heads.head("round", 0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        heads.head("mni", -1)
    with pytest.raises(ValueError, match="voxel_mm must be 1 or 2"):
        heads.head("mni", 0, 3)


# ------------------------------------------- the check before the whole-head check
OLD_LIMIT = 0.07     # that check warned above it


def test_todays_figure_is_the_replaced_check():
    """todays_figure gives what check_input gave before the whole-head check
    (commit 6bfaaa5) on the template at 2 mm: 0.00172."""
    template = datasets.icbm152(resolution=2)
    assert todays_figure(template.t1, 2) == pytest.approx(0.00172, abs=2e-5)


@pytest.mark.slow
def test_todays_check_misses_most_heads():
    """Before the whole-head check: at least half the 2 mm heads, and at
    least one of each shape, scored below its limit of 0.07 (a pass, as the
    real whole head did with 0.063), so the heads reproduce the failure."""
    figures = {(shape, seed): todays_figure(cached_head(shape, seed).image, 2)
               for shape in sorted(heads.SHAPES) for seed in SEEDS}
    missed = {key: f for key, f in figures.items() if f < OLD_LIMIT}
    assert len(missed) >= len(figures) / 2, figures
    assert {shape for shape, _ in missed} == set(heads.SHAPES), figures


@pytest.mark.slow
def test_todays_check_misses_half_the_heads_at_1mm():
    figures = {(shape, seed): todays_figure(cached_head(shape, seed, 1).image, 1)
               for shape in sorted(heads.SHAPES) for seed in SEEDS}
    assert sum(f < OLD_LIMIT for f in figures.values()) >= len(figures) / 2, figures


# ------------------------------------------------------- the whole-head check
# DARK_RATIO and MAX_SKULL were chosen on these heads (and the template and
# synthetic subjects, tests/test_data_quality.py); every other head is held out.
TUNED = [(shape, seed) for shape in ("mni", "neck") for seed in (0, 1, 2)]
HELD_OUT = [(shape, seed) for shape in sorted(heads.SHAPES) for seed in SEEDS
            if (shape, seed) not in TUNED]


def _figure(finding):
    """A finding's figure against its limit, for assertion messages."""
    return f"{finding.value:.3f} against {finding.limit:g} (x{finding.value / finding.limit:.2f})"


def _refused(image, voxel_mm, name):
    """Refused with 1.5 times the limit to spare, and one warning, not two."""
    skull, contrast = data.check_input(image, voxel_mm)
    assert not skull.ok and skull.value > 1.5 * skull.limit, (name, _figure(skull))
    assert "does not look skull-stripped" in skull.message
    assert contrast.ok and "not measured" in contrast.message


def _passed(image, voxel_mm, name):
    """Passed below a quarter of the limit."""
    skull, contrast = data.check_input(image, voxel_mm)
    assert skull.ok and skull.value < skull.limit / 4, (name, _figure(skull))
    assert contrast.ok, (name, contrast)


def test_the_tuning_and_held_out_heads_do_not_overlap():
    assert not set(TUNED) & set(HELD_OUT) and len(TUNED) + len(HELD_OUT) == 16
    assert {shape for shape, _ in HELD_OUT} == set(heads.SHAPES)   # two shapes unseen


@pytest.mark.parametrize("shape", sorted(heads.SHAPES))
def test_a_whole_head_is_refused(shape):
    """Seed 0 of each shape (the heads the anatomy tests built): 0.39-0.91."""
    _refused(cached_head(shape, 0).image, 2, shape)


@pytest.mark.parametrize("shape", ["mni", "tight"])
def test_a_head_skull_stripped_passes(shape):
    """The same bias, noise and CSF rim without the skull (the two shapes
    whose stripped brain checks in well under a second): 0.000-0.005."""
    _passed(cached_head(shape, 0).stripped, 2, shape)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["tuned", "held out"])
def test_every_head_is_refused_and_passes_skull_stripped(which):
    """At 2 mm, the tuning heads and the held-out heads (two shapes of
    which the tuning never saw) separately, with the same margins."""
    for shape, seed in TUNED if which == "tuned" else HELD_OUT:
        h = cached_head(shape, seed)
        _refused(h.image, 2, (shape, seed))
        _passed(h.stripped, 2, (shape, seed))


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(heads.SHAPES))
def test_heads_at_1mm_are_refused_and_pass_stripped(shape):
    """Every head at 1 mm is held out."""
    for seed in SEEDS:
        h = cached_head(shape, seed, 1)
        _refused(h.image, 1, (shape, seed))
        _passed(h.stripped, 1, (shape, seed))
