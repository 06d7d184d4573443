"""Synthetic subjects: many distinct brains (image + labels) from one template.

One template cannot teach cross-validation by subject. Following the idea of
SynthSeg (Billot et al., Medical Image Analysis 86, 2023: train on images
synthesised from label maps with random shapes and contrasts), subject k is
made from the ICBM template's tissue probability maps p_c (c = background,
CSF, GM, WM) and T1 by a random spatial warp and a random acquisition:

Anatomy. Output voxel v (in the template's grid, voxel units, centre c) is
read from template position

    u(v) = M (v - c) + c + t + d(v),      M = R(angles) diag(1 / s)

with scales s ~ U(1 - max_scale, 1 + max_scale) per axis (the brain looks s
times larger), rotations ~ U(-max_rotation, max_rotation) degrees about each
axis, a shift t ~ U(-max_shift, max_shift) mm, and a smooth elastic
displacement d: N(0, elastic_std^2) mm vectors on a coarse 5 x 5 x 5 grid
spanning the volume, interpolated trilinearly. The tissue maps are sampled
at u trilinearly (``interpolate.linear_sample``), and labels are re-derived
from the deformed maps: y(v) = argmax_c p_c(u(v)). Outside the template's
field of view everything is background.

Intensities, intensity='t1': the real T1 at u with a random gamma,
I = T1(u) ** g, log g ~ N(0, gamma_std^2). intensity='classes': each tissue
gets a random mean m_c ~ U(0.1, 1) and spread s_c ~ U(0, 0.08) (background
0), mixed by the probabilities, with e ~ N(0, 1) per voxel:

    I = sum_c p_c(u) (m_c + s_c e)

which gives any contrast (T1-like, T2-like, flat...) as SynthSeg does.
Then a smooth multiplicative bias field, I <- I exp(b(v)), b from a coarse
4 x 4 x 4 grid of N(0, bias_std^2) values; optionally a lower resolution,
simulated by a box average over w_a voxels along each in-plane axis a
(w_a drawn from 1..low_res); last, Gaussian noise of standard deviation
~ U(0, max_noise).

Slices, not volumes. ``slices(k, axis, positions)`` evaluates the 3D warp
only at the voxels of the requested slices, so a slice costs H x W samples
and no volume is built; ``volume(k)`` is the stack of all axial slices.
Resolution reduction and noise act within each slice (2D).

Determinism. Subject k of seed s is always the same: its parameters come
from Generator([s, k]) and the per-voxel noise of slice p along axis a from
Generator([s, k, a, p]), so slice p is identical whichever other slices are
asked for, and volume(k)[:, :, p] equals slices(k, axis=2, [p]).

Shapes: template (X, Y, Z) at 2 mm; slices along axis a have the two other
axes as (H, W): x (n, H, W, 1) float32, y (n, H, W) int32.
"""
from dataclasses import dataclass

import numpy as np

from .._validate import one_of, positive_int
from ..rng import make_rng
from .interpolate import linear_sample

ELASTIC_GRID = 5
BIAS_GRID = 4


@dataclass(frozen=True)
class SubjectParams:
    """The random draws that define one synthetic subject (sizes in mm)."""
    scale: np.ndarray        # (3,)
    angles: np.ndarray       # (3,) degrees about axes 0, 1, 2
    shift: np.ndarray        # (3,) mm
    elastic: np.ndarray      # (5, 5, 5, 3) mm displacements on the coarse grid
    gamma: float
    means: np.ndarray        # (3,) CSF, GM, WM intensities for intensity='classes'
    spreads: np.ndarray      # (3,)
    bias: np.ndarray         # (4, 4, 4, 1) log bias field on the coarse grid
    blur: np.ndarray         # (3,) box widths in voxels per axis (1 = none)
    noise: float


def _rotation(angles_deg):
    """R = Rz Ry Rx for rotations (degrees) about voxel axes 0, 1, 2."""
    a, b, g = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(g), -np.sin(g), 0], [np.sin(g), np.cos(g), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _box_blur(x, width, axis):
    """Mean over `width` neighbours along `axis` (zeros beyond the edge)."""
    if width == 1:
        return x
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = ((width - 1) // 2 + 1, width // 2)
    total = np.cumsum(np.pad(x, pad), axis=axis)
    # Window of output i spans padded i+1 .. i+width: a difference of sums.
    upper = np.take(total, np.arange(width, width + n), axis=axis)
    lower = np.take(total, np.arange(n), axis=axis)
    return (upper - lower) / width


def _linear_weights(n, g):
    """(n, g) matrix of linear interpolation from g grid points spanning
    positions 0 .. n - 1 (point i sits at grid coordinate i (g-1)/(n-1))."""
    t = np.arange(n) * (g - 1) / max(n - 1, 1)
    low = np.minimum(np.floor(t).astype(int), g - 2)
    frac = t - low
    weights = np.zeros((n, g))
    weights[np.arange(n), low] = 1 - frac
    weights[np.arange(n), low + 1] = frac
    return weights


def _number(value, name, lower, upper):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not lower <= value < upper:
        raise ValueError(f"{name} must be a number in [{lower}, {upper}), got {value!r}")
    return float(value)


class SynthGenerator:
    """Synthetic subjects from a template (default: ``datasets.icbm152(2)``).

    All sizes are in mm and converted with the template's voxel size. See the
    module docstring for the model; ``params(k)`` shows subject k's draws.
    """

    def __init__(self, template=None, seed=None, intensity="t1", max_scale=0.15,
                 max_rotation=15.0, max_shift=4.0, elastic_std=3.0, gamma_std=0.25,
                 bias_std=0.2, low_res=1, max_noise=0.03):
        if template is None:
            from ..datasets import icbm152
            template = icbm152(resolution=2)
        if getattr(template, "tissue", None) is None or getattr(template, "t1", None) is None:
            raise ValueError("template must have .t1 and .tissue (probability maps), like "
                             "datasets.icbm152(resolution=1 or 2)")
        if template.tissue.shape != template.t1.shape + (4,):
            raise ValueError(f"template.tissue must be (X, Y, Z, 4) for the shape of t1 "
                             f"{template.t1.shape}, got {template.tissue.shape}")
        self.seed = int(make_rng(None).integers(2**31)) if seed is None else \
            positive_int(seed, "seed", minimum=0)
        self.intensity = one_of(intensity, ("t1", "classes"), "intensity")
        self.max_scale = _number(max_scale, "max_scale", 0, 0.5)
        self.max_rotation = _number(max_rotation, "max_rotation", 0, 90)
        self.max_shift = _number(max_shift, "max_shift", 0, np.inf)
        self.elastic_std = _number(elastic_std, "elastic_std", 0, np.inf)
        self.gamma_std = _number(gamma_std, "gamma_std", 0, 1)
        self.bias_std = _number(bias_std, "bias_std", 0, 1)
        self.max_noise = _number(max_noise, "max_noise", 0, np.inf)
        self.low_res = positive_int(low_res, "low_res")
        self.shape = template.t1.shape
        self.voxel_mm = float(np.linalg.norm(template.affine[:3, 0]))
        # Probabilities and T1 as one (X, Y, Z, 5) array: one sampling pass.
        self._stack = np.concatenate([template.tissue, template.t1[..., None]],
                                     axis=-1).astype(np.float32)
        self._centre = (np.array(self.shape) - 1) / 2

    def params(self, k):
        """The random parameters of subject k (drawn from Generator([seed, k]))."""
        k = positive_int(k, "k", minimum=0)
        rng = np.random.default_rng([self.seed, k])
        # The draw order is fixed: anatomy first, then acquisition.
        return SubjectParams(
            scale=rng.uniform(1 - self.max_scale, 1 + self.max_scale, 3),
            angles=rng.uniform(-self.max_rotation, self.max_rotation, 3),
            shift=rng.uniform(-self.max_shift, self.max_shift, 3),
            elastic=rng.normal(0, self.elastic_std, (ELASTIC_GRID,) * 3 + (3,)),
            gamma=float(np.exp(rng.normal(0, self.gamma_std))),
            means=rng.uniform(0.1, 1.0, 3),
            spreads=rng.uniform(0.0, 0.08, 3),
            bias=rng.normal(0, self.bias_std, (BIAS_GRID,) * 3 + (1,)),
            blur=rng.integers(1, self.low_res + 1, 3),
            noise=float(rng.uniform(0, self.max_noise)),
        )

    def _coarse(self, grid, axis, positions):
        """A field given on a coarse (G, G, G, C) grid spanning the volume,
        at the voxels of the slices: (n, H, W, C).

        Trilinear interpolation is separable, value = sum_abc w0[i, a]
        w1[j, b] w2[k, c] grid[a, b, c], so on whole slices it is three small
        matrix products instead of 8 gathers per voxel.
        """
        matrices = [_linear_weights(n, g) for n, g in zip(self.shape, grid.shape[:3])]
        matrices[axis] = matrices[axis][positions]
        w0, w1, w2 = matrices
        field = np.einsum("kc,abcd->abkd", w2, grid)                  # (G, G, Z', C)
        field = np.einsum("jb,abkd->ajkd", w1, field)                 # (G, Y', Z', C)
        field = np.einsum("ia,ajkd->ijkd", w0, field)                 # (X', Y', Z', C)
        return np.moveaxis(field, axis, 0).astype(np.float32)          # (n, H, W, C)

    def _source(self, p, axis, positions):
        """Template positions u(v) (n, H, W, 3) read by the slices' voxels v.

        u = M (v - c) + c + (t + d(v)) / voxel, with v = (position, i, j)
        placed on their axes; M v is built from M's columns by broadcasting,
        so no (P, 3) point list is formed and multiplied.
        """
        plane = [a for a in (0, 1, 2) if a != axis]
        m = (_rotation(p.angles) @ np.diag(1 / p.scale)).astype(np.float32)
        offset = (self._centre - m @ self._centre + p.shift / self.voxel_mm).astype(np.float32)
        h, w = self.shape[plane[0]], self.shape[plane[1]]
        source = (positions.astype(np.float32)[:, None, None, None] * m[:, axis]
                  + np.arange(h, dtype=np.float32)[None, :, None, None] * m[:, plane[0]]
                  + np.arange(w, dtype=np.float32)[None, None, :, None] * m[:, plane[1]]
                  + offset)                                                  # (n, H, W, 3)
        source += self._coarse(p.elastic, axis, positions) / np.float32(self.voxel_mm)
        return source

    def slices(self, k, axis=2, positions=None):
        """Slices of subject k along `axis` at `positions` (default: all).

        Returns x (n, H, W, 1) float32 images, y (n, H, W) int32 labels and
        the positions (n,).
        """
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        positions = self._positions(axis, positions)
        p = self.params(k)
        plane = [a for a in (0, 1, 2) if a != axis]
        n, h, w = len(positions), self.shape[plane[0]], self.shape[plane[1]]
        noise = np.stack([np.random.default_rng([self.seed, k, axis, int(q)])
                          .standard_normal((2, h, w), dtype=np.float32)
                          for q in positions])                              # (n, 2, H, W)
        sampled = linear_sample(self._stack, self._source(p, axis, positions).reshape(-1, 3))
        sampled = sampled.reshape(n, h, w, 5)                               # (n, H, W, 5)
        labels = sampled[..., :4].argmax(axis=-1).astype(np.int32)         # (n, H, W)
        if self.intensity == "t1":
            image = sampled[..., 4] ** np.float32(p.gamma)
        else:
            tissue = sampled[..., 1:4]                                      # (n, H, W, 3)
            image = (tissue @ p.means.astype(np.float32)
                     + noise[:, 0] * (tissue @ p.spreads.astype(np.float32)))
        image = image * np.exp(self._coarse(p.bias, axis, positions)[..., 0])
        for a, width in zip((1, 2), p.blur[plane]):
            image = _box_blur(image, int(width), axis=a)
        image = image + np.float32(p.noise) * noise[:, 1]
        return image[..., None].astype(np.float32), labels, positions

    def volume(self, k, axis=2):
        """Subject k as a volume: (image (X, Y, Z) float32, labels (X, Y, Z) int32),
        made slice by slice along `axis` (noise and blur are per slice, so the
        axis matters: use the one a network is trained and tested on)."""
        x, y, _ = self.slices(k, axis=axis)
        return np.moveaxis(x[..., 0], 0, axis), np.moveaxis(y, 0, axis)

    def _positions(self, axis, positions):
        if positions is None:
            return np.arange(self.shape[axis])
        positions = np.atleast_1d(np.asarray(positions))
        if positions.ndim != 1 or positions.dtype.kind not in "iu":
            raise TypeError(f"positions must be a 1D array of slice indices, got {positions!r}")
        if positions.size == 0 or positions.min() < 0 or positions.max() >= self.shape[axis]:
            raise ValueError(f"positions must be non-empty and in [0, {self.shape[axis]}) "
                             f"along axis {axis}, got {positions.tolist()}")
        return positions


def synth_slices(n_subjects, seed=None, axis=2, positions=None, first=0,
                 drop_empty=True, **options):
    """Slices of subjects first .. first + n_subjects - 1, concatenated.

    positions : slice indices (default: every slice); drop_empty removes the
                slices whose synthetic labels are all background.
    options   : passed to ``SynthGenerator`` (template, intensity, max_scale...).
    Returns x (N, H, W, 1) float32, y (N, H, W) int32, subject (N,) the
    subject index of each slice, and positions (N,).
    """
    n_subjects = positive_int(n_subjects, "n_subjects")
    first = positive_int(first, "first", minimum=0)
    generator = SynthGenerator(seed=seed, **options)
    xs, ys, subjects, where = [], [], [], []
    for k in range(first, first + n_subjects):
        x, y, pos = generator.slices(k, axis=axis, positions=positions)
        if drop_empty:
            keep = y.reshape(len(y), -1).any(axis=1)
            x, y, pos = x[keep], y[keep], pos[keep]
        xs.append(x)
        ys.append(y)
        subjects.append(np.full(len(y), k))
        where.append(pos)
    return (np.concatenate(xs), np.concatenate(ys), np.concatenate(subjects),
            np.concatenate(where))
