"""Numba convolution: the same three primitives, with the copies compiled.

The NumPy backend (``minicnn.functional.conv``) builds the whole im2col
matrix with kh * kw strided slice copies, multiplies it, and lets col2im add
slices back. This backend keeps the same algebra and changes how the data
move:

- **im2col** is one compiled loop that reads the *unpadded* input and writes
  zeros where a receptive field hangs over the border, so no padded copy of
  the input is ever made. Rows are filled in parallel; with dilation 1 a
  kernel row's kw pixels are kw * C consecutive numbers, copied as one run.
- **Chunks.** The output rows are processed a few at a time, so the column
  matrix stays around CHUNK_BYTES and is still in the cache when the GEMM
  reads it, instead of the hundreds of MB a whole batch needs; its buffer is
  reused from call to call (``_workspace.scratch``).
- **The bias rides in the GEMM.** The column matrix gets one extra column of
  ones and the kernel matrix one extra row holding the bias, so

      [cols | 1] @ [K ; b] = cols @ K + b          (forward, bias added free)
      [cols | 1]^T @ dY    = [dK ; db]             (backward, db free)

- **Input gradient, stride 1**: a convolution again. Since
  dx[n, y, x, c] = sum_{i, j, f} dy[n, y + top - i*d_h, x + left - j*d_w, f]
  * K[i, j, c, f], dx is dy convolved with the kernel flipped in space and
  with its channel axes swapped, padded by (k - 1) * d - pad on each side
  (``_flipped``). It reuses the chunked im2col + GEMM above: no scatter.
  In a backward pass, that column matrix of dy also gives the weight
  gradient (cols^T @ x is dK with the kernel flipped), so dy is gathered
  once for both gradients and x is not gathered again.
- **Input gradient, strides > 1** (and transpose convolutions): GEMM to the
  column matrix dcols = dY @ K^T, then col2im written as a *gather*: each
  input pixel sums the entries of dcols that came from it,

      dx[n, y, x, c] = sum over (i, j) with  y + top - i*d_h = oy*s_h,
                                             x + left - j*d_w = ox*s_w
                       of dcols[(n, oy, ox), (i, j, c)]

  so every output element is written by exactly one thread (a scatter would
  need atomics or np.add.at). These chunks are whole images.
- **1 x 1 convolutions** (stride 1, no padding) skip im2col: the input is its
  own column matrix.

Multiplications stay in BLAS (``np.matmul`` into preallocated outputs): a
GEMM written in Numba compiles to scalar code and is several times slower.

Every public function takes and returns what its namesake in
``minicnn.functional.conv`` does, including the cache, so a forward pass on
one backend can be differentiated on the other.
"""
import numpy as np

from ..functional.activations import relu_cache_of_output
from ..functional.conv import ConvCache, ConvGeometry, ConvReluCache
from ._workspace import ones, scratch
from .activations import relu_backward, relu_forward
from .im2col import col2im_images, im2col_rows

# Target size of one chunk of the column matrix: a few MB keeps it in the
# cache between the im2col that writes it and the GEMM that reads it.
CHUNK_BYTES = 4 << 20


def _common(*arrays):
    """The arrays as C-contiguous arrays of one float dtype."""
    dtype = np.result_type(*arrays)
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]


def common_inputs(x, kernel, bias):
    """x and kernel in their common dtype, and the bias cast to it (as the
    NumPy kernel's in-place ``y += bias`` does)."""
    x, kernel = _common(x, kernel)
    return x, kernel, None if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)


def _is_pointwise(kernel_hw, geom):
    """A 1 x 1, stride-1, unpadded convolution: im2col is the identity."""
    return (tuple(kernel_hw) == (1, 1) and geom.strides == (1, 1)
            and geom.pads == ((0, 0), (0, 0)))


def _row_chunks(total_rows, ow, width, itemsize):
    """(first, count) of output rows per chunk, about CHUNK_BYTES of columns each."""
    step = max(1, CHUNK_BYTES // max(ow * width * itemsize, 1))
    return [(r0, min(step, total_rows - r0)) for r0 in range(0, total_rows, step)]


def _image_chunks(n, rows_per_image, width, itemsize):
    """(first, count) of images per chunk, at least one image each."""
    step = max(1, min(n, CHUNK_BYTES // max(rows_per_image * width * itemsize, 1)))
    return [(n0, min(step, n - n0)) for n0 in range(0, n, step)]


def _loop_args(geom):
    """kh, kw, sh, sw, dh, dw, top, left: the geometry as the loops take it."""
    (top, _), (left, _) = geom.pads
    return (*geom.kernel_hw, *geom.strides, *geom.dilation, top, left)


def _or_empty(bias, dtype):
    """The bias, or an empty array meaning 'no bias' to the compiled loops."""
    return np.empty(0, dtype=dtype) if bias is None else bias


def _im2col_chunk(x, cols, r0, geom):
    n, h, w, c = x.shape
    im2col_rows(x.reshape(n, h, w * c), cols, r0, c, *_loop_args(geom), *geom.out_hw)


def _flipped(kernel, geom):
    """For stride 1: dx = conv(dy, flipped kernel) with the complementary padding.

    dx[n, y, x, c] = sum_{i, j, f} dy[n, y + top - i*d_h, x + left - j*d_w, f]
                                   * K[i, j, c, f]
    is a correlation of dy with K'[i', j', f, c] = K[kh-1-i', kw-1-j', c, f],
    padded by (kh-1)*d_h - top above (and likewise on the other sides); it
    maps (OH, OW) back to (H, W). Returns (K', its ConvGeometry).
    """
    kh, kw = geom.kernel_hw
    (top, bottom), (left, right) = geom.pads
    (dh, dw) = geom.dilation
    span_h, span_w = (kh - 1) * dh, (kw - 1) * dw
    flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    pads = ((span_h - top, span_h - bottom), (span_w - left, span_w - right))
    return flipped, ConvGeometry(geom.out_hw, geom.kernel_hw, (1, 1), geom.dilation,
                                 pads, geom.in_hw)


# ------------------------------------------------------------ three primitives
def conv2d(x, kernel, geom, bias=None):
    """A x (+ bias): x (N, H, W, C_in), kernel (kh, kw, C_in, C_out) -> (N, OH, OW, C_out)."""
    n, c_in = x.shape[0], x.shape[3]
    kh, kw, _, c_out = kernel.shape
    oh, ow = geom.out_hw
    y = np.empty((n, oh, ow, c_out), dtype=x.dtype)
    y_rows = y.reshape(n * oh * ow, c_out)                     # (N*OH*OW, C_out)
    weights = kernel.reshape(kh * kw * c_in, c_out)            # (kh*kw*C_in, C_out)
    if _is_pointwise((kh, kw), geom):
        np.matmul(x.reshape(n * oh * ow, c_in), weights, out=y_rows)
        if bias is not None:
            y_rows += bias
        return y
    if bias is not None:
        weights = np.concatenate([weights, bias[None, :]])   # (kh*kw*C_in + 1, C_out)
    width = weights.shape[0]
    for r0, count in _row_chunks(n * oh, ow, width, x.itemsize):
        cols = scratch("cols", (count * ow, width), x.dtype)
        _im2col_chunk(x, cols, r0, geom)
        np.matmul(cols, weights, out=y_rows[r0 * ow:(r0 + count) * ow])
    return y


def conv2d_input_grad(dy, kernel, geom, bias=None):
    """A^T dy (+ bias): dy (N, OH, OW, C_out) -> (N, H, W, C_in)."""
    n = dy.shape[0]
    kh, kw, c_in, c_out = kernel.shape
    oh, ow = geom.out_hw
    h, w = geom.in_hw
    pointwise = _is_pointwise((kh, kw), geom)
    if geom.strides == (1, 1) and not pointwise:
        return conv2d(dy, *_flipped(kernel, geom), bias)
    dx = np.empty((n, h, w, c_in), dtype=dy.dtype)
    dy_rows = dy.reshape(n * oh * ow, c_out)                   # (N*OH*OW, C_out)
    weights_t = kernel.reshape(kh * kw * c_in, c_out).T        # (C_out, kh*kw*C_in)
    if pointwise:
        np.matmul(dy_rows, weights_t, out=dx.reshape(n * h * w, c_in))
        if bias is not None:
            dx += bias
        return dx
    bias = _or_empty(bias, dy.dtype)
    for n0, nb in _image_chunks(n, oh * ow, kh * kw * c_in, dy.itemsize):
        dcols = scratch("cols", (nb * oh * ow, kh * kw * c_in), dy.dtype)
        np.matmul(dy_rows[n0 * oh * ow:(n0 + nb) * oh * ow], weights_t, out=dcols)
        col2im_images(dcols, dx, bias, n0, *_loop_args(geom), oh, ow)
    return dx


def conv2d_weight_bias_grad(x, dy, kernel_shape, geom, with_bias=False):
    """(dkernel (kh, kw, C_in, C_out), dbias (C_out,) or None) of A x + b."""
    n, c_in = x.shape[0], x.shape[3]
    kh, kw, _, c_out = kernel_shape
    oh, ow = geom.out_hw
    kk = kh * kw * c_in
    dy_rows = dy.reshape(n * oh * ow, c_out)                   # (N*OH*OW, C_out)
    if _is_pointwise((kh, kw), geom):
        dk = x.reshape(n * oh * ow, c_in).T @ dy_rows          # (C_in, C_out)
        db = _bias_grad(dy) if with_bias else None
        return dk.reshape(kernel_shape), db
    width = kk + 1 if with_bias else kk
    grad = np.zeros((width, c_out), dtype=x.dtype)             # [dK ; db]
    part = scratch("wgrad", (width, c_out), x.dtype)
    for r0, count in _row_chunks(n * oh, ow, width, x.itemsize):
        cols = scratch("cols", (count * ow, width), x.dtype)
        _im2col_chunk(x, cols, r0, geom)
        np.matmul(cols.T, dy_rows[r0 * ow:(r0 + count) * ow], out=part)
        grad += part
    db = grad[kk].copy() if with_bias else None
    return grad[:kk].reshape(kernel_shape), db


# -------------------------------------------------------------------- Conv2D
def conv2d_forward(x, kernel, bias, geom):
    """Numba twin of ``functional.conv.conv2d_forward``: (y, cache)."""
    x, kernel, bias_cast = common_inputs(x, kernel, bias)
    y = conv2d(x, kernel, geom, bias_cast)
    return y, ConvCache(x, kernel, bias is not None, geom)


def conv2d_backward(dy, cache):
    """Numba twin of ``functional.conv.conv2d_backward``: (dx, dkernel, dbias).

    With stride 1, dx is a convolution of dy with the flipped kernel
    (``_flipped``), and the same column matrix of dy also gives the weight
    gradient, so dy is gathered once for both instead of gathering x again:

        cols = im2col(dy) with the flipped geometry,  cols[p, (i', j', f)]
             = dy[p - offset(i, j), f]  with  i' = kh-1-i,  j' = kw-1-j
        dx   = cols @ K'          (K' the flipped kernel as a matrix)
        cols^T @ x  [(i', j', f), c] = sum_p dy[p - offset(i, j), f] x[p, c]
                                     = dK[i, j, c, f]
    """
    x, kernel, has_bias, geom = cache                         # a ConvCache
    dy, x, kernel = _common(dy, x, kernel)
    kh, kw, c_in, c_out = kernel.shape
    if geom.strides == (1, 1) and not _is_pointwise((kh, kw), geom):
        flipped, flipped_geom = _flipped(kernel, geom)
        dx, grad = _both_gradients(dy, x, flipped.reshape(kh * kw * c_out, c_in),
                                   flipped_geom)
        flipped_grad = grad.reshape(kh, kw, c_out, c_in)           # (i', j', f, c)
        dkernel = np.ascontiguousarray(flipped_grad[::-1, ::-1].transpose(0, 1, 3, 2))
        return dx, dkernel, _bias_grad(dy) if has_bias else None
    dx = conv2d_input_grad(dy, kernel, geom)
    dkernel, dbias = conv2d_weight_bias_grad(x, dy, kernel.shape, geom, has_bias)
    return dx, dkernel, dbias


def conv2d_relu_forward(x, kernel, bias, geom):
    """Numba twin of ``functional.conv.conv2d_relu_forward``: the convolution,
    then the ReLU in one compiled pass."""
    z, conv_cache = conv2d_forward(x, kernel, bias, geom)
    y, _ = relu_forward(z)
    return y, ConvReluCache(conv_cache, relu_cache_of_output(y))


def conv2d_relu_backward(dy, cache):
    """Numba twin of ``functional.conv.conv2d_relu_backward``."""
    return conv2d_backward(relu_backward(dy, cache.relu), cache.conv)


# ----------------------------------------------------------- Conv2DTranspose
def conv2d_transpose_forward(x, kernel, bias, geom):
    """Numba twin of ``functional.conv.conv2d_transpose_forward``: (y, cache)."""
    x, kernel, bias_cast = common_inputs(x, kernel, bias)
    y = conv2d_input_grad(x, kernel, geom, bias_cast)
    return y, ConvCache(x, kernel, bias is not None, geom)


def conv2d_transpose_backward(dy, cache):
    """Numba twin of ``functional.conv.conv2d_transpose_backward``.

    The transpose convolution is dy -> A^T dy; its adjoint A is a plain
    convolution, so both gradients come from cols = im2col(dy):
    dx = cols @ K (that is, A dy) and dK = cols^T @ x.
    """
    x, kernel, has_bias, geom = cache                         # a ConvCache
    dy, x, kernel = _common(dy, x, kernel)
    kh, kw, c_out, c_in = kernel.shape
    dx, grad = _both_gradients(dy, x, kernel.reshape(kh * kw * c_out, c_in), geom)
    return dx, grad.reshape(kernel.shape), _bias_grad(dy) if has_bias else None


# ------------------------------------------------------------------ shared
def _both_gradients(dy, x, weights, geom):
    """(cols @ weights, cols^T @ x) with cols = im2col(dy), built chunk by chunk.

    dy (N, OH, OW, F) is gathered with `geom`, whose output grid is x's
    (N, H, W, C); weights is (kh*kw*F, C). Each chunk of cols serves both
    products while it is in the cache.
    """
    n, (h, w), c = x.shape[0], geom.out_hw, x.shape[3]
    kk = weights.shape[0]
    x_rows = x.reshape(n * h * w, c)                           # (N*H*W, C)
    dx = np.empty_like(x)
    dx_rows = dx.reshape(n * h * w, c)
    grad = np.zeros((kk, c), dtype=x.dtype)
    part = scratch("wgrad", (kk, c), x.dtype)
    for r0, count in _row_chunks(n * h, w, kk, x.itemsize):
        cols = scratch("cols", (count * w, kk), x.dtype)
        _im2col_chunk(dy, cols, r0, geom)
        rows = slice(r0 * w, (r0 + count) * w)
        np.matmul(cols, weights, out=dx_rows[rows])
        np.matmul(cols.T, x_rows[rows], out=part)
        grad += part
    return dx, grad


def _bias_grad(dy):
    """sum of dy over every pixel of every image: (C,)."""
    dy_rows = dy.reshape(-1, dy.shape[3])                      # (N*OH*OW, C)
    return ones(dy_rows.shape[0], dy.dtype) @ dy_rows
