"""What is timed: the same ops and the same U-Net in minicnn and in PyTorch.

Every case is a zero-argument callable whose inputs were made beforehand, so
only the computation is timed. minicnn data are NHWC, PyTorch's NCHW (its
default layout); shapes below are written NHWC. float32 throughout.

Ops (the U-Net's building blocks at the sizes it uses them, batch 8):

- 3x3 'same' convolution, forward, input gradient and weight gradient,
  one row each, at every level of the U-Net. Their GF/s is compared with
  numpy's matmul on the GEMM each one is: (M, K) @ (K, N) with
  M = N*H*W pixels, K = 9*C_in, N = C_out (and its two transposes).
- 2x2 max pooling, 2x nearest upsampling, the 1x1 classifier convolution,
  the 2x2 stride-2 transpose convolution (forward; backward = every gradient),
  ReLU, and sparse softmax cross-entropy (forward + backward).

The U-Net: depth 4 (filters 16, 32, 64, 128, bottleneck 256), two 3x3 conv +
ReLU per level, 2x2 max pooling, 2x2 stride-2 transpose-conv upsampling,
skips concatenated after the upsampled tensor, a 1x1 conv to 4 classes,
softmax cross-entropy on integer labels, Adam; batch 8 of 128x128x1. A
training step is minicnn's ``model.train_on_batch`` and PyTorch's
zero_grad / forward / loss / backward / step; the forward pass is minicnn's
``predict_on_batch`` and PyTorch's forward under ``torch.no_grad()``.
"""
import numpy as np

BATCH = 8
IMAGE = 128
CLASSES = 4
FILTERS = (16, 32, 64, 128)
BOTTLENECK = 256

# 3x3 convolutions: (H = W, C_in, C_out), one per U-Net level.
CONV3 = [(128, 16, 16), (64, 32, 32), (32, 64, 64), (16, 128, 128), (8, 256, 256)]
CONV3_KINDS = ("forward", "input grad", "weight grad")


def conv3_name(size, c_in, c_out, kind):
    return f"conv3x3 {kind} {size}x{size}x{c_in}->{c_out}"


def conv3_gemm(size, c_in, c_out):
    """(M, K, N) of the convolution's GEMM."""
    return BATCH * size * size, 9 * c_in, c_out


def conv3_flops(size, c_in, c_out):
    m, k, n = conv3_gemm(size, c_in, c_out)
    return 2 * m * k * n


OPS = (
    [(conv3_name(s, ci, co, kind), f"{BATCH}x{s}x{s}x{ci} -> {co}")
     for s, ci, co in CONV3 for kind in CONV3_KINDS]
    + [("max pool 2x2 forward", "8x128x128x16"),
       ("max pool 2x2 backward", "8x128x128x16"),
       ("upsample nearest 2x forward", "8x64x64x32"),
       ("upsample nearest 2x backward", "8x64x64x32"),
       ("conv1x1 forward", "8x128x128x16 -> 4"),
       ("conv1x1 backward", "8x128x128x16 -> 4"),
       ("transpose conv 2x2/2 forward", "8x64x64x32 -> 16"),
       ("transpose conv 2x2/2 backward", "8x64x64x32 -> 16"),
       ("relu forward", "8x128x128x16"),
       ("relu backward", "8x128x128x16"),
       ("softmax cross-entropy fwd+bwd", "8x128x128x4")])

UNET = [("U-Net training step", "8x128x128x1, depth 4"),
        ("U-Net forward", "8x128x128x1, depth 4")]


def _rng():
    return np.random.default_rng(0)


def _normal(rng, shape):
    return rng.standard_normal(shape, dtype=np.float32)


# ------------------------------------------------------------------ minicnn
def minicnn_ops(backend_name):
    """{op name: callable} running the kernels minicnn's layers use on `backend_name`.

    Each op runs the pair the backend table chooses for it (as a layer would);
    the convolutions' input and weight gradients time that backend's primitives.
    """
    import minicnn
    from minicnn import backend
    from minicnn.functional import conv, pooling
    minicnn.set_backend(backend_name)
    if backend_name == "numba":
        from minicnn.numba_kernels import conv as fast

        def input_grad(dy, k, g):
            return fast.conv2d_input_grad(dy, k, g)

        def weight_grad(x, dy, k, g):
            return fast.conv2d_weight_bias_grad(x, dy, k.shape, g)
    else:
        def input_grad(dy, k, g):
            return conv.conv2d_input_grad(dy, k, g)

        def weight_grad(x, dy, k, g):
            return conv.conv2d_weight_grad(x, dy, k.shape, g)
    rng = _rng()
    cases = {}
    for s, ci, co in CONV3:
        x = _normal(rng, (BATCH, s, s, ci))
        k = _normal(rng, (3, 3, ci, co)) * 0.1
        b = _normal(rng, (co,))
        dy = _normal(rng, (BATCH, s, s, co))
        geom = conv.conv_geometry((s, s), (3, 3), (1, 1), (1, 1), "same")
        pair = backend.choose("conv2d", x, k, b, geom)
        cases[conv3_name(s, ci, co, "forward")] = (
            lambda x=x, k=k, b=b, g=geom, p=pair: p.forward(x, k, b, g))
        cases[conv3_name(s, ci, co, "input grad")] = (
            lambda dy=dy, k=k, g=geom: input_grad(dy, k, g))
        cases[conv3_name(s, ci, co, "weight grad")] = (
            lambda x=x, dy=dy, k=k, g=geom: weight_grad(x, dy, k, g))

    x = _normal(rng, (BATCH, 128, 128, 16))
    pool_geom = pooling.pool_geometry((128, 128), (2, 2))
    pool = backend.choose("max_pool2d", x, pool_geom)
    y, pool_cache = pool.forward(x, pool_geom)
    dpool = _normal(rng, y.shape)
    cases["max pool 2x2 forward"] = lambda: pool.forward(x, pool_geom)
    cases["max pool 2x2 backward"] = lambda: pool.backward(dpool, pool_cache)

    small = _normal(rng, (BATCH, 64, 64, 32))
    upsample = backend.choose("upsample_nearest2d", small, (2, 2))
    up, up_cache = upsample.forward(small, (2, 2))
    dup = _normal(rng, up.shape)
    cases["upsample nearest 2x forward"] = lambda: upsample.forward(small, (2, 2))
    cases["upsample nearest 2x backward"] = lambda: upsample.backward(dup, up_cache)

    k1, b1 = _normal(rng, (1, 1, 16, CLASSES)), _normal(rng, (CLASSES,))
    geom1 = conv.conv_geometry((128, 128), (1, 1), (1, 1), (1, 1), "valid")
    pointwise = backend.choose("conv2d", x, k1, b1, geom1)
    z, c1 = pointwise.forward(x, k1, b1, geom1)
    dz = _normal(rng, z.shape)
    cases["conv1x1 forward"] = lambda: pointwise.forward(x, k1, b1, geom1)
    cases["conv1x1 backward"] = lambda: pointwise.backward(dz, c1)

    kt, bt = _normal(rng, (2, 2, 16, 32)) * 0.1, _normal(rng, (16,))
    geom_t = conv.transpose_geometry((64, 64), (2, 2), (2, 2), (1, 1), "same", None)
    transpose = backend.choose("conv2d_transpose", small, kt, bt, geom_t)
    t, ct = transpose.forward(small, kt, bt, geom_t)
    dt = _normal(rng, t.shape)
    cases["transpose conv 2x2/2 forward"] = lambda: transpose.forward(small, kt, bt, geom_t)
    cases["transpose conv 2x2/2 backward"] = lambda: transpose.backward(dt, ct)

    relu = backend.choose("relu", x)
    _, relu_cache = relu.forward(x)
    drelu = _normal(rng, x.shape)
    cases["relu forward"] = lambda: relu.forward(x)
    cases["relu backward"] = lambda: relu.backward(drelu, relu_cache)

    logits = _normal(rng, (BATCH, 128, 128, CLASSES))
    labels = rng.integers(0, CLASSES, (BATCH, 128, 128))
    xent = backend.choose("sparse_categorical_crossentropy", labels, logits, True)

    def cross_entropy():
        _, cache = xent.forward(labels, logits, True)
        return xent.backward(1.0, cache)
    cases["softmax cross-entropy fwd+bwd"] = cross_entropy
    return cases


def matmul_ops():
    """{(conv op name): callable} timing numpy's matmul on each conv's GEMM."""
    rng = _rng()
    cases = {}
    for s, ci, co in CONV3:
        m, k, n = conv3_gemm(s, ci, co)
        a, w, d = _normal(rng, (m, k)), _normal(rng, (k, n)), _normal(rng, (m, n))
        out_mn, out_mk, out_kn = (np.empty((m, n), np.float32), np.empty((m, k), np.float32),
                                  np.empty((k, n), np.float32))
        cases[conv3_name(s, ci, co, "forward")] = (
            lambda a=a, w=w, o=out_mn: np.matmul(a, w, out=o))
        cases[conv3_name(s, ci, co, "input grad")] = (
            lambda d=d, w=w, o=out_mk: np.matmul(d, w.T, out=o))
        cases[conv3_name(s, ci, co, "weight grad")] = (
            lambda a=a, d=d, o=out_kn: np.matmul(a.T, d, out=o))
    return cases


def minicnn_unet(backend_name):
    """{'U-Net training step': ..., 'U-Net forward': ...} for minicnn."""
    import minicnn
    from minicnn import losses, optimizers
    from minicnn.models.builders import unet
    minicnn.set_backend(backend_name)
    minicnn.set_random_seed(0)
    model = unet((IMAGE, IMAGE, 1), CLASSES, filters=FILTERS, bottleneck=BOTTLENECK,
                 upsampling="transpose", input_batchnorm=False, final_activation=None)
    model.compile(optimizer=optimizers.Adam(1e-3),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = _rng()
    x = rng.random((BATCH, IMAGE, IMAGE, 1), dtype=np.float32)
    y = rng.integers(0, CLASSES, (BATCH, IMAGE, IMAGE))
    return {"U-Net training step": lambda: model.train_on_batch(x, y),
            "U-Net forward": lambda: model.predict_on_batch(x)}
