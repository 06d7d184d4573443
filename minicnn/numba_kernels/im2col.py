"""The compiled loops behind ``numba_kernels.conv``: im2col and col2im.

Shapes follow ``minicnn.functional.im2col``: an output row r = n * OH + oy,
a column matrix row per output pixel with columns ordered (i, j, c) like a
Keras kernel (kh, kw, C_in, C_out) reshaped to (kh * kw * C_in, C_out).

- ``im2col_rows`` fills the column matrix for a range of output rows,
  reading the unpadded input (zeros outside the image).
- ``col2im_images`` is its adjoint written as a gather over whole images.
"""
from numba import njit, prange


@njit(parallel=True, cache=True)
def im2col_rows(x, cols, r0, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow):
    """Receptive fields of output rows r0, r0+1, ... (r = n*OH + oy) into cols.

    x is the input viewed as (N, H, W*C), so that one kernel row's kw pixels
    are kw*C consecutive numbers whenever the dilation is 1 and the window is
    inside the image: they are copied as one run. cols has kh*kw*C columns,
    ordered (i, j, c) like a Keras kernel, plus optionally one last column of
    ones; entries outside the image are 0.
    """
    h, w = x.shape[1], x.shape[2] // c
    run = kw * c                                     # one kernel row, (j, c)
    kk = kh * run
    for rr in prange(cols.shape[0] // ow):
        n = (r0 + rr) // oh
        oy = r0 + rr - n * oh
        for i in range(kh):
            iy = oy * sh + i * dh - top
            for ox in range(ow):
                dst = cols[rr * ow + ox, i * run:(i + 1) * run]
                if iy < 0 or iy >= h:
                    dst[:] = 0
                    continue
                src = x[n, iy]                       # (W*C,)
                ix0 = ox * sw - left
                if dw == 1 and ix0 >= 0 and ix0 + kw <= w:
                    dst[:] = src[ix0 * c:(ix0 + kw) * c]
                    continue
                for j in range(kw):
                    ix = ix0 + j * dw
                    if 0 <= ix < w:
                        dst[j * c:(j + 1) * c] = src[ix * c:(ix + 1) * c]
                    else:
                        dst[j * c:(j + 1) * c] = 0
        if cols.shape[1] > kk:
            for ox in range(ow):
                cols[rr * ow + ox, kk] = 1


@njit(parallel=True, cache=True)
def col2im_images(dcols, dx, bias, n0, kh, kw, sh, sw, dh, dw, top, left, oh, ow):
    """Gather dcols (rows, kh*kw*C) back into images n0, n0+1, ... of dx (N, H, W, C).

    Each pixel starts from bias (C,) (or 0 when bias is empty) and adds every
    column entry its receptive fields produced. One thread owns one row y of
    dx: kernel row i reaches it from output row oy = (y + top - i*d_h) / s_h
    when that is a whole number in range, and then kernel column j of output
    pixel ox lands on x = ox*s_w - left + j*d_w. Walking (i, j, ox) rather
    than testing every x against every (i, j) keeps divisions out of the
    inner loops.
    """
    h, w, c = dx.shape[1], dx.shape[2], dx.shape[3]
    has_bias = bias.shape[0] > 0
    for r in prange(dcols.shape[0] // (oh * ow) * h):   # r = b*H + y
        b = r // h
        y = r - b * h
        row = dx[n0 + b, y]                              # (W, C)
        for x in range(w):
            if has_bias:
                row[x] = bias
            else:
                row[x] = 0
        for i in range(kh):
            t = y + top - i * dh                         # = oy * sh if row y is hit
            if t < 0:
                break
            oy = t // sh
            if oy * sh != t or oy >= oh:
                continue
            for j in range(kw):
                base = (i * kw + j) * c
                for ox in range(ow):
                    x = ox * sw - left + j * dw
                    if 0 <= x < w:
                        src = dcols[(b * oh + oy) * ow + ox]
                        for ch in range(c):
                            row[x, ch] += src[base + ch]
