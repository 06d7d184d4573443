"""The compiled inner loop of ``minicnn.data.synth``: warp, sample, label, shade.

For every output voxel (a, b, c) of a stack of n slices of H x W voxels,
in one pass and without temporary arrays:

    u        = A0[a] + A1[b] + A2[c] + d(a, b, c)            template position (3,)
    d        = trilinear interpolation of the coarse elastic grid E
               (output-dimension order, voxel units) at the grid cells
               lo_k and fractions fr_k of the three output dimensions
    q_0..q_4 = trilinear sample of the template stack at u, corners outside
               the template count 0 (q_0..q_3 the class probabilities, q_4 T1)
    label    = argmax(q_0, q_1, q_2, q_3)         (ties: the lowest class)
    image    = q_4 ** gamma                                     (T1 contrast)
             = sum_c q_{c+1} (mean_c + spread_c e[a, b, c])    (class contrast)

A0, A1, A2 hold the affine part M v + offset split by output dimension
(the caller folds the offset into A0), so the linear map costs three
additions per voxel; E is first reduced to one line of (G, 3) values per
row (a, b), so d costs one linear interpolation per voxel. Where the 2 x 2
x 2 cell at floor(u) is marked in `empty` (all eight corners pure
background: p_bg = 1, every other channel 0) the result is known, label 0
and image 0, and the 40 loads are skipped: more than half the voxels.

Numba is a dependency of minicnn: importing this module without it raises
ImportError. One thread per call (``nogil=True``: a caller may run it in a
thread beside training); compiled on first use and cached on disk.
"""
import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def warp_sample(stack, empty, a0, a1, a2, elastic, lo0, fr0, lo1, fr1, lo2, fr2,
                classes, gamma, means, spreads, texture, labels, image):
    """Fill labels (n, H, W) int32 and image (n, H, W) float32 (see the module).

    stack (X, Y, Z, 5) float32; empty (X, Y, Z) bool, True where the cell
    [i, i + 1]^3 is pure background; a0 (n, 3), a1 (H, 3), a2 (W, 3)
    float64; elastic (G, G, G, 3) float64 in output-dimension order, voxel
    units; lo_k int64 and fr_k float64, the grid cells and fractions along
    output dimension k; classes: bool (class contrast, else T1); gamma
    float; means, spreads (3,) float64; texture (n, H, W) float32, read only
    with classes=True.
    """
    sx, sy, sz = stack.shape[0], stack.shape[1], stack.shape[2]
    n, h, w = labels.shape
    q = np.zeros(5)
    line = np.empty((elastic.shape[2], 3))
    for a in range(n):
        la, fa = lo0[a], fr0[a]
        for b in range(h):
            lb, fb = lo1[b], fr1[b]
            for g in range(elastic.shape[2]):            # E at (a, b) along dimension 2
                for k in range(3):
                    line[g, k] = ((1 - fa) * ((1 - fb) * elastic[la, lb, g, k]
                                              + fb * elastic[la, lb + 1, g, k])
                                  + fa * ((1 - fb) * elastic[la + 1, lb, g, k]
                                          + fb * elastic[la + 1, lb + 1, g, k]))
            r0 = a0[a, 0] + a1[b, 0]
            r1 = a0[a, 1] + a1[b, 1]
            r2 = a0[a, 2] + a1[b, 2]
            for c in range(w):
                lc, fc = lo2[c], fr2[c]
                u0 = r0 + a2[c, 0] + (1 - fc) * line[lc, 0] + fc * line[lc + 1, 0]
                u1 = r1 + a2[c, 1] + (1 - fc) * line[lc, 1] + fc * line[lc + 1, 1]
                u2 = r2 + a2[c, 2] + (1 - fc) * line[lc, 2] + fc * line[lc + 1, 2]
                i0, i1, i2 = math.floor(u0), math.floor(u1), math.floor(u2)
                f0, f1, f2 = u0 - i0, u1 - i1, u2 - i2
                if 0 <= i0 < sx - 1 and 0 <= i1 < sy - 1 and 0 <= i2 < sz - 1 \
                        and empty[i0, i1, i2]:
                    labels[a, b, c] = 0
                    image[a, b, c] = 0.0
                    continue
                for k in range(5):
                    q[k] = 0.0
                for c0 in range(2):
                    j0 = i0 + c0
                    if j0 < 0 or j0 >= sx:
                        continue
                    w0 = f0 if c0 else 1 - f0
                    for c1 in range(2):
                        j1 = i1 + c1
                        if j1 < 0 or j1 >= sy:
                            continue
                        w1 = w0 * (f1 if c1 else 1 - f1)
                        for c2 in range(2):
                            j2 = i2 + c2
                            if j2 < 0 or j2 >= sz:
                                continue
                            w2 = w1 * (f2 if c2 else 1 - f2)
                            for k in range(5):
                                q[k] += w2 * stack[j0, j1, j2, k]
                best = 0
                for k in range(1, 4):
                    if q[k] > q[best]:
                        best = k
                labels[a, b, c] = best
                if classes:
                    e = texture[a, b, c]
                    image[a, b, c] = (q[1] * (means[0] + spreads[0] * e)
                                      + q[2] * (means[1] + spreads[1] * e)
                                      + q[3] * (means[2] + spreads[2] * e))
                elif q[4] > 0:
                    image[a, b, c] = q[4] ** gamma
                else:
                    image[a, b, c] = 0.0
