"""A one-dimensional Gaussian mixture fitted by expectation-maximisation (EM).

The classical way to segment a skull-stripped T1 (what FSL FAST does
before its spatial prior): each brain voxel's intensity x_i is drawn from
one of K tissues, tissue k with probability pi_k, and within tissue k from
a Gaussian:

    p(x_i) = sum_k pi_k N(x_i | mu_k, s2_k),
    N(x | mu, s2) = exp(-(x - mu)^2 / (2 s2)) / sqrt(2 pi s2)

The parameters theta = (pi, mu, s2), K of each, maximise the mean
log-likelihood

    L(theta) = (1/N) sum_i log sum_k pi_k N(x_i | mu_k, s2_k).

No closed form exists (the log of a sum), so EM alternates two steps:

    E step: the responsibility of component k for sample i, its posterior
            probability given the current theta,
                r_ik = pi_k N(x_i | mu_k, s2_k) / sum_j pi_j N(x_i | mu_j, s2_j)
            computed from logs, log r_ik = a_ik - logsumexp_j a_ij with
            a_ik = log pi_k + log N(x_i | mu_k, s2_k), so that far tails
            (N underflows to 0 in float64 beyond ~38 sd) cannot give 0 / 0.
    M step: each component refitted to its weighted samples, N_k = sum_i r_ik:
                pi_k = N_k / N
                mu_k = sum_i r_ik x_i / N_k
                s2_k = sum_i r_ik (x_i - mu_k)^2 / N_k     (at least min_variance)

Each iteration never decreases L (EM's guarantee; with the variance floor
too, since in 1D the likelihood of s2_k alone is unimodal, so the floor is
the best allowed value when it binds); iterations stop when L rises by less
than `tol`. The floor stops a component from collapsing onto one repeated
value, where L -> infinity.

EM finds a local maximum, the one uphill from where it starts, so the
initial means matter (``initial_means``): 'quantile' places them at the
quantiles (2k + 1) / 2K of the data (for K = 3: the 1/6, 1/2 and 5/6
quantiles), 'kmeans' refines those by Lloyd's algorithm (each sample to
its nearest mean, each mean to its samples' average, until nothing moves),
and 'random' draws K samples, which can start two components inside one
tissue. The initial weights and variances are those of the partition of
the samples by nearest initial mean.

The fitted components are returned sorted by mean: index 0 is the darkest
(on a T1: CSF < grey matter < white matter).
"""
from dataclasses import dataclass

import numpy as np

from .rng import make_rng

INITS = ("quantile", "kmeans", "random")
LOG_2PI = np.log(2 * np.pi)


@dataclass(frozen=True)
class GaussianMixture:
    """A fitted mixture: K components sorted by mean, and how the fit went.

    weights, means, variances: (K,) pi, mu, s2.
    log_likelihoods: (T + 1,) the mean log-likelihood L of the initial
        parameters and after each of the T EM iterations (non-decreasing).
    converged: whether L rose by less than tol before max_iter iterations.
    """
    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    log_likelihoods: np.ndarray
    converged: bool

    def log_joint(self, x):
        """(N, K) a_ik = log pi_k + log N(x_i | mu_k, s2_k) of samples x (N,)."""
        return _log_joint(np.asarray(x, np.float64).ravel(), self.weights, self.means,
                          self.variances)

    def responsibilities(self, x):
        """(N, K) r_ik, the posterior probability of component k for sample i."""
        a = self.log_joint(x)
        return np.exp(a - logsumexp(a)[:, None])

    def predict(self, x):
        """(N,) the component of highest responsibility (0 = darkest)."""
        return self.log_joint(x).argmax(axis=1)

    def densities(self, x):
        """(N, K) pi_k N(x_i | mu_k, s2_k): each component's share of p(x), to draw."""
        return np.exp(self.log_joint(x))


def _log_joint(x, weights, means, variances):
    """(N, K) log pi_k - (log(2 pi s2_k) + (x_i - mu_k)^2 / s2_k) / 2."""
    return (np.log(weights) - 0.5 * (LOG_2PI + np.log(variances))
            - 0.5 * (x[:, None] - means) ** 2 / variances)


def logsumexp(a):
    """(N,) log sum_k exp(a_ik), shifted by each row's maximum so exp cannot overflow
    and at least one term is exp(0) = 1 (the sum cannot underflow to 0)."""
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def initial_means(x, n_components, method="quantile", seed=None):
    """(K,) sorted starting means for EM (see the module docstring)."""
    x = np.asarray(x, np.float64).ravel()
    if method == "quantile":
        return np.quantile(x, (2 * np.arange(n_components) + 1) / (2 * n_components))
    if method == "kmeans":
        means = initial_means(x, n_components, "quantile")
        for _ in range(100):
            nearest = _nearest(x, means)
            updated = np.array([x[nearest == k].mean() if np.any(nearest == k) else means[k]
                                for k in range(n_components)])
            if np.allclose(updated, means, rtol=0, atol=1e-12):
                break
            means = np.sort(updated)
        return means
    if method == "random":
        return np.sort(make_rng(seed).choice(x, n_components, replace=False))
    raise ValueError(f"init must be one of {INITS} or an array of means, got {method!r}")


def _nearest(x, sorted_means):
    """(N,) index of the nearest mean: in 1D, which gap between midpoints x is in."""
    return np.searchsorted((sorted_means[1:] + sorted_means[:-1]) / 2, x)


def fit_gaussian_mixture(x, n_components=3, init="quantile", tol=1e-6, max_iter=300,
                         min_variance=1e-6, seed=None):
    """Fit a K-component 1D Gaussian mixture to samples `x` by EM.

    x: samples, any shape (flattened), N >= K distinct values.
    init: 'quantile', 'kmeans', 'random' (with `seed`) or an array of K means.
    tol: stop when the mean log-likelihood L rises by less than this.
    min_variance: the floor of every s2_k, in x's units squared.
    Returns a ``GaussianMixture`` with its components sorted by mean.
    """
    x = np.asarray(x, np.float64).ravel()
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x must be finite, got {np.count_nonzero(~np.isfinite(x))} "
                         f"NaN or infinite values among {x.size}")
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
            or n_components < 1:
        raise ValueError(f"n_components must be a positive integer, got {n_components!r}")
    distinct = np.unique(x).size
    if distinct < n_components:
        raise ValueError(f"x must hold at least n_components={n_components} distinct "
                         f"values, got {distinct}")
    means = (initial_means(x, n_components, init, seed) if isinstance(init, str)
             else np.sort(np.asarray(init, np.float64)))
    if means.shape != (n_components,):
        raise ValueError(f"init must give {n_components} means, got {means.shape}")
    weights, means, variances = _partition_statistics(x, means, min_variance)

    history, converged = [], False
    for _ in range(max_iter + 1):
        # E step: log responsibilities, and L of the current parameters.
        a = _log_joint(x, weights, means, variances)              # (N, K)
        log_p = logsumexp(a)                                      # (N,) log p(x_i)
        history.append(float(log_p.mean()))
        if len(history) > 1 and history[-1] - history[-2] < tol:
            converged = True
            break
        if len(history) == max_iter + 1:
            break
        r = np.exp(a - log_p[:, None])                             # (N, K), rows sum to 1
        # M step: weighted counts, means and variances.
        n_k = r.sum(axis=0)                                        # (K,)
        weights = n_k / len(x)
        means = (r * x[:, None]).sum(axis=0) / n_k
        variances = np.maximum((r * (x[:, None] - means) ** 2).sum(axis=0) / n_k,
                               min_variance)
    order = np.argsort(means)
    return GaussianMixture(weights=weights[order], means=means[order],
                           variances=variances[order],
                           log_likelihoods=np.array(history), converged=converged)


def _partition_statistics(x, means, min_variance):
    """Weights, means, variances of the samples split by nearest mean (a start for EM);
    a component that gets no sample keeps its mean, the data's variance and a tiny weight."""
    nearest = _nearest(x, means)
    weights, centres, variances = [], [], []
    for k, mean in enumerate(means):
        part = x[nearest == k]
        weights.append(max(len(part), 1) / len(x))
        centres.append(part.mean() if len(part) else mean)
        variances.append(max(part.var() if len(part) > 1 else x.var(), min_variance))
    weights = np.array(weights)
    return weights / weights.sum(), np.array(centres), np.array(variances)
