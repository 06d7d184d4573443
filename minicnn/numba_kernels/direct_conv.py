"""A direct convolution, register-blocked, for the layers with few channels.

    y[n, oy, ox, f] = act(b[f] + sum_{i, j, c} x[n, oy + i - top, ox + j - left, c]
                                                * K[i, j, c, f])

for stride 1 and dilation 1, x = 0 outside the image, act the identity or
ReLU. No column matrix: each block of outputs is summed in registers.

Why (measured in a training step of the course's U-Net, docs/performance.md)
--------------------------------------------------------------------------
im2col + GEMM (``numba_kernels.conv``) writes kh * kw copies of the input and
then multiplies a (pixels, 9 C_in) matrix by a (9 C_in, C_out) one. With
C_out = 16 to 64 that product has too few columns for BLAS to run near its
speed, and the copy costs as much as the product: at 32 -> 32 channels on
4 x 80 x 96 pixels it took 4.4-5.6 ms, this kernel 2.8 ms; at 1 -> 32, 1.26
against 0.48 ms. With 128 or more output channels the GEMM is efficient
again and this kernel no better, so the backend table (``minicnn.backend``)
sends only stride-1, undilated convolutions with C_out <= 64 here.

The register block
------------------
A block is P consecutive output pixels of one output row by COB output
channels (COB = 16 or 32: one or two 16-float AVX-512 vectors). Its P x COB
sums stay in registers (see ``_slp``). For every tap (i, j) and input
channel c the COB weights K[i, j, c, f0 : f0 + COB] are read once, and each
of the P input values x[n, iy, ox0 + p + j - left, c] is broadcast into its
pixel's row of sums: P * COB / 16 FMAs for COB / 16 + P loads. The kernel
is first reordered to (C_out / COB, kh, kw, C_in, COB) so those COB weights
are contiguous, with zero channels appended up to a multiple of COB; the
bias and the ReLU are applied when the block is stored, so z never makes a
separate pass through memory.

Borders: a pixel block is "interior" when every tap column it reads is
inside the image. The interior columns are covered by blocks of P (the
last block shifted left to end at the last interior column, so a few pixels
are computed twice with identical results); the kernel rows outside the
image are skipped; the kw - 1 or so border columns run a P = 1 block whose
tap columns are clipped. No padded copy of x is made.

First layers (C_in <= 4, 3 x 3): the few input channels make the loop over
c too short to hide anything, so a second kernel unrolls all 9 * C_in taps
with C_in a compile-time constant, on a zero-padded copy (cheap with so few
channels), every tap a fixed displacement from one of three row pointers.

Threads own output rows (n, oy): each output is written by one thread in
one summation order (i, j, c ascending), so results do not depend on the
thread count.

The backward pass is the im2col one's (``numba_kernels.conv``): the cache is
the same, (x, kernel, has_bias, geom), and there this kernel measured no
faster.
"""
import numba
import numpy as np
from numba import prange

from . import conv
from ._slp import inline, kernel, stack_buffer

SMALL_C_IN = 4            # C_in up to this: the unrolled first-layer kernel


# ------------------------------------------------------------------ blocks
def _make_block(P, COB):
    """Sum P pixels x COB channels of output row oy starting at column ox0."""
    SIZE = P * COB

    @inline
    def block(x, kr, bias, y, n, oy, ox0, cb, i_lo, i_hi, j_lo, j_hi, top, left, relu):
        acc = numba.carray(stack_buffer(SIZE, x.dtype), (P, COB))
        f0 = cb * COB
        for p in range(P):
            for f in range(COB):
                acc[p, f] = bias[f0 + f]
        for i in range(i_lo, i_hi):
            x_row = x[n, oy + i - top]
            for j in range(j_lo, j_hi):
                k_ij = kr[cb, i, j]                              # (C_in, COB)
                first = ox0 + j - left
                for c in range(kr.shape[3]):
                    for p in range(P):
                        value = x_row[first + p, c]
                        for f in range(COB):
                            acc[p, f] += value * k_ij[c, f]
        y_row = y[n, oy]
        for p in range(P):
            for f in range(COB):
                v = acc[p, f]
                if relu and v < 0:
                    v = v - v                                    # 0, of v's type
                y_row[ox0 + p, f0 + f] = v
    return block


def _make_rows(P, COB):
    """The kernel over all output rows: interior blocks of P, then borders."""
    block_p = _make_block(P, COB)
    block_1 = _make_block(1, COB)

    @kernel(parallel=True)
    def rows(x, kr, bias, y, top, left, relu):
        n_images, h, w = x.shape[0], x.shape[1], x.shape[2]
        n_cb, kh, kw = kr.shape[0], kr.shape[1], kr.shape[2]
        oh, ow = y.shape[1], y.shape[2]
        lo = min(left, ow)                                # interior columns [lo, hi)
        hi = max(min(w - kw + 1 + left, ow), lo)
        n_full = (hi - lo) // P
        shifted = n_full > 0 and (hi - lo) % P != 0
        singles = hi if n_full > 0 else lo                # interior columns done one by one
        for r in prange(n_images * oh):
            n = r // oh
            oy = r - n * oh
            i_lo = max(0, top - oy)
            i_hi = min(kh, h + top - oy)
            for cb in range(n_cb):
                for b in range(n_full):
                    block_p(x, kr, bias, y, n, oy, lo + b * P, cb, i_lo, i_hi, 0, kw,
                            top, left, relu)
                if shifted:
                    block_p(x, kr, bias, y, n, oy, hi - P, cb, i_lo, i_hi, 0, kw,
                            top, left, relu)
                for ox in range(singles, hi):
                    block_1(x, kr, bias, y, n, oy, ox, cb, i_lo, i_hi, 0, kw, top, left, relu)
                for ox in range(0, lo):                              # left border
                    block_1(x, kr, bias, y, n, oy, ox, cb, i_lo, i_hi, max(0, left - ox),
                            min(kw, w + left - ox), top, left, relu)
                for ox in range(hi, ow):                             # right border
                    block_1(x, kr, bias, y, n, oy, ox, cb, i_lo, i_hi, max(0, left - ox),
                            min(kw, w + left - ox), top, left, relu)
    return rows


def _make_first_layer(P, COB, C_IN):
    """3 x 3, C_IN input channels, on a zero-padded copy xp (N, Hp, Wp * C_IN)."""

    def make_block(p_count):
        size = p_count * COB                              # a constant of the closure

        @inline
        def block(xp, kf, bias, y, n, oy, ox0, cb, relu):
            acc = numba.carray(stack_buffer(size, xp.dtype), (p_count, COB))
            f0 = cb * COB
            for p in range(p_count):
                for f in range(COB):
                    acc[p, f] = bias[f0 + f]
            for i in range(3):
                row = xp[n, oy + i]
                for j in range(3):
                    for c in range(C_IN):
                        weights = kf[cb, (i * 3 + j) * C_IN + c]         # (COB,)
                        for p in range(p_count):
                            value = row[(ox0 + p + j) * C_IN + c]
                            for f in range(COB):
                                acc[p, f] += value * weights[f]
            y_row = y[n, oy]
            for p in range(p_count):
                for f in range(COB):
                    v = acc[p, f]
                    if relu and v < 0:
                        v = v - v
                    y_row[ox0 + p, f0 + f] = v
        return block

    block_p, block_1 = make_block(P), make_block(1)

    @kernel(parallel=True)
    def first_layer(xp, kf, bias, y, relu):
        n_images, oh, ow = y.shape[0], y.shape[1], y.shape[2]
        n_full = ow // P
        for r in prange(n_images * oh):
            n = r // oh
            oy = r - n * oh
            for cb in range(kf.shape[0]):
                for b in range(n_full):
                    block_p(xp, kf, bias, y, n, oy, b * P, cb, relu)
                if n_full > 0 and ow % P != 0:
                    block_p(xp, kf, bias, y, n, oy, ow - P, cb, relu)
                elif n_full == 0:
                    for ox in range(ow):
                        block_1(xp, kf, bias, y, n, oy, ox, cb, relu)
    return first_layer


_KERNELS = {}          # compiled kernels, by (kind, P, COB[, C_in])


def _compiled(key, make):
    if key not in _KERNELS:
        _KERNELS[key] = make()
    return _KERNELS[key]


# ----------------------------------------------------------------- entries
def _reordered(kernel_array, cob):
    """Keras (kh, kw, C_in, C_out) -> (C_out / COB, kh, kw, C_in, COB), zero-padded."""
    kh, kw, c_in, c_out = kernel_array.shape
    n_cb = -(-c_out // cob)
    padded = np.zeros((kh, kw, c_in, n_cb * cob), kernel_array.dtype)
    padded[..., :c_out] = kernel_array
    return np.ascontiguousarray(padded.reshape(kh, kw, c_in, n_cb, cob).transpose(3, 0, 1, 2, 4))


def convolve(x, kernel_array, bias, geom, relu):
    """act(conv(x, K) + b) for C-contiguous x (N, H, W, C_in) and K of x's dtype."""
    kh, kw, c_in, c_out = kernel_array.shape
    P, COB = (12, 32) if c_out % 32 == 0 else (14, 16)
    kr = _reordered(kernel_array, COB)
    channels = kr.shape[0] * COB
    b = np.zeros(channels, x.dtype)
    if bias is not None:
        b[:c_out] = bias
    y = np.empty((x.shape[0], *geom.out_hw, channels), x.dtype)
    (top, bottom), (left, right) = geom.pads
    if c_in <= SMALL_C_IN and (kh, kw) == (3, 3):
        P = 8
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        first = _compiled(("first", P, COB, c_in), lambda: _make_first_layer(P, COB, c_in))
        first(xp.reshape(xp.shape[0], xp.shape[1], -1),
              np.ascontiguousarray(kr.reshape(kr.shape[0], -1, COB)), b, y, bool(relu))
    else:
        _compiled(("rows", P, COB), lambda: _make_rows(P, COB))(
            x, kr, b, y, top, left, bool(relu))
    return y if channels == c_out else np.ascontiguousarray(y[..., :c_out])


def conv2d_forward(x, kernel_array, bias, geom):
    """Twin of ``functional.conv.conv2d_forward`` (stride 1, no dilation)."""
    x, kernel_array, bias_cast = conv.common_inputs(x, kernel_array, bias)
    y = convolve(x, kernel_array, bias_cast, geom, relu=False)
    return y, (x, kernel_array, bias is not None, geom)


def conv2d_relu_forward(x, kernel_array, bias, geom):
    """Twin of ``functional.conv.conv2d_relu_forward``: the ReLU applied as the
    sums are stored. Its cache keeps y for the ReLU's backward (y > 0 exactly
    where z > 0)."""
    x, kernel_array, bias_cast = conv.common_inputs(x, kernel_array, bias)
    y = convolve(x, kernel_array, bias_cast, geom, relu=True)
    return y, ((x, kernel_array, bias is not None, geom), (y, None, 0.0, 0.0))


conv2d_backward = conv.conv2d_backward
conv2d_relu_backward = conv.conv2d_relu_backward
