"""Synthetic whole-head T1 volumes: the template brain in a skull, scalp, face and neck.

minicnn ships no whole-head T1 (its template is skull-stripped), yet
``minicnn predict`` must know one when it sees one. ``head`` builds test
heads around the template brain, seeded, at 1 or 2 mm:

    h = heads.head("mni", seed=3, voxel_mm=1)   # h.image (181, 217, 181), h.affine
    h.stripped                                  # the same head skull-stripped

Frames. The anatomy is drawn in the head frame, the template's millimetres
(MNI space, origin near the anterior commissure). The scanner sees it
scaled by s per axis (size and elongation), tilted and shifted,
world = R diag(s) head + t, in a field of view: a box of world mm. Each
voxel centre is mapped back to the head frame and painted.

Anatomy, outwards from the brain. d is the distance outside the brain's
envelope (the template's mask smoothed, joined to a spinal cord that
continues the brainstem down the neck); e the depth inside the head's skin:

    tissue          where               thickness (mm)       T1 / white matter
    brain           the template        -                    the template's
    CSF             d < c               c = 1-3              0.15-0.35
    inner table     c .. c+i            i = 0.8-1.8          0-0.04 (no signal)
    diploe          .. + m              m = 2-4              0.55-1.0 (marrow)
    outer table     .. + o              o = 0.8-1.8          0-0.04
    galea, muscle   down to the fat     galea 1-2            0.45-0.65
    fat             e < k + f           f = 2-4 scalp,       1.0-1.3
                                        5-12 face and neck
    skin            e < k               k = 1.5-2.5          0.55-0.80
    air             outside             -                    0

Each thickness varies over the head (times exp(0.35 g), g a smooth random
field of sd 1 clipped to +-2). The skull thins to half under the temporalis
(the temporal squama) and to 0.3 with no marrow and little CSF under the
frontal and temporal lobes (the orbital roofs, the middle cranial fossa).
The canal below the foramen magnum has no bony ring: the cisterna magna
meets the neck's muscles, as through the atlanto-occipital membrane.
Outside the cranium the head is a smooth union of analytic solids (the
temporalis muscles, the face, the nose, the ears, the neck); under their
fat lie the eyes (vitreous, 0.08-0.20) in orbital fat, air in the nasal
cavity, maxillary sinuses, mouth and pharynx, marrow in the vertebral
bodies in front of the cord (0.85-1.0), and muscle everywhere else.

Sources. Skull thickness varies by region, 6-10 mm on CT (Calisan et al.
2021, Applied Sciences 11:10483: about 8 frontal, 10 parietal and
occipital, 6 temporal), of which the cortical tables are 1-2 mm each; the
scalp is 4-8 mm of skin (about 1.5), fat and galea, thinner with age; the
CSF over the convexity 1-3 mm, more with atrophy (typical anatomical
values, not measured here). The T1 order follows relaxation times at 3 T,
shorter T1 brighter: fat about 0.4 s, white matter 1.08 s, muscle 1.41 s,
grey matter 1.82 s (Stanisz et al. 2005, Magn Reson Med 54:507), CSF about
4 s; cortical bone gives no signal at a T1's echo times (T2* < 1 ms). So
fat > WM > GM > muscle > CSF > bone ~ air, as on an MPRAGE; the ratios are
ranges for many scanners, not measurements.

Partial volume. A voxel of size h at distance d mixes the layers over
[d - h/2, d + h/2], each by its overlap; a solid of signed distance f
(negative inside) covers clip(1/2 - f / h, 0, 1) of it. Solids are painted
in order (brain, cranial layers, air, skin, fat, the inner structures,
muscle), each taking what the earlier ones left.

Acquisition: a bias exp(b), b a smooth random field of sd 0.1-0.25 plus
the receive coil's profile (up to 25 % brighter at the head's surface,
darker down the neck), then Rician noise |I + n1 + i n2|, n ~ N(0, s^2),
s = 1-4 % of white matter at 1 mm, divided by h^(3/2) at h mm.

Shapes (``SHAPES``; each seed draws within its ranges): 'mni', an MNI-sized
head in the MNI box of 181 x 217 x 181 mm (as BrainWeb's), cut at the
upper jaw; 'neck', a smaller head in a sagittal 256 mm field of view down
the neck; 'tight', a small round head with a thin skull and scalp, cut
close (nose, ears and the back of the head cut off); 'thick', a large long
head with a thick skull of bright marrow and more CSF (an older adult),
down to the mouth.

What the heads miss. Real skulls are not offsets of the brain: the skull
base (petrous bone, clivus), the mastoid air cells, the frontal sinus, the
mandible and teeth, the vessels and venous sinuses, the dura and falx,
hair, the shoulders, any texture within a tissue, motion, ringing and
wrap-around, fat's chemical shift, and defacing are not modelled; the face,
neck and ears are smooth blobs; the brain is the smooth average template,
not one person's, with its sulcal CSF as the template has it.
"""
import functools
from dataclasses import dataclass

import numpy as np

from .. import datasets
from .._validate import one_of, positive_int
from . import _head_geometry as geometry
from ._acquisition import convolve, profile
from .interpolate import linear_sample, resample

# T1 signal relative to white matter, (low, high), drawn per head.
INTENSITIES = {
    "csf": (0.15, 0.35), "bone": (0.0, 0.04), "marrow": (0.55, 1.0), "muscle": (0.45, 0.65),
    "fat": (1.0, 1.3), "skin": (0.55, 0.80), "vitreous": (0.08, 0.20), "cord": (0.85, 1.0),
}
# Thicknesses in mm, (low, high), drawn per head.
LAYERS = {
    "csf": (1.0, 3.0), "inner": (0.8, 1.8), "diploe": (2.0, 4.0), "outer": (0.8, 1.8),
    "galea": (1.0, 2.0), "scalp_fat": (2.0, 4.0), "skin": (1.5, 2.5), "neck_fat": (5.0, 12.0),
}
SHAPES = {
    "mni": dict(scale=((0.96, 1.04),) * 3, fov_low=(-90, -126, -72), fov_mm=(181, 217, 181)),
    "neck": dict(scale=((0.86, 0.94), (0.88, 0.96), (0.88, 0.96)),
                 fov_low=(-88, -136, -150), fov_mm=(176, 256, 256)),
    "tight": dict(scale=((0.88, 0.94), (0.82, 0.88), (0.85, 0.9)),
                  fov_low=(-80, -100, -70), fov_mm=(160, 180, 170),
                  layers=dict(csf=(0.8, 1.5), inner=(0.8, 1.2), diploe=(1.5, 2.5),
                              outer=(0.8, 1.2), scalp_fat=(1.5, 2.5))),
    "thick": dict(scale=((0.94, 0.98), (1.0, 1.06), (0.96, 1.0)),
                  fov_low=(-96, -136, -136), fov_mm=(192, 256, 248),
                  layers=dict(csf=(2.0, 3.5), inner=(1.0, 2.0), diploe=(4.0, 7.0),
                              outer=(1.0, 2.0), scalp_fat=(3.0, 5.0)),
                  intensities=dict(marrow=(0.9, 1.2))),
}
# Head.labels holds each voxel's main tissue as an index into TISSUES.
TISSUES = ("air", "brain", "csf", "bone", "marrow", "muscle", "fat", "skin", "vitreous", "cord")
MAX_TILT = 8.0          # degrees, about each axis
MAX_SHIFT = 6.0         # mm, along each axis
CORD_RADIUS = 5.5       # mm
FORAMEN_Z = -62.0       # head mm: the foramen magnum's level
# The brain envelope's distance is computed once, on a grid of GRID_MM over
# the head-frame box GRID_LOW .. GRID_HIGH (every shape's field of view),
# exact up to REACH_MM.
GRID_MM, REACH_MM = 2.0, 50.0
SAMPLE_MM = 4.0         # each volume reads the distance at this spacing
GRID_LOW, GRID_HIGH = np.array([-120, -170, -240]), np.array([120, 150, 140])


@dataclass(frozen=True)
class Head:
    """One synthetic head.

    image  : (X, Y, Z) float32, in the template's units (white matter about 0.84).
    affine : (4, 4) voxel -> world mm.
    labels : (X, Y, Z) int8, each voxel's main tissue, an index into TISSUES.
    mask   : (X, Y, Z) bool, what skull stripping keeps: the brain and the
             CSF around it, down to the foramen magnum.
    shape, seed, params : what was drawn (``draw``).
    """
    image: np.ndarray
    affine: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    shape: str
    seed: int
    params: dict

    @property
    def stripped(self):
        """The image skull-stripped by `mask` (0 outside)."""
        return np.where(self.mask, self.image, np.float32(0))


def head(shape, seed, voxel_mm=2):
    """Head `seed` of the named shape (see the module docstring) at `voxel_mm`
    (1 or 2) mm: the same anatomy and bias at both, the noise drawn anew."""
    if voxel_mm not in (1, 2) or isinstance(voxel_mm, bool):
        raise ValueError(f"voxel_mm must be 1 or 2, got {voxel_mm!r}")
    p = draw(shape, seed)
    shape, seed = p["shape"], p["seed"]
    h = float(voxel_mm)
    template = _template(voxel_mm)
    size, affine, to_head = _grid(p, h)
    xyz = geometry.coordinates(to_head, size)
    brain, t1 = _brain(template, xyz)
    values = {k: v * template.wm for k, v in p["t1"].items()}
    paint = _Painter(t1, brain, dict(values, air=0.0), h)
    vary = np.exp(np.float32(0.35) * np.clip(geometry.field(p["waves"], to_head, size), -2, 2))
    _paint_anatomy(paint, p, xyz, _envelope(to_head, size, h), vary)
    is_brain, is_csf = (paint.labels == TISSUES.index(t) for t in ("brain", "csf"))
    mask = is_brain | is_csf & (xyz[2] > FORAMEN_Z)
    image = paint.image * _bias(p, affine, size)
    noise = np.random.default_rng([seed, sorted(SHAPES).index(shape), voxel_mm]) \
        .standard_normal((2,) + size, dtype=np.float32)
    sigma = np.float32(p["noise"] * template.wm / h ** 1.5)
    image = np.hypot(image + sigma * noise[0], sigma * noise[1])
    return Head(image, affine, paint.labels, mask, shape, seed, p)


def draw(shape, seed):
    """The random parameters of head `seed` of `shape`, a dict: shape, seed,
    scale (3,), tilt (3,) degrees, shift (3,) mm, the field of view, mm
    (thicknesses), t1 (intensities / WM), the smooth fields' waves, bias and
    noise."""
    shape = one_of(shape, SHAPES, "shape")
    seed = positive_int(seed, "seed", minimum=0)
    spec = SHAPES[shape]
    rng = np.random.default_rng([seed, sorted(SHAPES).index(shape)])
    layers = dict(LAYERS, **spec.get("layers", {}))
    intensities = dict(INTENSITIES, **spec.get("intensities", {}))
    return dict(
        shape=shape, seed=seed,
        scale=np.array([rng.uniform(*r) for r in spec["scale"]]),
        tilt=rng.uniform(-MAX_TILT, MAX_TILT, 3),
        shift=rng.uniform(-MAX_SHIFT, MAX_SHIFT, 3),
        fov_low=np.array(spec["fov_low"], float), fov_mm=np.array(spec["fov_mm"], float),
        # Python floats: a NumPy float64 would turn the float32 volumes to float64.
        mm={k: float(rng.uniform(*r)) for k, r in sorted(layers.items())},
        t1={k: float(rng.uniform(*r)) for k, r in sorted(intensities.items())},
        waves=geometry.waves(rng, 6, 60.0, 200.0),
        bias_waves=geometry.waves(rng, 6, 150.0, 400.0),
        bias_std=float(rng.uniform(0.1, 0.25)),
        coil=float(rng.uniform(0.0, 0.25)),
        noise=float(rng.uniform(0.01, 0.04)),
    )


def _grid(p, h):
    """The field of view: its shape, its affine (voxel -> world mm) and the
    voxel -> head mm affine, diag(1 / s) R^T (world - t)."""
    shape = tuple(int(round(n / h)) for n in p["fov_mm"])
    affine = np.diag([h, h, h, 1.0])
    affine[:3, 3] = p["fov_low"] + h / 2
    to_head = np.eye(4)
    to_head[:3] = (geometry.rotation(p["tilt"]).T / p["scale"][:, None]) @ (
        affine[:3] - np.c_[np.zeros((3, 3)), p["shift"]])
    return shape, affine, to_head


# ------------------------------------------------------------------ brain
@dataclass(frozen=True)
class _Template:
    stack: np.ndarray      # (X, Y, Z, 2): T1 and brain fraction
    to_voxel: np.ndarray   # (4, 4) head mm -> template voxel
    wm: float              # mean T1 of white matter


@functools.lru_cache(maxsize=2)
def _template(voxel_mm):
    t = datasets.icbm152(resolution=voxel_mm)
    stack = np.stack([t.t1, 1 - t.tissue[..., 0]], axis=-1).astype(np.float32)
    return _Template(stack, np.linalg.inv(t.affine), float(t.t1[t.labels == 3].mean()))


def _brain(template, xyz):
    """(brain fraction, T1) at each voxel, sampled from the template (0 outside)."""
    m = template.to_voxel
    u = [sum(np.float32(m[a, i]) * xyz[i] for i in range(3)) + np.float32(m[a, 3])
         for a in range(3)]
    inside = np.ones(xyz[0].shape, bool)
    for a in range(3):
        inside &= (u[a] > -1) & (u[a] < template.stack.shape[a])
    brain = np.zeros(xyz[0].shape, np.float32)
    t1 = np.zeros_like(brain)
    values = linear_sample(template.stack, np.stack([v[inside] for v in u], axis=-1))
    t1[inside], brain[inside] = values[:, 0], values[:, 1]
    return brain, t1


@functools.lru_cache(maxsize=1)
def _envelope_distance():
    """Distance (mm) outside the brain's envelope on the GRID_MM head-frame
    grid from GRID_LOW. The envelope is the 2 mm template's mask smoothed
    (Gaussian of sd 2 mm, kept above 1/2) joined to the spinal cord."""
    t = datasets.icbm152(resolution=2)
    shape = tuple(((GRID_HIGH - GRID_LOW) / GRID_MM).astype(int) + 1)
    mask = np.zeros(shape, np.float32)
    corner = np.round((t.affine[:3, 3] - GRID_LOW) / GRID_MM).astype(int)
    mask[tuple(slice(c, c + n) for c, n in zip(corner, t.mask.shape))] = t.mask
    for axis in range(3):
        mask = convolve(mask, profile(1.0, 2.0 / GRID_MM), axis)
    to_head = np.diag([GRID_MM] * 3 + [1.0])
    to_head[:3, 3] = GRID_LOW
    x, y, z = geometry.coordinates(to_head, shape)
    cord = (np.hypot(x, y - _cord_y(z)) < CORD_RADIUS) & (z < FORAMEN_Z)
    return geometry.distance((mask > 0.5) | cord, GRID_MM, REACH_MM) - GRID_MM / 2


def _envelope(to_head, shape, h):
    """d, the distance (head mm) outside the brain's envelope, at every voxel.

    It is smooth (linear along the envelope's normals), so it is read from
    the GRID_MM grid only at the voxels of a coarser grid over the same field
    of view, of SAMPLE_MM (voxel j the centre of fine voxels kj .. kj + k - 1,
    k = SAMPLE_MM / h), and interpolated linearly to h. Beyond the grid d is
    REACH_MM.
    """
    k = max(1, round(SAMPLE_MM / h))
    coarse = tuple(-(-n // k) for n in shape)
    to_coarse = to_head @ np.array([[k, 0, 0, (k - 1) / 2], [0, k, 0, (k - 1) / 2],
                                    [0, 0, k, (k - 1) / 2], [0, 0, 0, 1]])
    u = np.stack([(c - np.float32(low)) / np.float32(GRID_MM) for c, low in
                  zip(geometry.coordinates(to_coarse, coarse), GRID_LOW)], axis=-1)
    # Sampled as d - REACH_MM, which is 0 beyond the grid.
    d = linear_sample(_envelope_distance()[..., None] - np.float32(REACH_MM),
                      u.reshape(-1, 3)).reshape(coarse) + np.float32(REACH_MM)
    return d if k == 1 else resample(d, (1 / k,) * 3, shape)


def _cord_y(z):
    """y of the spinal cord's axis at head height z (x = 0): from the
    brainstem's end at (0, -45, -66), leaning back 0.2 mm per mm down."""
    return -45 + 0.2 * (z + 66)


# --------------------------------------------------------------- painting
class _Painter:
    """Paints solids into what earlier ones left of each voxel.

    image sums value x share over what is painted, free is each voxel's
    unpainted share, labels its tissue of largest share so far.
    paint(share, tissue) takes min(share, free).
    """

    def __init__(self, t1, brain, values, h):
        self.image, self.free, self.best = t1.copy(), 1 - brain, brain.copy()
        self.labels = np.where(brain > 0, TISSUES.index("brain"), 0).astype(np.int8)
        self.values, self.h = values, np.float32(h)

    def paint(self, share, tissue):
        taken = np.minimum(share, self.free)
        self.image += taken * np.float32(self.values[tissue])
        self.free -= taken
        more = taken > self.best
        self.labels[more] = TISSUES.index(tissue)
        self.best[more] = taken[more]

    def inside(self, f):
        """The share of each voxel inside a solid of signed distance f (mm)."""
        return np.clip(0.5 - f / self.h, 0, 1)

    def layer(self, d, low, high):
        """The share of [d - h/2, d + h/2] in [low, high] (mm)."""
        h = self.h
        return np.clip((np.minimum(d + h / 2, high) - np.maximum(d - h / 2, low)) / h, 0, 1)


def _paint_anatomy(paint, p, xyz, d, vary):
    """Everything but the brain, in order (see the module docstring). d is
    in head mm and so are the solids; s turns them into world mm."""
    mm = p["mm"]
    s = np.float32(np.mean(p["scale"]))
    x, y, z = xyz
    both = (np.abs(x), y, z)                     # left and right solids at once
    cord_y = _cord_y(z)
    d = d * s

    def solid(f):
        return paint.inside(f * s)

    temporalis = geometry.ellipsoid(both, (80, 0, 0), (12, 45, 38))
    base = np.clip(-geometry.ellipsoid(xyz, (0, 30, -45), (75, 55, 28)) / 10, 0, 1)
    canal = np.clip((FORAMEN_Z - z) / 4, 0, 1)
    bone = vary * (1 - 0.5 * np.clip(-temporalis / 10, 0, 1)) * (1 - 0.7 * base) * (1 - canal)
    edges = np.cumsum([mm["csf"] * vary * (1 - 0.6 * base + canal), mm["inner"] * bone,
                       mm["diploe"] * bone * (1 - base), mm["outer"] * bone], axis=0)
    cranium = d - edges[3] - (mm["galea"] + mm["scalp_fat"] + mm["skin"]) * vary
    face = geometry.ellipsoid(xyz, (0, 40, -88), (62, 55, 72))
    neck = np.maximum(np.hypot(x, y - cord_y - 22) - 56, z + 40)
    outline = geometry.smooth_union(geometry.smooth_union(cranium, temporalis * s, 10),
                                    geometry.smooth_union(face * s, neck * s, 30), 20)
    nose = geometry.ellipsoid(xyz, (0, 92, -72), (11, 16, 24))
    ears = geometry.ellipsoid(both, (84, -22, -38), (6, 16, 28))
    depth = -np.minimum(outline, np.minimum(nose, ears) * s)

    paint.paint(solid(np.maximum(np.hypot(x, y - cord_y) - CORD_RADIUS, z - FORAMEN_Z)), "cord")
    paint.paint(paint.layer(d, -np.inf, edges[0]), "csf")
    for low, high, tissue in zip(edges, edges[1:], ("bone", "marrow", "bone")):
        paint.paint(paint.layer(d, low, high), tissue)
    paint.paint(paint.inside(depth), "air")
    skin = mm["skin"] * vary
    lower = np.clip((-30 - z) / 30, 0, 1)                    # 0 above the face, 1 below
    fat = (mm["scalp_fat"] + (mm["neck_fat"] - mm["scalp_fat"]) * lower) * vary
    paint.paint(paint.layer(depth, -np.inf, skin), "skin")
    paint.paint(paint.layer(depth, skin, skin + fat), "fat")

    paint.paint(solid(geometry.ellipsoid(both, (32, 58, -40), (12, 12, 12))), "vitreous")
    paint.paint(solid(geometry.ellipsoid(both, (30, 48, -42), (17, 25, 16))), "fat")
    for centre, axes in (((0, 60, -70), (10, 34, 22)),      # nasal cavity
                         ((0, 50, -112), (22, 26, 5))):     # mouth
        paint.paint(solid(geometry.ellipsoid(xyz, centre, axes)), "air")
    paint.paint(solid(geometry.ellipsoid(both, (28, 55, -72), (12, 17, 15))), "air")  # sinuses
    paint.paint(solid(np.maximum(np.hypot(x, y - cord_y - 50) - 8, z + 62)), "air")   # pharynx
    vertebra = np.maximum(np.hypot(x, y - cord_y - 20) - 9, z + 78)
    paint.paint(solid(vertebra + 1.5), "marrow")
    paint.paint(solid(vertebra), "bone")
    paint.paint(paint.free, "muscle")


def _bias(p, affine, shape):
    """exp(b): a smooth random field, plus the receive coil's profile: up to
    `coil` brighter at the head's surface (r = 1), darker down the neck."""
    x, y, z = geometry.coordinates(affine, shape)
    b = np.float32(p["bias_std"]) * geometry.field(p["bias_waves"], affine, shape)
    r2 = (x / 80) ** 2 + ((y + 15) / 100) ** 2 + ((z - 10) / 90) ** 2
    b += np.float32(p["coil"]) * np.minimum(r2, 1.5) - 0.5 * np.clip((-70 - z) / 60, 0, None) ** 2
    return np.exp(b)
