"""Lower resolution for ``minicnn.data.synth``: slice profiles and separable blur.

A scanner's voxel averages the object over its slice profile. Along one
axis, with voxel size h, a slice of thickness T mm is a box of width
w = T / h voxels; a point spread of sd sigma mm a Gaussian of sd
s = sigma / h voxels. Sampled at voxel centres, the box weighs offset j by
the overlap of [j - 1/2, j + 1/2] with [-w/2, w/2]:

    box_w[j]   = max(0, min(j + 1/2, w/2) - max(j - 1/2, -w/2)) / w
    gauss_s[j] = exp(-j^2 / (2 s^2)),   |j| <= 3 s, taps < 1e-3 dropped
    k          = (box_w * gauss_s) / sum(box_w * gauss_s)

(w = 1: (1,), no blur; w = 2: (1/4, 1/2, 1/4); w = 3: thirds; fractional
widths are exact.) The 3D blur is separable: the kernel of each axis in
turn, zeros beyond the volume. In-plane axes are convolved within the
slice; the slicing axis reads neighbour slices p - r .. p + r, which the
caller renders once (``neighbours``) and combines (``through_plane``).
"""
import numpy as np

TAP_FLOOR = 1e-3


def profile(width, sigma):
    """The kernel k (2r + 1,) of a box `width` voxels wide and a Gaussian of sd
    `sigma` voxels (see the module docstring): sums to 1, symmetric."""
    half = width / 2
    j = np.arange(-int(np.ceil(half - 0.5)), int(np.ceil(half - 0.5)) + 1)
    kernel = np.clip(np.minimum(j + 0.5, half) - np.maximum(j - 0.5, -half), 0, None) / width
    if sigma > 0:
        j = np.arange(-int(np.ceil(3 * sigma)), int(np.ceil(3 * sigma)) + 1)
        gauss = np.exp(-j ** 2 / (2 * sigma ** 2))
        kernel = np.convolve(kernel, gauss[gauss >= TAP_FLOOR])
    return kernel / kernel.sum()


def convolve(x, kernel, axis):
    """'Same' convolution of x with a symmetric kernel (2r + 1,) along `axis`,
    zeros beyond the edge: out[i] = sum_{j=-r..r} kernel[j + r] x[i + j]."""
    r = len(kernel) // 2
    if r == 0:
        return x
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r, r)
    padded = np.pad(x, pad)
    out = np.zeros_like(x)
    window = [slice(None)] * x.ndim
    for j, weight in enumerate(kernel):
        window[axis] = slice(j, j + x.shape[axis])
        out += np.float32(weight) * padded[tuple(window)]
    return out


def neighbours(positions, n, r):
    """The slices a through-plane kernel of radius r reads for `positions`
    (m,) along an axis of n slices.

    Returns needed (u,), the sorted distinct slices in 0 .. n - 1 to render,
    and slot (m, 2r + 1): slot[i, j] is the index in `needed` of slice
    positions[i] + j - r, or u (a zero slice appended by ``through_plane``)
    beyond the volume.
    """
    reach = positions[:, None] + np.arange(-r, r + 1)                    # (m, 2r + 1)
    inside = (reach >= 0) & (reach < n)
    needed = np.unique(reach[inside])
    slot = np.where(inside, np.searchsorted(needed, reach), len(needed))
    return needed, slot


def through_plane(sharp, slot, kernel):
    """sharp (u, H, W) rendered slices, slot (m, 2r + 1) from ``neighbours``
    -> (m, H, W): out[i] = sum_j kernel[j] sharp[slot[i, j]] (zeros beyond)."""
    sharp = np.concatenate([sharp, np.zeros_like(sharp[:1])])
    out = np.zeros((len(slot),) + sharp.shape[1:], np.float32)
    for j, weight in enumerate(kernel):
        out += np.float32(weight) * sharp[slot[:, j]]
    return out
