"""The numba backend against the NumPy reference, op by op, and its plumbing.

Every accelerated kernel (``minicnn.numba_kernels.ACCELERATED``) is run on
both backends in float64 and float32: outputs, caches and gradients must
agree to rounding, and a cache made on one backend must give the same
gradients on the other. The convolution cases are test_conv.py's awkward ones
(strides that do not divide, dilation, asymmetric 'same', output_padding),
run once more with tiny chunks so the chunked loops take several rounds.
The gradient checks and Keras parity of the layers run on both backends in
their own files, through the ``backend`` fixture of conftest.py.
"""
import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minicnn
from minicnn import numba_kernels
from minicnn.functional import activations, conv, losses, merging, pooling, upsampling
from minicnn.gradcheck import rel_error
from minicnn.numba_kernels import _workspace
from minicnn.numba_kernels import conv as fast_conv
from test_conv import (CONV_CASES, STRIDED_DILATED_CASES,
                       STRIDED_DILATED_TRANSPOSE_CASES, TRANSPOSE_CASES)

FUNCTIONAL = {"conv": conv, "pooling": pooling, "upsampling": upsampling,
              "activations": activations, "merging": merging, "losses": losses}
DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def on(backend, fn, *args, **kwargs):
    """fn(*args, **kwargs) with `backend` active."""
    previous = minicnn.get_backend()
    minicnn.set_backend(backend)
    try:
        return fn(*args, **kwargs)
    finally:
        minicnn.set_backend(previous)


def assert_close(a, b, dtype):
    """Same dtype and shape; same NaN/inf pattern; finite parts within TOL."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    finite = np.isfinite(a)
    assert np.array_equal(finite, np.isfinite(b))
    assert np.array_equal(a[~finite], b[~finite], equal_nan=True)
    error = rel_error(np.where(finite, a, 0), np.where(finite, b, 0))
    assert error < TOL[dtype], error


def check_pair(forward, backward, args, dout_seed, dtype, **kwargs):
    """Forward and backward on both backends and across them; returns outputs."""
    y_np, cache_np = on("numpy", forward, *args, **kwargs)
    y_nb, cache_nb = on("numba", forward, *args, **kwargs)
    assert_close(y_np, y_nb, dtype)
    dout = np.random.default_rng(dout_seed).standard_normal(np.shape(y_np)).astype(dtype)
    dout_copy = dout.copy()
    reference = on("numpy", backward, dout, cache_np)
    for b, cache in (("numba", cache_nb), ("numba", cache_np), ("numpy", cache_nb)):
        grads = on(b, backward, dout, cache)
        for g, r in zip(reference if isinstance(reference, (list, tuple)) else [reference],
                        grads if isinstance(grads, (list, tuple)) else [grads]):
            if r is None:
                assert g is None
            else:
                assert_close(r, g, dtype)
    assert np.array_equal(dout, dout_copy)            # backward leaves dout alone
    return y_np, y_nb


def _random(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.fixture(params=["default", "tiny"])
def chunks(request, monkeypatch):
    """The default chunk size (the test sizes fit one chunk), or one so small
    that every chunk is one row and the chunked loops take many rounds."""
    if request.param == "tiny":
        monkeypatch.setattr(fast_conv, "CHUNK_BYTES", 64)
    return request.param


# -------------------------------------------------------------- convolutions
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES + STRIDED_DILATED_CASES)
def test_conv2d_agrees(case, dtype, chunks):
    n, h, w, c, f, kernel, strides, padding, dilation = case
    x = _random((n, h, w, c), dtype)
    k = _random((*kernel, c, f), dtype, seed=1)
    for bias in (_random((f,), dtype, seed=2), None):
        check_pair(conv.conv2d_forward, conv.conv2d_backward,
                   (x, k, bias, strides, padding, dilation), 3, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TRANSPOSE_CASES + STRIDED_DILATED_TRANSPOSE_CASES)
def test_conv2d_transpose_agrees(case, dtype, chunks):
    n, h, w, c, f, kernel, strides, padding, dilation, op = case
    x = _random((n, h, w, c), dtype)
    k = _random((*kernel, f, c), dtype, seed=1)
    for bias in (_random((f,), dtype, seed=2), None):
        check_pair(conv.conv2d_transpose_forward, conv.conv2d_transpose_backward,
                   (x, k, bias, strides, padding, dilation, op), 3, dtype)


@pytest.mark.parametrize("dtypes", [(np.float32, np.float64, None),
                                    (np.float32, np.float32, np.float64)])
def test_conv2d_mixed_dtypes_give_numpys_dtype(dtypes):
    x = _random((2, 5, 6, 3), dtypes[0])
    k = _random((3, 3, 3, 2), dtypes[1])
    bias = None if dtypes[2] is None else _random((2,), dtypes[2])
    y_np, _ = on("numpy", conv.conv2d_forward, x, k, bias, (1, 1), "same", (1, 1))
    y_nb, _ = on("numba", conv.conv2d_forward, x, k, bias, (1, 1), "same", (1, 1))
    assert y_nb.dtype == y_np.dtype
    assert rel_error(y_np, y_nb) < 1e-6


def test_conv_scratch_buffer_is_reused():
    x, k = _random((2, 9, 8, 6), np.float32), _random((3, 3, 6, 4), np.float32)
    _workspace.release()
    on("numba", conv.conv2d_forward, x, k, None, (1, 1), "same", (1, 1))
    first = _workspace.scratch("cols", (1,), np.float32).base
    on("numba", conv.conv2d_forward, x, k, None, (1, 1), "same", (1, 1))
    assert _workspace.scratch("cols", (1,), np.float32).base is first
    bigger = _random((2, 19, 18, 6), np.float32)
    on("numba", conv.conv2d_forward, bigger, k, None, (1, 1), "same", (1, 1))
    assert _workspace.scratch("cols", (1,), np.float32).base is not first


# ------------------------------------------------------------------- pooling
POOL_CASES = [  # (shape, pool_size, strides, padding)
    ((2, 7, 9, 3), (2, 2), None, "valid"),        # odd sizes: a row and column left over
    ((2, 8, 6, 2), (2, 2), None, "same"),
    ((2, 7, 9, 3), (3, 3), (2, 2), "same"),       # overlapping windows, asymmetric pad
    ((1, 9, 8, 2), (2, 3), (1, 2), "valid"),      # overlapping along H only
    ((2, 10, 11, 2), (2, 2), (3, 3), "valid"),    # gaps between windows
    ((1, 5, 5, 1), (3, 3), (3, 3), "same"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_agrees(case, dtype, ties):
    shape, pool_size, strides, padding = case
    x = _random(shape, dtype)
    if ties:
        x = np.round(x).astype(dtype)                # many equal maxima
    _, cache_np = on("numpy", pooling.max_pool2d_forward, x, pool_size, strides, padding)
    _, cache_nb = on("numba", pooling.max_pool2d_forward, x, pool_size, strides, padding)
    assert cache_nb[0].dtype == cache_np[0].dtype
    assert np.array_equal(cache_np[0], cache_nb[0])  # the same winners, ties included
    check_pair(pooling.max_pool2d_forward, pooling.max_pool2d_backward,
               (x, pool_size, strides, padding), 4, dtype)


def test_max_pool_errors_are_the_numpy_errors():
    for x in (np.zeros((4, 4, 1)), np.zeros((1, 4, 4, 1), dtype=np.int64)):
        with pytest.raises((ValueError, TypeError)) as numpy_error:
            on("numpy", pooling.max_pool2d_forward, x, (2, 2))
        with pytest.raises(type(numpy_error.value), match="x"):
            on("numba", pooling.max_pool2d_forward, x, (2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(1, 1), (2, 2), (2, 3), (3, 1)])
def test_upsample_nearest_agrees(size, dtype):
    check_pair(upsampling.upsample_nearest2d_forward, upsampling.upsample_nearest2d_backward,
               (_random((2, 3, 5, 4), dtype), size), 5, dtype)


# --------------------------------------------------------------- activations
@pytest.mark.filterwarnings("ignore:invalid value")   # NumPy's 0 * inf, discarded by it
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, dict(max_value=0.5), dict(negative_slope=0.2),
                                    dict(threshold=0.3, negative_slope=0.1, max_value=1.0)])
def test_relu_agrees(kwargs, dtype):
    x = _random((2, 7, 9, 3), dtype)
    x[0, 0, 0, :] = [np.inf, -1e30, 0.0]             # huge values and the kink itself
    check_pair(activations.relu_forward, activations.relu_backward, (x,), 6, dtype, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 3, 1])          # 1: the NumPy kernel on both
def test_softmax_agrees(axis, dtype):
    x = _random((2, 3, 5, 4), dtype) * 5
    check_pair(activations.softmax_forward, activations.softmax_backward, (x, axis), 7, dtype)


# ------------------------------------------------------------------- merging
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 3, 2])          # 2: the NumPy kernel on both
def test_concatenate_agrees(axis, dtype):
    xs = [_random((2, 3, 4, c), dtype, seed=c) for c in (3, 1, 2)]
    if axis == 2:
        xs = [_random((2, 3, w, 2), dtype, seed=w) for w in (4, 1)]
    check_pair(merging.concatenate_forward, merging.concatenate_backward, (xs, axis), 8, dtype)


# -------------------------------------------------------------------- losses
def _one_hot(labels, classes, dtype):
    return np.eye(classes, dtype=dtype)[labels]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("from_logits", [True, False])
def test_categorical_crossentropy_agrees(from_logits, dtype):
    rng = np.random.default_rng(9)
    labels = rng.integers(0, 4, (2, 5, 6))
    y_pred = rng.standard_normal((2, 5, 6, 4)).astype(dtype)
    if not from_logits:
        y_pred = np.abs(y_pred) + 0.05
        y_pred[0, 0, 0] = [1.0, 0.0, 0.0, 0.0]       # clipped at both ends
    args = (_one_hot(labels, 4, dtype), y_pred, from_logits)
    value_np, cache_np = on("numpy", losses.categorical_crossentropy_forward, *args)
    value_nb, cache_nb = on("numba", losses.categorical_crossentropy_forward, *args)
    assert abs(value_np - value_nb) <= TOL[dtype] * abs(value_np)
    assert np.asarray(value_nb).dtype == np.asarray(value_np).dtype
    assert set(cache_np) == set(cache_nb)
    for backend in ("numpy", "numba"):
        for cache in (cache_np, cache_nb):
            grad = on(backend, losses.categorical_crossentropy_backward, 0.7, cache)
            assert_close(on("numpy", losses.categorical_crossentropy_backward, 0.7,
                            cache_np), grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_crossentropy_from_logits_agrees(dtype):
    rng = np.random.default_rng(10)
    labels = rng.integers(0, 3, (2, 5, 6))
    logits = rng.standard_normal((2, 5, 6, 3)).astype(dtype) * 4
    value_np, cache_np = on("numpy", losses.sparse_categorical_crossentropy_forward,
                            labels, logits, True)
    value_nb, cache_nb = on("numba", losses.sparse_categorical_crossentropy_forward,
                            labels, logits, True)
    assert abs(value_np - value_nb) <= TOL[dtype] * abs(value_np)
    assert np.array_equal(cache_np["onehot"], cache_nb["onehot"])
    for cache in (cache_np, cache_nb):
        grad = on("numba", losses.sparse_categorical_crossentropy_backward, -1.5, cache)
        assert_close(on("numpy", losses.sparse_categorical_crossentropy_backward, -1.5,
                        cache_np), grad, dtype)
    with pytest.raises(IndexError, match="labels"):
        on("numba", losses.sparse_categorical_crossentropy_forward, labels + 1, logits, True)


# ------------------------------------------------------------------ plumbing
def test_accelerated_table_matches_the_code():
    """A kernel dispatches to Numba exactly when the table lists it, and its
    twin has the same name and the same arguments."""
    for module_name, module in FUNCTIONAL.items():
        listed = set(numba_kernels.ACCELERATED.get(module_name, ()))
        kernels = [name for name, fn in vars(module).items() if inspect.isfunction(fn)
                   and fn.__module__ == module.__name__
                   and name.endswith(("_forward", "_backward"))]
        assert listed <= set(kernels), listed - set(kernels)
        for name in kernels:
            source = inspect.getsource(getattr(module, name))
            assert ('get_backend() == "numba"' in source) == (name in listed), name
        if listed:
            twins = __import__(f"minicnn.numba_kernels.{module_name}", fromlist=["_"])
            for name in listed:
                assert (inspect.signature(getattr(twins, name)).parameters.keys()
                        == inspect.signature(getattr(module, name)).parameters.keys())


def _fresh_python(code, **env):
    """Run `code` in a new interpreter with `env` changes (None unsets)."""
    full = dict(os.environ)
    for key, value in env.items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    out = subprocess.run([sys.executable, "-c", code], env=full, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


THREAD_PROBE = """
import json, os
import minicnn.numba_kernels, numba
print(json.dumps([numba.config.THREADING_LAYER, os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
                  os.environ.get("OMP_WAIT_POLICY")]))
"""


@pytest.mark.parametrize("env, layer", [
    (dict(NUMBA_THREADING_LAYER=None), "workqueue"),
    (dict(NUMBA_THREADING_LAYER="omp"), "omp"),
    (dict(NUMBA_THREADING_LAYER=None, MINICNN_THREAD_DEFAULTS="0"), "default"),
])
def test_thread_defaults_never_override_the_user(env, layer):
    """The Numba layer is chosen only if unset, and no variable is written."""
    env = dict(env, OPENBLAS_THREAD_TIMEOUT=None, OMP_WAIT_POLICY=None)
    assert _fresh_python(THREAD_PROBE, **env) == [layer, None, None]
