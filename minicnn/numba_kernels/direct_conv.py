"""A direct convolution, register-blocked, for the layers with few channels.

    y[n, oy, ox, f] = act(b[f] + sum_{i, j, c} x[n, oy + i - top, ox + j - left, c]
                                                * K[i, j, c, f])

for stride 1 and dilation 1, x = 0 outside the image, act the identity or
ReLU. No column matrix: each block of outputs is summed in registers.

Where it runs is decided in one place, the backend table
(``minicnn.backend.DIRECT_CONV_SCOPE`` and ``direct_conv_applies``): stride 1,
no dilation, C_out <= 64, and C_in <= 4 unless the CPU has AVX-512.

Why (measured in a training step of the course's U-Net, docs/performance.md)
--------------------------------------------------------------------------
im2col + GEMM (``numba_kernels.conv``) writes kh * kw copies of the input and
then multiplies a (pixels, 9 C_in) matrix by a (9 C_in, C_out) one. With
C_out = 16 to 64 that product has too few columns for BLAS to run near its
speed, and the copy costs as much as the product.

The register block (``_block``, the one body every kernel here runs)
--------------------------------------------------------------------
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

Two loops over the output rows call it:

- ``_rows_kernel``: x as it is, no padded copy. Blocks whose taps all fall
  inside the image run whole; at the borders the taps outside are skipped.
- ``_padded_kernel``, for first layers (C_in <= 4, 3 x 3): x is copied with
  its zero padding (cheap with so few channels), so every tap is inside, and
  the kernel size and C_in are compile-time constants: all 9 * C_in taps
  unroll, which the short channel loop of a first layer needs.

Compiling once per machine
--------------------------
P, COB (and the padded kernel's taps) must be compile-time constants, so
each combination is its own kernel, made by a factory whose closure holds
only those integers. Numba's on-disk cache keys a closure by its captured
values: integers are the same in every process, so each kernel of
``ROWS`` and ``PADDED`` compiles once per machine and loads from the cache
after that. (A closure that captured another compiled function would
compile again in every process: a dispatcher pickles differently each time.)

Threads own output rows (n, oy): each output is written by one thread in
one summation order (i, j, c ascending), so results do not depend on the
thread count.

The backward pass is the im2col one's (``numba_kernels.conv``): the cache is
the same ``ConvCache``, and there this kernel measured no faster.
"""
import numba
import numpy as np
from numba import prange

from ..functional.activations import relu_cache_of_output
from ..functional.conv import ConvCache, ConvReluCache
from . import conv
from ._slp import inline, kernel, stack_buffer

SMALL_C_IN = 4            # C_in up to this, 3 x 3: the padded, unrolled kernel


@inline
def _block(x, kr, bias, y, at, taps, pads, relu, shape):
    """Sum one block and store it: y[n, oy, ox0 : ox0 + P, f0 : f0 + COB].

    at    = (n, oy, ox0, cb)   the image, output row, first column, channel block
    taps  = (i_lo, i_hi, j_lo, j_hi, n_c)   the kernel rows and columns to add,
            each over the input channels c < n_c
    pads  = (top, left)        output (oy, ox) reads x[oy + i - top, ox + j - left]
    shape = (P, COB)           the block, compile-time constants
    """
    n, oy, ox0, cb = at
    i_lo, i_hi, j_lo, j_hi, n_c = taps
    top, left = pads
    P, COB = shape
    acc = numba.carray(stack_buffer(shape, x.dtype), shape)     # in registers
    f0 = cb * COB
    for p in range(P):
        for f in range(COB):
            acc[p, f] = bias[f0 + f]
    for i in range(i_lo, i_hi):
        x_row = x[n, oy + i - top]                               # (W, C_in)
        for j in range(j_lo, j_hi):
            k_ij = kr[cb, i, j]                                  # (C_in, COB)
            first = ox0 + j - left
            for c in range(n_c):
                for p in range(P):
                    value = x_row[first + p, c]
                    for f in range(COB):
                        acc[p, f] += value * k_ij[c, f]
    y_row = y[n, oy]
    for p in range(P):
        for f in range(COB):
            v = acc[p, f]
            if relu and v < 0:
                v = v - v                                        # 0, of v's type
            y_row[ox0 + p, f0 + f] = v


def _rows_kernel(P, COB):
    """y = act(conv(x) + b) over unpadded x, in blocks of P pixels x COB channels."""
    wide, single = (P, COB), (1, COB)

    @kernel(parallel=True)
    def rows(x, kr, bias, y, pads, relu):
        n_images, h, w = x.shape[0], x.shape[1], x.shape[2]
        n_cb, kh, kw, n_c = kr.shape[0], kr.shape[1], kr.shape[2], kr.shape[3]
        oh, ow = y.shape[1], y.shape[2]
        top, left = pads
        # Output column ox reads input columns ox - left + j, j in [0, kw):
        # all inside [0, w) when left <= ox < w - kw + 1 + left, the interior
        # [lo, hi) (clamped to the output, empty if the kernel is wider than x).
        lo = min(left, ow)
        hi = max(min(w - kw + 1 + left, ow), lo)
        n_full = (hi - lo) // P
        # A ragged end of the interior: one more block, shifted left to end at
        # hi, recomputes a few pixels (to the same sums) instead.
        shifted = n_full > 0 and (hi - lo) % P != 0
        singles = hi if n_full > 0 else lo       # an interior narrower than P
        for r in prange(n_images * oh):
            n = r // oh
            oy = r - n * oh
            # Output row oy reads input rows oy - top + i: inside [0, h) for
            # i in [top - oy, h + top - oy). The kernel rows outside add zeros,
            # so they are skipped.
            i_lo = max(0, top - oy)
            i_hi = min(kh, h + top - oy)
            inside = (i_lo, i_hi, 0, kw, n_c)
            for cb in range(n_cb):
                for b in range(n_full):
                    _block(x, kr, bias, y, (n, oy, lo + b * P, cb), inside, pads, relu, wide)
                if shifted:
                    _block(x, kr, bias, y, (n, oy, hi - P, cb), inside, pads, relu, wide)
                for ox in range(singles, hi):
                    _block(x, kr, bias, y, (n, oy, ox, cb), inside, pads, relu, single)
                # Border columns, one pixel at a time: only the kernel columns
                # j with ox - left + j in [0, w), that is j in
                # [left - ox, w + left - ox), read inside the image.
                for ox in range(0, lo):
                    clipped = (i_lo, i_hi, max(0, left - ox), min(kw, w + left - ox), n_c)
                    _block(x, kr, bias, y, (n, oy, ox, cb), clipped, pads, relu, single)
                for ox in range(hi, ow):
                    clipped = (i_lo, i_hi, max(0, left - ox), min(kw, w + left - ox), n_c)
                    _block(x, kr, bias, y, (n, oy, ox, cb), clipped, pads, relu, single)
    return rows


def _padded_kernel(P, COB, KH, KW, C_IN):
    """y = act(conv(xp) + b) for xp zero-padded: no tap is ever outside, and
    the KH x KW x C_IN taps are constants."""
    wide, single = (P, COB), (1, COB)
    every_tap, no_pads = (0, KH, 0, KW, C_IN), (0, 0)

    @kernel(parallel=True)
    def padded(xp, kr, bias, y, relu):
        n_images, oh, ow = y.shape[0], y.shape[1], y.shape[2]
        n_full = ow // P
        for r in prange(n_images * oh):
            n = r // oh
            oy = r - n * oh
            for cb in range(kr.shape[0]):
                for b in range(n_full):
                    _block(xp, kr, bias, y, (n, oy, b * P, cb), every_tap, no_pads, relu, wide)
                if n_full > 0 and ow % P != 0:          # the last block shifted left
                    _block(xp, kr, bias, y, (n, oy, ow - P, cb), every_tap, no_pads, relu, wide)
                elif n_full == 0:                       # a row narrower than P
                    for ox in range(ow):
                        _block(xp, kr, bias, y, (n, oy, ox, cb), every_tap, no_pads, relu,
                               single)
    return padded


# Every kernel the entries below can ask for, declared once; each compiles on
# first use for float32 or float64 and is cached on disk. 12 x 32 and 14 x 16
# fill AVX-512's 32 vector registers; 8 pixels for the first layers.
ROWS = {(12, 32): _rows_kernel(12, 32), (14, 16): _rows_kernel(14, 16)}
PADDED = {(cob, c_in): _padded_kernel(8, cob, 3, 3, c_in)
          for cob in (16, 32) for c_in in range(1, SMALL_C_IN + 1)}


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
    cob = 32 if c_out % 32 == 0 else 16
    kr = _reordered(kernel_array, cob)
    channels = kr.shape[0] * cob
    b = np.zeros(channels, x.dtype)
    if bias is not None:
        b[:c_out] = bias
    y = np.empty((x.shape[0], *geom.out_hw, channels), x.dtype)
    (top, bottom), (left, right) = geom.pads
    if c_in <= SMALL_C_IN and (kh, kw) == (3, 3):
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        PADDED[cob, c_in](xp, kr, b, y, bool(relu))
    else:
        ROWS[12 if cob == 32 else 14, cob](x, kr, b, y, (top, left), bool(relu))
    return y if channels == c_out else np.ascontiguousarray(y[..., :c_out])


def conv2d_forward(x, kernel_array, bias, geom):
    """Twin of ``functional.conv.conv2d_forward`` (stride 1, no dilation)."""
    x, kernel_array, bias_cast = conv.common_inputs(x, kernel_array, bias)
    y = convolve(x, kernel_array, bias_cast, geom, relu=False)
    return y, ConvCache(x, kernel_array, bias is not None, geom)


def conv2d_relu_forward(x, kernel_array, bias, geom):
    """Twin of ``functional.conv.conv2d_relu_forward``: the ReLU applied as the
    sums are stored, so z is never stored (the ReLU's cache is made from y)."""
    x, kernel_array, bias_cast = conv.common_inputs(x, kernel_array, bias)
    y = convolve(x, kernel_array, bias_cast, geom, relu=True)
    return y, ConvReluCache(ConvCache(x, kernel_array, bias is not None, geom),
                            relu_cache_of_output(y))


conv2d_backward = conv.conv2d_backward
conv2d_relu_backward = conv.conv2d_relu_backward
