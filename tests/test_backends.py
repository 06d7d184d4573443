"""The backend table, entry by entry: every compiled pair against its NumPy pair.

For each operation of ``minicnn.backend.TABLE`` and each of its compiled
pairs, the cases below are run in float64 and float32. Where the pair's scope
holds, the compiled pair's outputs, caches and gradients must agree with the
NumPy pair's to rounding, and a cache made by one must give the same
gradients through the other. Where it does not hold, ``choose`` must hand
the call to the NumPy pair. The convolution cases are test_conv.py's awkward
ones (strides that do not divide, dilation, asymmetric 'same',
output_padding), run once more with tiny chunks so the chunked loops take
several rounds. The gradient checks and Keras parity of the layers run on
both backends in their own files, through the ``backend`` fixture of
conftest.py.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minicnn
from minicnn import backend
from minicnn.functional.conv import conv_geometry, transpose_geometry
from minicnn.functional.pooling import pool_geometry
from minicnn.gradcheck import rel_error
from minicnn.numba_kernels import _workspace
from minicnn.numba_kernels import conv as fast_conv
from test_conv import (CONV_CASES, STRIDED_DILATED_CASES,
                       STRIDED_DILATED_TRANSPOSE_CASES, TRANSPOSE_CASES)

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture(autouse=True)
def direct_conv_for_any_c_in(monkeypatch):
    """The direct convolution takes C_in > 4 only on AVX-512 CPUs, where it
    pays; these tests check what it computes on every CPU."""
    monkeypatch.setattr(backend, "DIRECT_CONV_ANY_C_IN", True)


def _random(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _one_hot(labels, classes, dtype):
    return np.eye(classes, dtype=dtype)[labels]


# ------------------------------------------------- the cases, per operation
# Each function yields forward-argument tuples for one dtype; together they
# reach both sides of every compiled pair's scope.
def _conv2d_cases(dtype):
    for n, h, w, c, f, kernel, strides, padding, dilation in (
            CONV_CASES + STRIDED_DILATED_CASES + DIRECT_CASES):
        x = _random((n, h, w, c), dtype)
        k = _random((*kernel, c, f), dtype, seed=1)
        geom = conv_geometry((h, w), kernel, strides, dilation, padding)
        for bias in (_random((f,), dtype, seed=2), None):
            yield x, k, bias, geom


# Stride 1, no dilation, wider than the direct kernel's pixel blocks (12 or
# 14), so its interior blocks, the shifted last block and both borders run:
# 1 and 3 input channels (the first-layer kernel), 16 and 32 channels (one
# and two 16-float vectors), 5 and 64 filters, a 5 x 5 kernel, 'valid',
# asymmetric 'same' and a width smaller than one block.
DIRECT_CASES = [
    (2, 6, 37, 1, 32, (3, 3), (1, 1), "same", (1, 1)),
    (1, 5, 29, 3, 16, (3, 3), (1, 1), "valid", (1, 1)),
    (1, 6, 31, 16, 5, (3, 3), (1, 1), "same", (1, 1)),
    (2, 4, 40, 32, 64, (3, 3), (1, 1), "same", (1, 1)),
    (1, 7, 33, 6, 16, (5, 5), (1, 1), "same", (1, 1)),
    (1, 8, 30, 8, 32, (2, 2), (1, 1), "same", (1, 1)),      # odd pad bottom/right
    (3, 5, 6, 16, 16, (3, 3), (1, 1), "same", (1, 1)),      # narrower than a block
    (1, 5, 9, 4, 96, (3, 3), (1, 1), "same", (1, 1)),       # 96 filters: im2col's
]


def _conv2d_relu_cases(dtype):
    for x, k, bias, geom in _conv2d_cases(dtype):
        yield x, k, bias, geom


def _conv2d_transpose_cases(dtype):
    for n, h, w, c, f, kernel, strides, padding, dilation, op in (
            TRANSPOSE_CASES + STRIDED_DILATED_TRANSPOSE_CASES):
        x = _random((n, h, w, c), dtype)
        k = _random((*kernel, f, c), dtype, seed=1)
        geom = transpose_geometry((h, w), kernel, strides, dilation, padding, op)
        for bias in (_random((f,), dtype, seed=2), None):
            yield x, k, bias, geom


POOL_CASES = [  # (shape, pool_size, strides, padding)
    ((2, 7, 9, 3), (2, 2), None, "valid"),        # odd sizes: a row and column left over
    ((2, 8, 6, 2), (2, 2), None, "same"),
    ((2, 7, 9, 3), (3, 3), (2, 2), "same"),       # overlapping windows, asymmetric pad
    ((1, 9, 8, 2), (2, 3), (1, 2), "valid"),      # overlapping along H only
    ((2, 10, 11, 2), (2, 2), (3, 3), "valid"),    # gaps between windows
    ((1, 5, 5, 1), (3, 3), (3, 3), "same"),
]


def _max_pool2d_cases(dtype):
    for shape, pool_size, strides, padding in POOL_CASES:
        geom = pool_geometry(shape[1:3], pool_size, strides, padding)
        x = _random(shape, dtype)
        yield x, geom
        yield np.round(x).astype(dtype), geom          # many equal maxima


def _upsample_nearest2d_cases(dtype):
    for size in [(1, 1), (2, 2), (2, 3), (3, 1)]:
        yield _random((2, 3, 5, 4), dtype), size


def _relu_cases(dtype):
    x = _random((2, 7, 9, 3), dtype)
    x[0, 0, 0, :] = [np.inf, -1e30, 0.0]               # huge values and the kink itself
    for max_value, negative_slope, threshold in [(None, 0.0, 0.0), (0.5, 0.0, 0.0),
                                                 (None, 0.2, 0.0), (1.0, 0.1, 0.3)]:
        yield x, max_value, negative_slope, threshold


def _softmax_cases(dtype):
    for axis in (-1, 3, 1):                             # 1: outside the compiled scope
        yield _random((2, 3, 5, 4), dtype) * 5, axis


def _concatenate_cases(dtype):
    for axis in (-1, 3):
        yield [_random((2, 3, 4, c), dtype, seed=c) for c in (3, 1, 2)], axis
    yield [_random((2, 3, w, 2), dtype, seed=w) for w in (4, 1)], 2   # outside


def _categorical_crossentropy_cases(dtype):
    rng = np.random.default_rng(9)
    labels = rng.integers(0, 4, (2, 5, 6))
    for from_logits in (True, False):
        y_pred = rng.standard_normal((2, 5, 6, 4)).astype(dtype)
        if not from_logits:
            y_pred = np.abs(y_pred) + 0.05
            y_pred[0, 0, 0] = [1.0, 0.0, 0.0, 0.0]       # clipped at both ends
        yield _one_hot(labels, 4, dtype), y_pred, from_logits, -1
    y_pred = np.abs(rng.standard_normal((2, 4, 5, 6))).astype(dtype)
    yield np.moveaxis(_one_hot(labels, 4, dtype), -1, 1), y_pred, False, 1   # outside


def _sparse_categorical_crossentropy_cases(dtype):
    rng = np.random.default_rng(10)
    labels = rng.integers(0, 3, (2, 5, 6))
    logits = rng.standard_normal((2, 5, 6, 3)).astype(dtype) * 4
    yield labels, logits, True
    probabilities = np.abs(logits) / np.abs(logits).sum(axis=-1, keepdims=True)
    yield labels, probabilities, False                  # outside


CASES = {
    "conv2d": _conv2d_cases,
    "conv2d_relu": _conv2d_relu_cases,
    "conv2d_transpose": _conv2d_transpose_cases,
    "max_pool2d": _max_pool2d_cases,
    "upsample_nearest2d": _upsample_nearest2d_cases,
    "relu": _relu_cases,
    "softmax": _softmax_cases,
    "concatenate": _concatenate_cases,
    "categorical_crossentropy": _categorical_crossentropy_cases,
    "sparse_categorical_crossentropy": _sparse_categorical_crossentropy_cases,
}

ENTRIES = [(operation, compiled) for operation, (_, entries) in backend.TABLE.items()
           for compiled in entries]


def _entry_id(entry):
    operation, compiled = entry
    return f"{operation}-{compiled.module}"


# ------------------------------------------------------------- comparisons
def assert_close(a, b, dtype):
    """Same dtype and shape; same NaN/inf pattern; finite parts within TOL."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    finite = np.isfinite(a)
    assert np.array_equal(finite, np.isfinite(b))
    assert np.array_equal(a[~finite], b[~finite], equal_nan=True)
    error = rel_error(np.where(finite, a, 0), np.where(finite, b, 0))
    assert error < TOL[dtype], error


def _as_list(values):
    return list(values) if isinstance(values, (list, tuple)) else [values]


def assert_same_gradients(reference, grads, dtype):
    for r, g in zip(_as_list(reference), _as_list(grads), strict=True):
        if r is None:
            assert g is None
        else:
            assert_close(r, g, dtype)


def assert_same_cache(a, b, dtype):
    """Arrays equal to rounding (integer and boolean ones exactly); the rest equal."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_cache(a[key], b[key], dtype)
    elif hasattr(a, "_fields") and type(a).__name__.endswith("Cache"):
        assert type(a) is type(b), (type(a), type(b))     # the same named cache
        for field in a._fields:
            assert_same_cache(getattr(a, field), getattr(b, field), dtype)
    elif isinstance(a, (list, tuple)) and not hasattr(a, "_fields"):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert_same_cache(u, v, dtype)
    elif isinstance(a, np.ndarray) and a.dtype.kind == "f":
        assert_close(a, b, dtype)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b


def check_pair(reference, compiled, args, dtype, seed):
    """Forward, caches and backward of `compiled` against `reference`, both ways."""
    y_ref, cache_ref = reference.forward(*args)
    y, cache = compiled.forward(*args)
    assert_close(y_ref, y, dtype)
    assert_same_cache(cache_ref, cache, dtype)
    rng = np.random.default_rng(seed)
    dy = float(rng.standard_normal()) if np.ndim(y_ref) == 0 else \
        rng.standard_normal(np.shape(y_ref)).astype(dtype)
    dy_copy = np.copy(dy)
    expected = reference.backward(dy, cache_ref)
    for pair, made_by in ((compiled, cache), (compiled, cache_ref), (reference, cache)):
        assert_same_gradients(expected, pair.backward(dy, made_by), dtype)
    assert np.array_equal(dy, dy_copy)                 # backward leaves dy alone


def _check_entry(operation, compiled, dtype):
    reference = backend.numpy_pair(operation)
    pair = backend.compiled_pair(operation, compiled)
    inside = 0
    for k, args in enumerate(CASES[operation](dtype)):
        if compiled.applies is None or compiled.applies(*args):
            check_pair(reference, pair, args, dtype, seed=k)
            inside += 1
    assert inside, f"no case of {operation} lies in the scope '{compiled.scope}'"


@pytest.mark.filterwarnings("ignore:invalid value")   # NumPy relu's 0 * inf, discarded
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_compiled_pair_agrees_with_numpy(entry, dtype):
    _check_entry(*entry, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", [e for e in ENTRIES if e[1].module == "conv"],
                         ids=_entry_id)
def test_convolutions_agree_in_tiny_chunks(entry, dtype, monkeypatch):
    """Chunks so small that every chunk is one row: the chunked loops take
    many rounds (the test sizes otherwise fit in one chunk)."""
    monkeypatch.setattr(fast_conv, "CHUNK_BYTES", 64)
    _check_entry(*entry, dtype)


@pytest.mark.parametrize("operation", sorted(backend.TABLE))
def test_choose_follows_the_scope(operation):
    """On 'numba' the first compiled pair whose scope holds runs (the NumPy
    pair if none does); on 'numpy' always the NumPy pair; and the cases
    reach both sides of every scope that is not 'always'."""
    entries = backend.TABLE[operation][1]
    sides = {compiled.module: set() for compiled in entries}
    previous = minicnn.get_backend()
    try:
        for args in CASES[operation](np.float64):
            holds = [compiled.applies is None or compiled.applies(*args) for compiled in entries]
            for compiled, held in zip(entries, holds):
                sides[compiled.module].add(held)
            expected = next((f"numba:{c.module}" for c, h in zip(entries, holds) if h), "numpy")
            minicnn.set_backend("numba")
            assert backend.choose(operation, *args).name == expected
            minicnn.set_backend("numpy")
            assert backend.choose(operation, *args).name == "numpy"
    finally:
        minicnn.set_backend(previous)
    for compiled in entries:
        wanted = {True} if compiled.applies is None else {True, False}
        assert sides[compiled.module] == wanted, (compiled.module, sides)


@pytest.mark.parametrize("any_c_in", [True, False])
def test_the_direct_convolution_takes_wide_inputs_only_where_it_pays(monkeypatch, any_c_in):
    monkeypatch.setattr(backend, "DIRECT_CONV_ANY_C_IN", any_c_in)
    geom = conv_geometry((8, 8), (3, 3), (1, 1), (1, 1), "same")
    previous = minicnn.get_backend()
    try:
        minicnn.set_backend("numba")
        for c_in, direct in ((1, True), (4, True), (5, any_c_in), (32, any_c_in)):
            x, k = _random((1, 8, 8, c_in), np.float32), _random((3, 3, c_in, 32), np.float32)
            name = backend.choose("conv2d_relu", x, k, None, geom).name
            assert name == ("numba:direct_conv" if direct else "numba:conv"), (c_in, name)
    finally:
        minicnn.set_backend(previous)


def test_every_operation_has_cases_and_both_pairs():
    assert set(CASES) == set(backend.TABLE)
    for operation, compiled in ENTRIES:
        for pair in (backend.numpy_pair(operation), backend.compiled_pair(operation, compiled)):
            assert callable(pair.forward) and callable(pair.backward)


def test_the_docstring_table_lists_the_table():
    """The table in backend's docstring is the documentation of TABLE: the
    same (operation, compiled module, scope) rows, in the same order."""
    rows = [line for line in backend.__doc__.splitlines() if line.startswith("| ")][1:]
    documented = []
    for row in rows:
        names, module, scope = (cell.strip() for cell in row.strip("|").split("|"))
        documented += [(name, module, scope) for name in names.split(", ")]
    listed = [(operation, compiled.module, compiled.scope) for operation, compiled in ENTRIES]
    assert sorted(documented) == sorted(listed)
    for operation in backend.TABLE:
        assert ([r for r in documented if r[0] == operation]
                == [r for r in listed if r[0] == operation])


def test_a_layer_keeps_its_pair_for_backward():
    """Switching backend between forward and backward still runs the pair
    that made the cache."""
    previous = minicnn.get_backend()
    try:
        minicnn.set_backend("numba")
        layer = minicnn.layers.MaxPooling2D(2)
        y = layer(_random((1, 4, 4, 2), np.float32))
        pair, _ = layer._cache
        assert pair.name == "numba:pooling"
        minicnn.set_backend("numpy")
        assert layer.backward(np.ones_like(y)).shape == (1, 4, 4, 2)
        assert layer._cache[0] is pair
    finally:
        minicnn.set_backend(previous)


# ------------------------------------------------------- convolution extras
@pytest.mark.parametrize("dtypes", [(np.float32, np.float64, None),
                                    (np.float32, np.float32, np.float64)])
def test_conv2d_mixed_dtypes_give_numpys_dtype(dtypes):
    x = _random((2, 5, 6, 3), dtypes[0])
    k = _random((3, 3, 3, 2), dtypes[1])
    bias = None if dtypes[2] is None else _random((2,), dtypes[2])
    geom = conv_geometry((5, 6), (3, 3), (1, 1), (1, 1), "same")
    y_np, _ = backend.numpy_pair("conv2d").forward(x, k, bias, geom)
    y_nb, _ = fast_conv.conv2d_forward(x, k, bias, geom)
    assert y_nb.dtype == y_np.dtype
    assert rel_error(y_np, y_nb) < 1e-6


def test_conv_scratch_buffer_is_reused():
    x, k = _random((2, 9, 8, 6), np.float32), _random((3, 3, 6, 4), np.float32)
    geom = conv_geometry((9, 8), (3, 3), (1, 1), (1, 1), "same")
    _workspace.release()
    fast_conv.conv2d_forward(x, k, None, geom)
    first = _workspace.scratch("cols", (1,), np.float32).base
    fast_conv.conv2d_forward(x, k, None, geom)
    assert _workspace.scratch("cols", (1,), np.float32).base is first
    bigger = _random((2, 19, 18, 6), np.float32)
    fast_conv.conv2d_forward(bigger, k, None, conv_geometry((19, 18), (3, 3), (1, 1),
                                                           (1, 1), "same"))
    assert _workspace.scratch("cols", (1,), np.float32).base is not first


def test_sparse_crossentropy_refuses_labels_out_of_range():
    labels = np.full((1, 2, 2), 3)
    logits = _random((1, 2, 2, 3), np.float32)
    pair = backend.compiled_pair("sparse_categorical_crossentropy",
                                 backend.TABLE["sparse_categorical_crossentropy"][1][0])
    with pytest.raises(IndexError, match="labels"):
        pair.forward(labels, logits, True)


# ------------------------------------------------------------------ plumbing
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


# Hides numba from import, as on a machine where it is not installed.
WITHOUT_NUMBA = """
import importlib.abc, json, sys, warnings
class NoNumba(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "numba" or name.startswith("numba."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoNumba())
import minicnn
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    default = minicnn.get_backend()
try:
    minicnn.set_backend("numba")
    refused = None
except ImportError as error:
    refused = str(error)
print(json.dumps([default, [str(w.message) for w in caught], refused]))
"""


def test_numba_is_the_default_when_it_imports():
    assert _fresh_python("import json, minicnn; print(json.dumps(minicnn.get_backend()))") \
        == "numba"


def test_without_numba_the_default_is_numpy_and_asking_for_numba_fails():
    default, warned, refused = _fresh_python(WITHOUT_NUMBA)
    assert default == "numpy"
    assert len(warned) == 1 and "numba does not import" in warned[0]
    assert refused and "set_backend('numba') needs the numba package" in refused


def test_direct_convolution_does_not_depend_on_the_thread_count():
    """Each output is summed by one thread in one order, so 1 and 2 threads
    give the same bits (a seed reproduces a run on any core count)."""
    import numba
    from minicnn.numba_kernels import direct_conv
    x = _random((4, 20, 45, 32), np.float32)
    k = _random((3, 3, 32, 32), np.float32, seed=1)
    b = _random((32,), np.float32, seed=2)
    geom = conv_geometry((20, 45), (3, 3), (1, 1), (1, 1), "same")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one, _ = direct_conv.conv2d_relu_forward(x, k, b, geom)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two, _ = direct_conv.conv2d_relu_forward(x, k, b, geom)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, two)
