"""EM for a 1D Gaussian mixture: known parameters recovered, L never decreasing."""
import numpy as np
import pytest

from minicnn import mixture

TRUE = {"weights": np.array([0.2, 0.5, 0.3]), "means": np.array([0.35, 0.65, 0.85]),
        "sds": np.array([0.06, 0.05, 0.03])}


def samples(n=60_000, seed=0):
    """n draws of the three-tissue mixture TRUE (T1-like: CSF, GM, WM)."""
    rng = np.random.default_rng(seed)
    k = rng.choice(3, size=n, p=TRUE["weights"])
    return rng.normal(TRUE["means"][k], TRUE["sds"][k]), k


@pytest.mark.parametrize("init", ["quantile", "kmeans"])
def test_em_recovers_known_parameters(init):
    x, _ = samples()
    fit = mixture.fit_gaussian_mixture(x, 3, init=init)
    assert fit.converged
    # Sampling error of a mean over ~12,000 draws is ~0.0005; of a weight ~0.002.
    np.testing.assert_allclose(fit.means, TRUE["means"], atol=0.005)
    np.testing.assert_allclose(np.sqrt(fit.variances), TRUE["sds"], atol=0.005)
    np.testing.assert_allclose(fit.weights, TRUE["weights"], atol=0.02)
    assert fit.weights.sum() == pytest.approx(1)


@pytest.mark.parametrize("init", ["quantile", "kmeans", "random", [0.8, 0.85, 0.9]])
def test_log_likelihood_never_decreases(init):
    x, _ = samples(20_000, seed=1)
    fit = mixture.fit_gaussian_mixture(x, 3, init=init, seed=3, tol=1e-9)
    steps = np.diff(fit.log_likelihoods)
    assert len(steps) >= 2
    assert np.all(steps >= -1e-12), steps.min()


def test_log_likelihood_is_the_mean_log_density():
    x, _ = samples(5_000, seed=2)
    fit = mixture.fit_gaussian_mixture(x, 3)
    by_hand = np.log(sum(w * np.exp(-(x - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v)
                         for w, m, v in zip(fit.weights, fit.means, fit.variances)))
    assert fit.log_likelihoods[-1] == pytest.approx(by_hand.mean(), abs=1e-9)
    np.testing.assert_allclose(fit.responsibilities(x).sum(axis=1), 1)


def test_components_sorted_and_predict_labels_classes():
    x, k = samples(20_000, seed=4)
    fit = mixture.fit_gaussian_mixture(x, 3, init=[0.9, 0.3, 0.6])   # given unsorted
    assert np.all(np.diff(fit.means) > 0)
    assert np.mean(fit.predict(x) == k) > 0.9


def test_far_samples_do_not_give_nan():
    """A sample 1000 sd from every mean: each N(x) underflows to 0, logsumexp does not."""
    x, _ = samples(5_000, seed=5)
    fit = mixture.fit_gaussian_mixture(x, 3)
    r = fit.responsibilities(np.array([60.0, -60.0]))
    assert np.all(np.isfinite(r)) and np.allclose(r.sum(axis=1), 1)


def test_initial_means_and_errors():
    x = np.arange(600, dtype=float)
    np.testing.assert_allclose(mixture.initial_means(x, 3), np.quantile(x, [1 / 6, 0.5, 5 / 6]))
    with pytest.raises(ValueError, match="init"):
        mixture.fit_gaussian_mixture(x, 3, init="median")
    with pytest.raises(ValueError, match="n_components=3 distinct values, got 1"):
        mixture.fit_gaussian_mixture(np.ones(10), 3)
    with pytest.raises(ValueError, match="n_components must be a positive integer, got 0"):
        mixture.fit_gaussian_mixture(x, 0)
    with pytest.raises(ValueError, match="finite, got 1 NaN or infinite values among 4"):
        mixture.fit_gaussian_mixture(np.array([0.0, np.nan, 1.0, 2.0]), 3)
