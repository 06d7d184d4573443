"""Synthetic subjects: many distinct brains (image + labels) from one template.

One template cannot teach cross-validation by subject. Following the idea of
SynthSeg (Billot et al., Medical Image Analysis 86, 2023: train on images
synthesised from label maps with random shapes and contrasts), subject k is
made from the ICBM template's tissue probability maps p_c (c = background,
CSF, GM, WM) and T1, at 1 or 2 mm, by a random spatial warp and a random
acquisition. Every size is in mm and converted with the template's voxel
size h, so 1 mm and 2 mm subjects are drawn from the same physical
distribution.

Anatomy. Output voxel v (in the template's grid, voxel units, centre c) is
read from template position

    u(v) = M (v - c) + c + (t + d(v)) / h,      M = R(angles) diag(1 / s)

with scales s ~ U(1 - max_scale, 1 + max_scale) per axis (the brain looks s
times larger), rotations ~ U(-max_rotation, max_rotation) degrees about each
axis, a shift t ~ U(-max_shift, max_shift) mm, and a smooth elastic
displacement d: N(0, elastic_std^2) mm vectors on a coarse 5 x 5 x 5 grid
spanning the volume, interpolated trilinearly. The maps are sampled at u
trilinearly, and labels are re-derived from the deformed maps:
y(v) = argmax_c p_c(u(v)). Outside the template's field of view everything
is background.

Contrast. A subject gets class contrast with probability q (``intensity``:
't1' is q = 0, 'classes' is q = 1, a number mixes the two across subjects),
else T1 contrast:

    T1:       I = T1(u) ** g,                      log g ~ N(0, gamma_std^2)
    classes:  I = sum_c p_c(u) (m_c + s_c e),      m_c ~ U(0.1, 1), s_c ~ U(0, 0.08)

over c = CSF, GM, WM (background 0), with e ~ N(0, 1) per voxel: any
contrast (T1-like, T2-like, flat...), as in SynthSeg, with partial volumes
mixed by the probabilities.

Acquisition, in this order:

    bias        I <- I exp(b(v)), b trilinear from a coarse G x G x G grid
                (G = bias_grid; fewer points, lower frequency) of
                N(0, bias_std^2) values spanning the volume.
    resolution  I <- I * k_0 * k_1 * k_2, a separable convolution (zeros
                beyond the volume) with, along axis a,

                    k_a = box(T_a / h) * gauss(sigma / h)

                One random axis b ~ U{0, 1, 2} is acquired with slice
                thickness T_b ~ U(h, max(h, max_thickness)) mm, the others
                at T_a = h; sigma ~ U(0, max_blur) mm is an isotropic point
                spread (partial-volume-like blur). The sampled box (exact
                for fractional widths) and Gaussian: ``_acquisition``.
    noise       I <- I + n e', n ~ U(0, max_noise), e' ~ N(0, 1) per voxel.

Labels stay at the template's resolution: the network learns to recover
them from blurred images.

Slices, not volumes. ``slices(k, axis, positions)`` evaluates the warp only
at the voxels of the requested slices, plus their neighbours within the
radius of the through-plane kernel k_axis when the subject has one (the
blur needs them); no volume is built. The warp, sampling, labels and
contrast run in one compiled loop (``_synth_kernel``, Numba, a dependency);
bias, blur and noise are NumPy. ``volume(k)`` is the stack of all axial
slices.

Determinism. Subject k of seed s is always the same: its parameters come
from Generator([s, k]); the class texture e of slice p along axis a from
Generator([s, k, a, p, 0]) and its noise e' from Generator([s, k, a, p, 1]).
So slice p is identical whichever other slices are asked for, and
volume(k)[:, :, p] equals slices(k, axis=2, [p]).

Presets (``preset(name)``: keyword arguments for ``SynthGenerator``):

    'train'  the training distribution: half T1, half class contrast; bias
             sd 0.3 on a 4^3 grid; slices up to 3 mm thick along a random
             axis; point spread sd up to 0.5 mm; noise up to 0.05.
    'proxy'  a harder held-out distribution standing in for unseen scans:
             class contrast only (per-class random intensities), bias sd 0.5
             on a coarser 3^3 grid (stronger, lower frequency), slices up to
             5 mm thick, point spread up to 1 mm. Same anatomy model.

Shapes: template (X, Y, Z); slices along axis a have the two other axes as
(H, W): x (n, H, W, 1) float32, y (n, H, W) int32.
"""
from dataclasses import dataclass

import numpy as np

from .. import datasets
from .._validate import positive_int
from ..rng import make_rng
from ._acquisition import convolve, neighbours, profile, through_plane

ELASTIC_GRID = 5
CONTRASTS = ("t1", "classes")

PRESETS = {
    "train": dict(intensity=0.5, max_scale=0.15, max_rotation=15.0, max_shift=4.0,
                  elastic_std=3.0, gamma_std=0.25, bias_std=0.3, bias_grid=4,
                  max_thickness=3.0, max_blur=0.5, max_noise=0.05),
    "proxy": dict(intensity="classes", max_scale=0.15, max_rotation=15.0, max_shift=4.0,
                  elastic_std=3.0, gamma_std=0.25, bias_std=0.5, bias_grid=3,
                  max_thickness=5.0, max_blur=1.0, max_noise=0.05),
}


def preset(name, **overrides):
    """Keyword arguments of the named distribution ('train' or 'proxy', see the
    module docstring), with `overrides` replacing some:
    ``SynthGenerator(template, seed=1, **preset('proxy'))``."""
    if name not in PRESETS:
        raise ValueError(f"preset name must be one of {tuple(PRESETS)}, got {name!r}")
    unknown = set(overrides) - set(PRESETS[name])
    if unknown:
        raise TypeError(f"preset overrides must be among {sorted(PRESETS[name])}, "
                        f"got {sorted(unknown)}")
    return dict(PRESETS[name], **overrides)


@dataclass(frozen=True)
class SubjectParams:
    """The random draws that define one synthetic subject (sizes in mm)."""
    scale: np.ndarray        # (3,)
    angles: np.ndarray       # (3,) degrees about axes 0, 1, 2
    shift: np.ndarray        # (3,) mm
    elastic: np.ndarray      # (5, 5, 5, 3) mm displacements on the coarse grid
    gamma: float
    means: np.ndarray        # (3,) CSF, GM, WM intensities for class contrast
    spreads: np.ndarray      # (3,)
    bias: np.ndarray         # (G, G, G, 1) log bias field on the coarse grid
    thick_axis: int          # the axis acquired with thick slices
    thickness: float         # mm along thick_axis (the voxel size: none)
    blur: float              # point-spread sd, mm, every axis
    noise: float
    contrast: str            # 't1' or 'classes'


def _rotation(angles_deg):
    """R = Rz Ry Rx for rotations (degrees) about voxel axes 0, 1, 2."""
    a, b, g = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(g), -np.sin(g), 0], [np.sin(g), np.cos(g), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _cells(coords, n, g):
    """Coarse-grid cells and fractions of voxel coordinates `coords` (m,), for
    g grid points spanning positions 0 .. n - 1 (point i at grid coordinate
    i (g - 1) / (n - 1)): low (m,) int64 in 0 .. g - 2, frac (m,) in [0, 1]."""
    t = np.asarray(coords, dtype=np.float64) * (g - 1) / max(n - 1, 1)
    low = np.minimum(np.floor(t).astype(np.int64), g - 2)
    return low, t - low


def _linear_weights(n, g):
    """(n, g) matrix of linear interpolation from g grid points spanning
    positions 0 .. n - 1 (see ``_cells``)."""
    low, frac = _cells(np.arange(n), n, g)
    weights = np.zeros((n, g))
    weights[np.arange(n), low] = 1 - frac
    weights[np.arange(n), low + 1] = frac
    return weights


def _number(value, name, lower, upper):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not lower <= value < upper:
        raise ValueError(f"{name} must be a number in [{lower}, {upper}), got {value!r}")
    return float(value)


def _classes_share(intensity):
    """The probability that a subject gets class contrast."""
    if isinstance(intensity, str) and intensity.lower() in CONTRASTS:
        return float(intensity.lower() == "classes")
    if not isinstance(intensity, bool) and isinstance(intensity, (int, float, np.floating)) \
            and 0 <= intensity <= 1:
        return float(intensity)
    raise ValueError(f"intensity must be one of {CONTRASTS} or a probability of 'classes' "
                     f"in [0, 1], got {intensity!r}")


def _empty_cells(stack):
    """(X, Y, Z) bool: True where all 8 corners of the cell [i, i + 1]^3 of
    `stack` (X, Y, Z, 5) are pure background (p_bg = 1, every other channel 0),
    so that a sample there is known without reading them."""
    pure = (stack[..., 0] == 1) & (stack[..., 1:] == 0).all(axis=-1)      # (X, Y, Z)
    cells = pure[:-1, :-1, :-1].copy()
    for corner in ((0, 0, 1), (0, 1, 0), (0, 1, 1), (1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)):
        cells &= pure[tuple(slice(o, o + n - 1) for o, n in zip(corner, pure.shape))]
    return np.pad(cells, ((0, 1), (0, 1), (0, 1)))


def _load_kernel():
    try:
        from ._synth_kernel import warp_sample
    except ImportError as error:
        raise ImportError(f"SynthGenerator needs numba, a dependency of minicnn, which does "
                          f"not import ({error}); install it: pip install numba") from error
    return warp_sample


class SynthGenerator:
    """Synthetic subjects from a template (see the module docstring).

    template      : ``datasets.icbm152(2)`` (default) or ``(1)``, or any record
                    with t1 (X, Y, Z), tissue (X, Y, Z, 4) and affine (4, 4).
    seed          : int >= 0; subject k of seed s is always the same subject.
    intensity     : 't1', 'classes', or the probability q of 'classes' per subject.
    max_scale     : scales s ~ U(1 - max_scale, 1 + max_scale) per axis.
    max_rotation  : degrees about each axis.
    max_shift     : mm per axis.
    elastic_std   : mm, sd of the elastic control-point displacements.
    gamma_std     : sd of log g (T1 contrast).
    bias_std      : sd of the log bias field at its G^3 control points,
    bias_grid     : G >= 2.
    max_thickness : mm, the thickest slices along the subject's random axis
                    (at most the voxel size: none).
    max_blur      : mm, the largest point-spread sd.
    max_noise     : the largest noise sd (intensities are about 0 .. 1).

    ``preset(name)`` gives named settings; ``params(k)`` shows subject k's
    draws and ``profiles(k)`` its blur kernels.
    """

    def __init__(self, template=None, seed=None, intensity="t1", max_scale=0.15,
                 max_rotation=15.0, max_shift=4.0, elastic_std=3.0, gamma_std=0.25,
                 bias_std=0.2, bias_grid=4, max_thickness=0.0, max_blur=0.0, max_noise=0.03):
        if template is None:
            template = datasets.icbm152(resolution=2)
        if getattr(template, "tissue", None) is None or getattr(template, "t1", None) is None:
            raise ValueError("template must have .t1 and .tissue (probability maps), like "
                             "datasets.icbm152(resolution=1 or 2)")
        if template.tissue.shape != template.t1.shape + (4,):
            raise ValueError(f"template.tissue must be (X, Y, Z, 4) for the shape of t1 "
                             f"{template.t1.shape}, got {template.tissue.shape}")
        self.seed = int(make_rng(None).integers(2**31)) if seed is None else \
            positive_int(seed, "seed", minimum=0)
        self.classes_share = _classes_share(intensity)
        self.max_scale = _number(max_scale, "max_scale", 0, 0.5)
        self.max_rotation = _number(max_rotation, "max_rotation", 0, 90)
        self.max_shift = _number(max_shift, "max_shift", 0, np.inf)
        self.elastic_std = _number(elastic_std, "elastic_std", 0, np.inf)
        self.gamma_std = _number(gamma_std, "gamma_std", 0, 1)
        self.bias_std = _number(bias_std, "bias_std", 0, 1)
        self.bias_grid = positive_int(bias_grid, "bias_grid", minimum=2)
        self.max_thickness = _number(max_thickness, "max_thickness", 0, 20)
        self.max_blur = _number(max_blur, "max_blur", 0, 5)
        self.max_noise = _number(max_noise, "max_noise", 0, np.inf)
        self._warp = _load_kernel()
        self.shape = template.t1.shape
        self.voxel_mm = float(np.linalg.norm(template.affine[:3, 0]))
        # Probabilities and T1 as one (X, Y, Z, 5) array: one sampling pass.
        self._stack = np.ascontiguousarray(np.concatenate(
            [template.tissue, template.t1[..., None]], axis=-1), dtype=np.float32)
        self._empty = _empty_cells(self._stack)
        self._centre = (np.array(self.shape) - 1) / 2

    def params(self, k):
        """The random parameters of subject k (drawn from Generator([seed, k]))."""
        k = positive_int(k, "k", minimum=0)
        rng = np.random.default_rng([self.seed, k])
        h = self.voxel_mm
        # The draw order is fixed: anatomy first, then acquisition.
        return SubjectParams(
            scale=rng.uniform(1 - self.max_scale, 1 + self.max_scale, 3),
            angles=rng.uniform(-self.max_rotation, self.max_rotation, 3),
            shift=rng.uniform(-self.max_shift, self.max_shift, 3),
            elastic=rng.normal(0, self.elastic_std, (ELASTIC_GRID,) * 3 + (3,)),
            gamma=float(np.exp(rng.normal(0, self.gamma_std))),
            means=rng.uniform(0.1, 1.0, 3),
            spreads=rng.uniform(0.0, 0.08, 3),
            bias=rng.normal(0, self.bias_std, (self.bias_grid,) * 3 + (1,)),
            thick_axis=int(rng.integers(3)),
            thickness=float(rng.uniform(h, max(h, self.max_thickness))),
            blur=float(rng.uniform(0, self.max_blur)),
            noise=float(rng.uniform(0, self.max_noise)),
            contrast=CONTRASTS[int(rng.random() < self.classes_share)],
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

    def _render(self, k, p, axis, positions):
        """Labels (n, H, W) int32 and contrast image (n, H, W) float32 of the
        slices at `positions` along `axis`, before the acquisition.

        u = M v + offset + d(v) / h with v = (position, i, j) placed on their
        axes: M v + offset is split by output dimension into a0 (n, 3),
        a1 (H, 3), a2 (W, 3) and summed per voxel in the kernel.
        """
        plane = [a for a in (0, 1, 2) if a != axis]
        h, w = self.shape[plane[0]], self.shape[plane[1]]
        m = _rotation(p.angles) @ np.diag(1 / p.scale)
        offset = self._centre - m @ self._centre + p.shift / self.voxel_mm
        along = (positions, np.arange(h), np.arange(w))
        a0, a1, a2 = (np.ascontiguousarray(np.outer(c, m[:, d]))
                      for c, d in zip(along, (axis, *plane)))
        a0 += offset
        elastic = np.ascontiguousarray(
            np.transpose(p.elastic, (axis, *plane, 3))) / self.voxel_mm
        cells = [_cells(c, self.shape[d], ELASTIC_GRID) for c, d in zip(along, (axis, *plane))]
        classes = p.contrast == "classes"
        texture = np.stack([np.random.default_rng([self.seed, k, axis, int(q), 0])
                            .standard_normal((h, w), dtype=np.float32) for q in positions]) \
            if classes else np.zeros((1, 1, 1), np.float32)                 # (n, H, W)
        labels = np.empty((len(positions), h, w), np.int32)
        image = np.empty((len(positions), h, w), np.float32)
        self._warp(self._stack, self._empty, a0, a1, a2, elastic, *cells[0], *cells[1], *cells[2],
                   classes, p.gamma, p.means, p.spreads, texture, labels, image)
        image *= np.exp(self._coarse(p.bias, axis, positions)[..., 0])
        return labels, image

    def profiles(self, k):
        """Subject k's acquisition kernels k_a (see the module docstring), one
        per template axis: a list of 3 arrays of odd length summing to 1."""
        return self._profiles(self.params(k))

    def _profiles(self, p):
        return [profile((p.thickness if a == p.thick_axis else self.voxel_mm) / self.voxel_mm,
                         p.blur / self.voxel_mm) for a in (0, 1, 2)]

    def slices(self, k, axis=2, positions=None):
        """Slices of subject k along `axis` at `positions` (default: all).

        Returns x (n, H, W, 1) float32 images, y (n, H, W) int32 labels and
        the positions (n,).
        """
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        positions = self._positions(axis, positions)
        p = self.params(k)
        kernels = self._profiles(p)
        plane = [a for a in (0, 1, 2) if a != axis]
        # The through-plane kernel reads neighbours p - r .. p + r: render them once.
        r = len(kernels[axis]) // 2
        needed, slot = neighbours(positions, self.shape[axis], r)
        labels, sharp = self._render(k, p, axis, needed)
        labels = labels[slot[:, r]]
        image = through_plane(sharp, slot, kernels[axis])
        for a, d in zip((1, 2), plane):
            image = convolve(image, kernels[d], axis=a)
        if p.noise > 0:
            noise = np.stack([np.random.default_rng([self.seed, k, axis, int(q), 1])
                              .standard_normal(image.shape[1:], dtype=np.float32)
                              for q in positions])
            image += np.float32(p.noise) * noise
        return image[..., None], labels, positions

    def volume(self, k, axis=2):
        """Subject k as a volume: (image (X, Y, Z) float32, labels (X, Y, Z) int32),
        made slice by slice along `axis` (texture and noise are drawn per
        slice, so the axis matters: use the one a network is tested on)."""
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
        return positions.astype(np.int64)


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
