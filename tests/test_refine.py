"""The network's probabilities refined by the subject's intensities
(minicnn.segmentation.refine): EM with per-voxel priors, its limits, and
``minicnn predict --refine``.

Limits tested (the module docstring derives them): the objective L never
decreases; w = 0 is a Gaussian mixture with equal, fixed weights; a huge w
gives the network's argmax among the brain classes whatever the intensity;
the posterior is prior x likelihood, normalised; the refined probabilities
sum to 1 with the background's the network's.
"""
import csv
import json

import numpy as np
import pytest

from minicnn import data, datasets, segmentation
from minicnn.cli import main
from minicnn.segmentation import refine

MEANS = np.array([0.3, 0.6, 0.85])       # T1-like CSF, GM, WM
SDS = np.array([0.06, 0.05, 0.04])


def brain(n=20_000, seed=0, means=MEANS, confusion=0.3):
    """Intensities x (n,), true tissues z (n,) and network-like priors p (n, 3):
    0.8 on the true tissue, except a `confusion` share of voxels whose priors
    are random (a network unsure there)."""
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.2, 0.5, 0.3])
    x = rng.normal(np.asarray(means)[z], SDS[z])
    p = np.full((n, 3), 0.1)
    p[np.arange(n), z] = 0.8
    unsure = rng.random(n) < confusion
    p[unsure] = rng.dirichlet([1, 1, 1], unsure.sum())
    return x, z, p


@pytest.mark.parametrize("weight", [0.0, 0.25, 1.0, 3.0])
@pytest.mark.parametrize("components", [1, 2, (2, 1, 3)])
def test_objective_never_decreases(weight, components):
    x, _, p = brain(5_000, seed=1)
    fit = refine.fit_with_priors(x, p, weight, components, max_iter=30, tol=-1)
    steps = np.diff(fit.objective)
    assert len(steps) == 30                             # tol < 0: every iteration runs
    assert np.all(steps >= -1e-12), steps.min()
    for k in range(3):                                  # lam sums to 1 within a tissue
        assert fit.weights[fit.owner == k].sum() == pytest.approx(1)


def test_objective_is_the_mean_log_density():
    x, _, p = brain(2_000, seed=2)
    w = 0.7
    fit = refine.fit_with_priors(x, p, w, 2)
    pi = p ** w / (p ** w).sum(axis=1, keepdims=True)
    density = sum(pi[:, k] * lam * np.exp(-(x - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v)
                  for k, lam, m, v in zip(fit.owner, fit.weights, fit.means, fit.variances))
    assert fit.objective[-1] == pytest.approx(np.log(density).mean(), abs=1e-9)


def test_posterior_is_prior_times_likelihood_normalised():
    x, _, p = brain(500, seed=3)
    fit = refine.fit_with_priors(x, p, 0.5, 1)
    pi = np.sqrt(p) / np.sqrt(p).sum(axis=1, keepdims=True)
    likelihood = np.exp(-(x[:, None] - fit.means) ** 2 / (2 * fit.variances)) \
        / np.sqrt(2 * np.pi * fit.variances)
    by_hand = pi * likelihood / (pi * likelihood).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fit.posteriors(x, p), by_hand, rtol=1e-9, atol=1e-12)


def test_two_voxels_by_hand():
    """The posterior written out on two voxels, two tissues, Gaussians
    N(0, 1) and N(2, 1), w = 1: voxel 1 at x = 1 (equidistant, likelihoods
    equal) keeps its prior 0.9 / 0.1; voxel 2 at x = 2 with prior 0.5 / 0.5
    goes by the likelihood ratio exp(-2) / exp(0)."""
    fit = refine.PriorMixture(np.array([0, 1]), np.ones(2), np.array([0.0, 2.0]),
                              np.ones(2), 1.0, np.zeros(1), True)
    p = np.array([[0.9, 0.1], [0.5, 0.5]])
    posterior = fit.posteriors(np.array([1.0, 2.0]), p)
    e = np.exp(-2.0)
    np.testing.assert_allclose(posterior, [[0.9, 0.1], [e / (1 + e), 1 / (1 + e)]],
                               rtol=1e-12)
    # w = 2 squares the priors before normalising: 0.81 / 0.82, 0.01 / 0.82
    fit2 = refine.PriorMixture(fit.owner, fit.weights, fit.means, fit.variances, 2.0,
                               fit.objective, True)
    np.testing.assert_allclose(fit2.posteriors(np.array([1.0]), p[:1]),
                               [[0.81 / 0.82, 0.01 / 0.82]], rtol=1e-12)


@pytest.mark.parametrize("weight", [0.5, 1.0, 2.0])
def test_flat_likelihoods_leave_the_prior_alone(weight):
    """Every tissue's Gaussian the same: the intensity says nothing, so the
    posterior is the prior pi = p^w / sum p^w, whatever x."""
    same = np.full(3, 0.5)
    fit = refine.PriorMixture(np.arange(3), np.ones(3), same, np.full(3, 0.01), weight,
                              np.zeros(1), True)
    _, _, p = brain(200, seed=8)
    x = np.random.default_rng(8).normal(0.5, 0.3, 200)
    pi = p ** weight / (p ** weight).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fit.posteriors(x, p), pi, rtol=1e-9)


def test_weight_zero_is_a_mixture_with_equal_fixed_weights():
    """w = 0: pi = 1/3 everywhere, so EM is the plain mixture's with its weights
    held at 1/3 (started, as refine starts, from the network's tissue means)."""
    x, _, p = brain(5_000, seed=4)
    fit = refine.fit_with_priors(x, p, 0.0, 1, max_iter=25, tol=0)
    q = p / p.sum(axis=1, keepdims=True)                # the start: the network's split
    n = q.sum(axis=0)
    means = q.T @ x / n
    variances = (q * (x[:, None] - means) ** 2).sum(axis=0) / n
    for _ in range(25):                                 # EM, weights fixed at 1/3
        a = np.log(1 / 3) - 0.5 * np.log(2 * np.pi * variances) \
            - 0.5 * (x[:, None] - means) ** 2 / variances
        r = np.exp(a - a.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        n = r.sum(axis=0)
        means = r.T @ x / n
        variances = (r * (x[:, None] - means) ** 2).sum(axis=0) / n
    np.testing.assert_allclose(fit.means, means, rtol=1e-9)
    np.testing.assert_allclose(fit.variances, variances, rtol=1e-9)
    # and the priors no longer matter: shuffled priors, same posterior
    shuffled = np.random.default_rng(0).permutation(p)
    np.testing.assert_allclose(fit.posteriors(x, p), fit.posteriors(x, shuffled), atol=1e-12)


def test_huge_weight_gives_the_network_argmax():
    x, _, p = brain(5_000, seed=5, confusion=0.5)
    fit = refine.fit_with_priors(x, p, 1e4, 1)
    posterior = fit.posteriors(x, p)
    np.testing.assert_array_equal(posterior.argmax(axis=1), p.argmax(axis=1))
    top2 = np.sort(p, axis=1)[:, -2:]
    clear = top2[:, 1] > 1.01 * top2[:, 0]              # (p1 / p2)^w huge unless p1 ~ p2
    assert posterior[clear].max(axis=1).min() > 0.999


def test_refinement_beats_the_unsure_network_and_any_contrast_works():
    """Where the priors are random, the intensity decides; the Gaussians are
    named by the priors, so an inverted (T2-like) contrast works too."""
    for means in (MEANS, MEANS[::-1]):
        x, z, p = brain(20_000, seed=6, means=means)
        fit = refine.fit_with_priors(x, p, 0.5, 1)
        np.testing.assert_allclose(fit.means, means, atol=0.01)
        assert np.mean(fit.posteriors(x, p).argmax(axis=1) == z) > 0.97 > \
            np.mean(p.argmax(axis=1) == z)


def volume(seed=7):
    """A 16 x 16 x 8 'scan': a brain block with background around it, and
    network-like probabilities (X, Y, Z, 4)."""
    x, z, p = brain(10 * 10 * 6, seed=seed)
    image = np.zeros((16, 16, 8), np.float32)
    prob = np.zeros((16, 16, 8, 4), np.float32)
    prob[..., 0] = 1
    inside = (slice(3, 13), slice(3, 13), slice(1, 7))
    image[inside] = x.reshape(10, 10, 6)
    prob[inside] = np.concatenate([np.full((len(x), 1), 0.05), 0.95 * p], axis=1) \
        .reshape(10, 10, 6, 4)
    prob[2, 3:13, 1:7] = [0.6, 0.2, 0.1, 0.1]           # a rim: mostly background
    return image, prob, z.reshape(10, 10, 6)


def test_refined_volume_sums_to_one_and_keeps_the_background():
    image, prob, _ = volume()
    done = refine.refine_probabilities(image, prob, weight=0.5)
    q = done.probabilities
    assert q.dtype == np.float32 and q.shape == prob.shape
    np.testing.assert_allclose(q.sum(axis=-1), 1, atol=1e-6)
    np.testing.assert_array_equal(q[..., 0], prob[..., 0])           # background untouched
    far = prob[..., 0] == 1
    np.testing.assert_array_equal(q[far], prob[far])                # no brain share: as is
    assert done.brain_voxels == done.sample_voxels == 600
    assert done.refined_voxels == 600 + 60
    assert not np.array_equal(q, prob)
    assert "w = 0.5" in done.note(("background", "CSF", "grey matter", "white matter"))
    sampled = refine.refine_probabilities(image, prob, weight=0.5, fit_voxels=100)
    assert (sampled.brain_voxels, sampled.sample_voxels) == (600, 100)
    assert "on 100 of the 600 brain voxels" in sampled.note(("bg", "CSF", "GM", "WM"))


def test_refine_needs_a_brain_and_matching_shapes():
    image, prob, _ = volume()
    with pytest.raises(ValueError, match="probabilities must be"):
        refine.refine_probabilities(image[:-1], prob)
    nothing = np.zeros_like(prob)
    nothing[..., 0] = 1
    with pytest.raises(ValueError, match="no brain"):
        refine.refine_probabilities(image, nothing)
    with pytest.raises(ValueError, match="weight"):
        refine.fit_with_priors(np.ones(3), np.ones((3, 3)), weight=-1)


# --------------------------------------------------------------- slow: the command
@pytest.mark.slow
@pytest.mark.usefixtures("restore_global_state")
def test_predict_refine_writes_refined_posteriors(tmp_path, capsys):
    """The shipped 1 mm model on a block of the template, with and without
    --refine: posteriors sum to 1, their argmax is the label map, the volumes
    table adds up to it, and only the tissues' split changes."""
    icbm = datasets.icbm152(resolution=1)
    centre = [n // 2 for n in icbm.t1.shape]
    block = np.ascontiguousarray(icbm.t1[centre[0] - 24:centre[0] + 24,
                                         centre[1] - 24:centre[1] + 24,
                                         centre[2] - 8:centre[2] + 8])
    data.save_nifti(tmp_path / "t1.nii.gz", block, icbm.affine)
    written = {}
    for name, extra in (("plain", []), ("refined", ["--refine"])):
        assert main(["predict", "--input", str(tmp_path / "t1.nii.gz"),
                     "--output", str(tmp_path / f"{name}.nii.gz"),
                     "--posteriors", str(tmp_path / f"{name}_p.nii.gz"),
                     "--volumes", str(tmp_path / f"{name}.csv"), "--views", "axial",
                     *extra]) == 0
        labels = data.load_nifti(tmp_path / f"{name}.nii.gz")[0]
        posteriors = data.load_nifti(tmp_path / f"{name}_p.nii.gz")[0]
        np.testing.assert_allclose(posteriors.sum(axis=-1), 1, atol=1e-5)
        np.testing.assert_array_equal(posteriors.argmax(axis=-1), labels)
        with open(tmp_path / f"{name}.csv", encoding="utf-8") as f:
            row = next(csv.DictReader(f))
        voxel_ml = abs(np.linalg.det(icbm.affine[:3, :3])) / 1000
        for c, tissue in enumerate(("background", "CSF", "grey matter", "white matter")):
            assert float(row[f"{tissue} mL"]) == pytest.approx(
                (labels == c).sum() * voxel_ml, abs=1e-3)
        assert float(row["brain mL"]) == pytest.approx((labels > 0).sum() * voxel_ml,
                                                       abs=1e-3)
        written[name] = posteriors
    out = capsys.readouterr().out
    assert "refined by the subject's intensities (w = " in out
    np.testing.assert_array_equal(written["refined"][..., 0], written["plain"][..., 0])
    assert not np.array_equal(written["refined"], written["plain"])
    with open(tmp_path / "refined_p.json", encoding="utf-8") as f:
        assert "refined by the subject's intensities" in json.load(f)["meaning"]


def test_segment_scan_passes_refine_options(monkeypatch):
    """segment_scan(refine=...) calls the refinement in the working grid with its
    options, and the labels are the refined probabilities' argmax."""
    seen = {}

    def fake(normalised, probabilities, **options):
        seen.update(options, shape=normalised.shape)
        q = np.array(probabilities)
        q[..., 1:] = q[..., [3, 2, 1]]                      # anything recognisable
        return refine.Refinement(q, refine.fit_with_priors(np.arange(3.0), np.eye(3), 1),
                                 1, 1, 1)

    class Model:
        output_shape = (None, None, None, 4)

        def predict(self, x, batch_size, verbose):
            p = np.zeros(x.shape[:3] + (4,), np.float32)
            p[..., 1:] = [0.5, 0.3, 0.2]
            return p

    card = segmentation.new_card("unet-small", ("background", "CSF", "GM", "WM"), 2, 2.0)
    image, _, _ = volume()
    monkeypatch.setattr(refine, "refine_probabilities", fake)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    result = segmentation.segment_scan(Model(), card, image, affine, refine={"weight": 2})
    assert seen == {"weight": 2, "shape": image.shape}
    assert result.labels[8, 8, 4] == 3                       # WM, refined, not CSF
    plain = segmentation.segment_scan(Model(), card, image, affine)
    assert plain.labels[8, 8, 4] == 1
