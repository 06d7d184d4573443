"""Geometry for ``minicnn.data.heads``: voxel coordinates, smooth random
fields, signed distances to simple solids, and the Euclidean distance
transform of a mask. Lengths are millimetres; signed distances are negative
inside a solid.
"""
import numpy as np


def coordinates(to_frame, shape):
    """Every voxel's coordinates in a frame, 3 arrays of `shape`, from the
    (4, 4) voxel -> frame affine M: x_a = M_a0 i + M_a1 j + M_a2 k + M_a3."""
    i, j, k = (np.arange(n, dtype=np.float32) for n in shape)
    return tuple(np.float32(m[3]) + np.float32(m[0]) * i[:, None, None]
                 + np.float32(m[1]) * j[None, :, None] + np.float32(m[2]) * k[None, None, :]
                 for m in to_frame[:3])


def rotation(degrees):
    """R = Rz Ry Rx for rotations (degrees) about axes 0, 1, 2."""
    a, b, c = np.deg2rad(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def waves(rng, n, shortest, longest):
    """n plane waves for ``field``: wave vectors k_j (n, 3) of random
    directions and wavelengths in [shortest, longest] mm, phases (n,)."""
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    k = 2 * np.pi / rng.uniform(shortest, longest, n)
    return direction * k[:, None], rng.uniform(0, 2 * np.pi, n)


def field(plane_waves, to_frame, shape):
    """g(x) = sqrt(2 / n) sum_j cos(k_j . x + phi_j) at every voxel, x its
    frame coordinates: a smooth random field of mean 0 and sd 1 (over the
    phases). x is affine in the voxel indices (i, j, k), so each wave is
    Re[e^{i phi'} e^{i a i} e^{i b j} e^{i c k}]: an outer product of one
    complex exponential per axis, cheaper than a cosine per voxel."""
    k, phase = plane_waves
    out = np.zeros(shape, np.float32)
    for kj, pj in zip(k, phase):
        rates = kj @ to_frame[:3, :3]                    # radians per voxel, each axis
        a, b, c = (np.exp(1j * r * np.arange(n)).astype(np.complex64)
                   for r, n in zip(rates, shape))
        start = np.complex64(np.exp(1j * (kj @ to_frame[:3, 3] + pj)))
        out += ((start * a[:, None, None]) * (b[None, :, None] * c[None, None, :])).real
    return out * np.float32(np.sqrt(2 / len(phase)))


def ellipsoid(xyz, centre, axes):
    """Signed distance to an ellipsoid, approximately: k0 (k0 - 1) / k1 with
    k0 = |(x - c) / a| and k1 = |(x - c) / a^2| (exact where the axes meet
    the surface, within a few percent elsewhere near it)."""
    k0 = np.zeros_like(xyz[0])
    k1 = np.zeros_like(xyz[0])
    for x, c, a in zip(xyz, centre, axes):
        q = (x - np.float32(c)) / np.float32(a)
        k0 += q * q
        k1 += (q / np.float32(a)) ** 2
    k0 = np.sqrt(k0)
    return k0 * (k0 - 1) / np.maximum(np.sqrt(k1), np.float32(1e-6))


def smooth_union(a, b, k):
    """min(a, b) with the crease rounded over k mm: min(a, b) - k w^2 / 4,
    w = max(0, k - |a - b|) / k (a polynomial smooth minimum)."""
    w = np.clip(k - np.abs(a - b), 0, None) / np.float32(k)
    return np.minimum(a, b) - w * w * np.float32(k / 4)


def distance(mask, voxel_mm, reach_mm):
    """Euclidean distance (mm) from each voxel centre to the nearest voxel of
    `mask`, exact up to reach_mm (beyond: reach_mm).

    Separable (Saito and Toriwaki 1994): with D = 0 on the mask and infinity
    elsewhere, one pass per axis a,

        D(v) <- min_j D(v + j e_a) + j^2,

    gives the squared distance in voxels; offsets |j| <= reach suffice for
    distances up to reach.
    """
    reach = int(np.ceil(reach_mm / voxel_mm))
    far = np.float32(3 * (reach + 1) ** 2)
    d2 = np.where(mask, 0, far).astype(np.float32)
    for axis in range(3):
        pad = [(0, 0)] * 3
        pad[axis] = (reach, reach)
        padded = np.pad(d2, pad, constant_values=far)
        n = d2.shape[axis]
        window = [slice(None)] * 3
        for j in range(-reach, reach + 1):
            window[axis] = slice(reach + j, reach + j + n)
            np.minimum(d2, padded[tuple(window)] + np.float32(j * j), out=d2)
    return np.minimum(np.sqrt(d2) * np.float32(voxel_mm), np.float32(reach_mm))
