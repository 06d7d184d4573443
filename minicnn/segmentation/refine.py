"""The network's probabilities refined by the subject's own intensities.

    refined = refine_probabilities(normalised, probabilities)   # (X, Y, Z, K) each
    refined.probabilities, refined.mixture.means, refined.mixture.objective

A network trained on one population draws its boundaries where that
population's labels had them (the shipped model learned the ICBM152
template's, an average of 152 brains, blurred); a subject's own image shows
where its boundaries are. Classical tools (FSL FAST, ANTs Atropos, SPM)
segment with an intensity model of the subject and a spatial prior from a
template. Here the prior is the network's softmax: sharper than a template,
and already in the subject's space, so nothing needs registering.

The generative model
--------------------
For each brain voxel v = 1 .. N (the voxels the network does not call
background), with intensity x_v (the volume as the network read it):

    z_v ~ Categorical(pi_v1, .., pi_vK)          its tissue, k = CSF, GM, WM
    x_v | z_v = k ~ sum_m lam_km N(mu_km, s2_km)  M_k Gaussians for tissue k

voxels independent given the priors. The plain mixture of ``minicnn.mixture``
gives every voxel the same mixing weights pi_k, the fractions of the brain
in each tissue: before its intensity is seen, a voxel deep in the white
matter is as likely CSF as one in a ventricle. A spatial prior replaces
those shared weights by weights per voxel, known beforehand and not fitted,

    pi_vk = p_vk^w / sum_j p_vj^w,       j over the brain classes,

p_vk the network's probability of class k at v (views averaged) and w >= 0
the prior weight. FAST and Atropos do the same with a registered template's
tissue maps as p. Within tissue k the M_k Gaussians share the tissue's
prior and split it by weights lam_km (sum_m lam_km = 1): M_k = 1 is one
Gaussian per tissue; more let a tissue's intensities be skewed or
two-humped (partial volume, a bias field), as FAST and Atropos allow.

Bayes' rule gives the posterior of each tissue,

    P(z_v = k | x_v) = pi_vk f_k(x_v) / sum_j pi_vj f_j(x_v),
    f_k(x) = sum_m lam_km N(x | mu_km, s2_km),

the prior times the likelihood, normalised: where the intensity is
ambiguous the network decides, where the network hesitates between two
tissues the intensity decides.

EM with fixed priors
--------------------
The Gaussians theta = (lam, mu, s2) are the subject's, unknown; they
maximise the mean log-likelihood of the brain's intensities

    L(theta) = (1/N) sum_v log sum_k sum_m pi_vk lam_km N(x_v | mu_km, s2_km).

EM, as in ``minicnn.mixture``, with (k, m) as the component:

    E step  r_vkm = pi_vk lam_km N(x_v | mu_km, s2_km) / (the same summed over k, m)
            (from logs, with log-sum-exp: no 0 / 0 in far tails)
    M step  n_km = sum_v r_vkm
            lam_km = n_km / sum_m' n_km'
            mu_km = sum_v r_vkm x_v / n_km
            s2_km = sum_v r_vkm (x_v - mu_km)^2 / n_km        (at least min_variance)

The only change from the plain mixture is that the M step leaves pi alone:
the priors are data, not parameters.

Why L never decreases. For any distribution q_v over the components,
Jensen's inequality (log is concave) gives

    log sum_c a_vc = log sum_c q_vc (a_vc / q_vc) >= sum_c q_vc log(a_vc / q_vc),

a_vc = pi_vk lam_km N(x_v | mu_km, s2_km), with equality when q_v is
proportional to a_v: the E step's r. So B(theta) = (1/N) sum_v sum_c r_vc
log(a_vc(theta) / r_vc) is a lower bound of L that touches it at the
current theta. The M step maximises B over theta, in closed form (log pi_vk
does not depend on theta; each lam_k maximises sum_m n_km log lam_km on the
simplex, each Gaussian a weighted Gaussian log-likelihood; the variance
floor is the best allowed s2 when it binds, as the likelihood of s2 alone
is unimodal). Hence L(new) >= B(new) >= B(old) = L(old): L rises or stays
at every iteration, and being bounded above (by the floor) it converges,
to a local maximum or a saddle point, the one uphill from the start.

The start. The first M step uses the network's probabilities themselves
as the responsibilities (r_vk = p_vk / sum_j p_vj, whatever w): each
tissue's Gaussian starts at the mean and variance of the intensities the
network puts in it. With M_k > 1 the tissue's voxels are first split at
the probability-weighted quantiles (m / M_k) of their intensities, one band
per Gaussian. So the Gaussians are tied to tissues by the network, not by
sorting their means: any contrast works (T1, T2, a flat one), unlike EM
alone, which must assume CSF < GM < WM.

What w does. In logs the posterior is

    log P(z_v = k | x_v) = w log p_vk + log f_k(x_v) + const,

so w weighs the network's evidence against the intensity's (a tempered
product of the two). w = 1 takes the network's probabilities as they are;
w < 1 flattens them, trusting the intensities more; w > 1 sharpens them.
The limits:

- w = 0: pi_vk = 1/K everywhere: a Gaussian mixture of the brain with equal
  and fixed mixing weights, intensity alone; the network only names the
  Gaussians, through the start (EM from a start with every tissue alike
  would stay there: nothing would tell the tissues apart);
- w -> infinity: pi_v is one-hot on the network's most probable brain class
  (for distinct probabilities), so the posterior is that class whatever
  the intensity: the network's own argmax among the brain classes.

The volume. ``refine_probabilities`` fits the Gaussians to the voxels the
network calls brain (argmax not background), or to FIT_VOXELS of them,
evenly spaced in memory order, when there are more (a 1 mm brain has about
1.5 million; a tissue holding a tenth of the sample still has 20,000, which
pin its mean to within sd / 140), and then computes the posterior at every
voxel with a brain share 1 - p_v0 of at least MIN_SHARE. The network keeps
deciding brain or background: the refined probabilities are

    q_v0 = p_v0,      q_vk = (1 - p_v0) P(z_v = k | x_v)     (k = CSF, GM, WM),

so they sum to 1, the background's is the network's, and only the split of
the brain's share among the tissues changes. Voxels with a smaller share
(the background around the brain, where the network leaves 1e-5 or so to
the tissues) keep the network's probabilities: refining them could move
none by more than MIN_SHARE, nor change a label. A voxel the network
called background by a plurality below one half (say 0.4, with 0.3 CSF
and 0.3 GM) can become tissue once the intensity settles which tissue:
the network hesitated over the tissue, not over the brain.

Cost: a few vectorised passes over the brain's voxels per iteration,
(N, C) arrays with C = sum_k M_k; max_iter iterations at most.
"""
from dataclasses import dataclass

import numpy as np

from .._validate import as_array, int_tuple, positive_int
from ..mixture import LOG_2PI, logsumexp

# Chosen by docs/refine_numbers.py: the best mean Dice over its tuning sets
# among w in {0, 0.25, 0.5, 1, 2, 4} and 1 or 2 Gaussians per tissue
# (docs/train.md, section --refine, has the table).
DEFAULT_WEIGHT = 4.0
DEFAULT_COMPONENTS = 2
MAX_ITER = 30
TOL = 1e-5
MIN_VARIANCE = 1e-6
FIT_VOXELS = 200_000      # the fit's sample of the brain's voxels (see the docstring)
MIN_SHARE = 1e-3          # voxels with less brain probability are left as they are
# Probabilities below this count as this in log p: a float32 softmax can
# round a class to 0, and 0^w = 0 would rule the class out for good.
TINY = 1e-30


@dataclass(frozen=True)
class PriorMixture:
    """Gaussians of each tissue fitted by EM with per-voxel priors.

    owner: (C,) the tissue (0 .. K-1 among the brain classes) of each Gaussian;
    weights: (C,) lam, summing to 1 within each tissue; means, variances: (C,);
    weight: the prior weight w; objective: (T + 1,) L before the first
    E step's update and after each of T iterations (non-decreasing);
    converged: whether L rose by less than tol before max_iter.
    """
    owner: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    weight: float
    objective: np.ndarray
    converged: bool

    @property
    def n_classes(self):
        return int(self.owner.max()) + 1

    def posteriors(self, x, priors):
        """(N, K) P(z_v = k | x_v) of intensities x (N,) under (N, K) network priors."""
        a = _log_joint(np.asarray(x, np.float64).ravel(), log_priors(priors, self.weight),
                       self)
        r = np.exp(a - logsumexp(a)[:, None])                      # (N, C)
        return _per_class(r, self.owner, self.n_classes)


def log_priors(priors, weight):
    """(N, K) log pi_vk = w log p_vk - log sum_j p_vj^w, p floored at TINY."""
    priors = np.asarray(priors, np.float64)
    log_p = weight * np.log(np.maximum(priors, TINY))
    return log_p - logsumexp(log_p)[:, None]


def _log_joint(x, log_pi, fit):
    """(N, C) log pi_{v, owner(c)} + log lam_c + log N(x_v | mu_c, s2_c)."""
    return (log_pi[:, fit.owner] + np.log(fit.weights)
            - 0.5 * (LOG_2PI + np.log(fit.variances))
            - 0.5 * (x[:, None] - fit.means) ** 2 / fit.variances)


def _per_class(r, owner, n_classes):
    """(N, K): the responsibilities (N, C) summed over each tissue's Gaussians
    (owner is sorted: tissue k's Gaussians are adjacent columns)."""
    if len(owner) == n_classes:
        return r
    return np.add.reduceat(r, np.searchsorted(owner, np.arange(n_classes)), axis=1)


def _components(components, n_classes):
    """(C,) the owner tissue of each Gaussian, from M (int) or (M_1, .., M_K)."""
    counts = int_tuple(components, n_classes, "components")
    return np.repeat(np.arange(n_classes), counts)


def _start(x, pi, owner):
    """Responsibilities (N, C) for the first M step: the network's probabilities
    `pi` (N, K), each tissue's split at its probability-weighted intensity
    quantiles m / M_k into M_k bands."""
    r = np.zeros((len(x), len(owner)))
    order = np.argsort(x, kind="stable")
    for k in range(pi.shape[1]):
        columns = np.flatnonzero(owner == k)
        if len(columns) == 1:
            r[:, columns[0]] = pi[:, k]
            continue
        weights = pi[order, k]
        cumulative = np.cumsum(weights) / max(weights.sum(), TINY)   # in sorted order
        band = np.minimum((cumulative * len(columns)).astype(np.int64), len(columns) - 1)
        r[order, columns[band]] = weights
    return r


def _m_step(x, r, owner, min_variance):
    """lam, mu, s2 (each (C,)) from responsibilities r (N, C)."""
    n = np.maximum(r.sum(axis=0), TINY)                                 # (C,) n_km
    per_class = np.bincount(owner, weights=n)[owner]                    # sum_m' n_km'
    means = (r.T @ x) / n
    variances = np.maximum((r * (x[:, None] - means) ** 2).sum(axis=0) / n, min_variance)
    return n / per_class, means, variances


def fit_with_priors(x, priors, weight=DEFAULT_WEIGHT, components=DEFAULT_COMPONENTS,
                    max_iter=MAX_ITER, tol=TOL, min_variance=MIN_VARIANCE):
    """Fit each tissue's Gaussians to intensities `x` (N,) by EM, with the
    network's probabilities `priors` (N, K) of the brain classes raised to
    `weight` as per-voxel mixing weights (see the module docstring).

    components: Gaussians per tissue, an int or K ints.
    Stops when L rises by less than `tol`, or after `max_iter` iterations.
    Returns a ``PriorMixture``.
    """
    x = as_array(x, "x").astype(np.float64).ravel()
    priors = as_array(priors, "priors").astype(np.float64)
    if priors.ndim != 2 or priors.shape[0] != x.size or priors.shape[1] < 1:
        raise ValueError(f"priors must be (N, K) for {x.size} intensities, got shape "
                         f"{priors.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(priors))) or priors.min() < 0:
        raise ValueError("x and priors must be finite, and priors >= 0")
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.floating)) \
            or not 0 <= weight < np.inf:
        raise ValueError(f"weight must be a number >= 0, got {weight!r}")
    max_iter = positive_int(max_iter, "max_iter", minimum=0)
    owner = _components(components, priors.shape[1])
    log_pi = log_priors(priors, weight)                                  # (N, K), fixed
    r = _start(x, np.exp(log_priors(priors, 1.0)), owner)                # the network's
    fit = PriorMixture(owner, *_m_step(x, r, owner, min_variance), float(weight),
                       np.zeros(0), False)
    history, converged = [], False
    for _ in range(max_iter + 1):
        a = _log_joint(x, log_pi, fit)                                   # (N, C)
        log_p = logsumexp(a)                                            # (N,)
        history.append(float(log_p.mean()))
        if len(history) > 1 and history[-1] - history[-2] < tol:
            converged = True
            break
        if len(history) == max_iter + 1:
            break
        r = np.exp(a - log_p[:, None])                                   # E step
        fit = PriorMixture(owner, *_m_step(x, r, owner, min_variance), float(weight),
                           np.zeros(0), False)                           # M step
    return PriorMixture(owner, fit.weights, fit.means, fit.variances, float(weight),
                        np.array(history), converged)


@dataclass(frozen=True)
class Refinement:
    """What ``refine_probabilities`` made: the refined (X, Y, Z, K) float32
    probabilities, the fitted mixture, the network's brain voxels, the
    fit's sample of them (all, or fit_voxels when there are more) and the
    voxels refined."""
    probabilities: np.ndarray
    mixture: PriorMixture
    brain_voxels: int
    sample_voxels: int
    refined_voxels: int

    def note(self, class_names):
        """One line saying what was fitted, for ``minicnn predict``'s printout."""
        fit = self.mixture
        parts = []
        for k, name in enumerate(class_names[1:]):
            mine = fit.owner == k
            parts.append(f"{name} " + "+".join(f"{m:.2f}" for m in fit.means[mine]))
        return (f"refined by the subject's intensities (w = {fit.weight:g}, "
                f"{len(fit.objective) - 1} EM steps on {self.sample_voxels:,} of the "
                f"{self.brain_voxels:,} brain voxels; "
                f"means {', '.join(parts)})")


def refine_probabilities(normalised, probabilities, weight=DEFAULT_WEIGHT,
                         components=DEFAULT_COMPONENTS, max_iter=MAX_ITER, tol=TOL,
                         min_variance=MIN_VARIANCE, fit_voxels=FIT_VOXELS):
    """The network's class probabilities (X, Y, Z, K), class 0 background,
    refined by the intensities of `normalised` (X, Y, Z), the volume as the
    network read it (see the module docstring). Returns a ``Refinement``."""
    normalised = as_array(normalised, "normalised")
    probabilities = as_array(probabilities, "probabilities")
    if probabilities.ndim != 4 or probabilities.shape[:3] != normalised.shape \
            or probabilities.shape[-1] < 2:
        raise ValueError(f"probabilities must be (X, Y, Z, K) with K >= 2 for a volume of "
                         f"shape {normalised.shape}, got {probabilities.shape}")
    background = probabilities[..., 0]
    brain = probabilities.argmax(axis=-1) != 0                    # the network's brain
    if not brain.any():
        raise ValueError("the network found no brain to refine (every voxel's most "
                         "probable class is background)")
    where = np.flatnonzero(brain)
    fit_voxels = positive_int(fit_voxels, "fit_voxels")
    if where.size > fit_voxels:                                   # evenly spaced sample
        where = where[np.linspace(0, where.size - 1, fit_voxels).round().astype(np.int64)]
    flat = probabilities.reshape(-1, probabilities.shape[-1])
    fit = fit_with_priors(normalised.ravel()[where], flat[where, 1:], weight, components,
                          max_iter, tol, min_variance)
    touched = background <= 1 - MIN_SHARE                         # some brain probability
    share = 1 - background[touched].astype(np.float64)            # (n,) 1 - p_v0
    refined = np.array(probabilities, dtype=np.float32)
    posterior = fit.posteriors(normalised[touched], probabilities[touched][:, 1:])
    refined[touched, 1:] = share[:, None] * posterior
    return Refinement(refined, fit, int(brain.sum()), where.size, int(touched.sum()))
