"""How the 'numba' backend's threads share the cores with OpenBLAS's.

A training step on the 'numba' backend alternates hundreds of times between
two thread pools: OpenBLAS's (inside every ``np.matmul``) and Numba's (the
parallel loops of ``minicnn.numba_kernels``). Each pool's idle threads must
get out of the other's way. Numba's default threading layer here is OpenMP,
whose threads keep spinning for a while after each loop; the spinning
threads take the cores OpenBLAS needs next, and measured convolutions ran up
to 10x slower. Numba's 'workqueue' layer puts its threads to sleep instead,
so minicnn selects it, through ``numba.config.THREADING_LAYER``, when the
numba backend first loads.

It changes nothing else and overrides nothing: if you set
``NUMBA_THREADING_LAYER`` yourself, or set ``MINICNN_THREAD_DEFAULTS=0``,
the layer is left alone, and a layer Numba has already started cannot change.
No environment variable is written, so NumPy, OpenBLAS, PyTorch and your own
OpenMP code keep their settings. (Measured alternatives: the OpenMP layer
with ``OMP_WAIT_POLICY=passive`` and ``OPENBLAS_THREAD_TIMEOUT=4`` was no
faster on a quiet machine and much slower on a busy one.)

One caveat of the workqueue layer: it must not run parallel kernels from two
Python threads at once. If you train from several threads, set
``NUMBA_THREADING_LAYER=omp`` and ``OMP_WAIT_POLICY=passive`` before starting.

``report()`` tells what is in effect.
"""
import ctypes
import os
import sys

import numpy  # noqa: F401  (loads OpenBLAS, so report() can read its core)

_OPT_OUT = "MINICNN_THREAD_DEFAULTS"

# What configure_numba did, for report().
_applied = {}


def configure_numba():
    """Choose Numba's workqueue threading layer unless you chose a layer."""
    import numba
    if os.environ.get(_OPT_OUT, "1") == "0":
        _applied["numba_threading_layer"] = f"untouched ({_OPT_OUT}=0)"
    elif "NUMBA_THREADING_LAYER" in os.environ:
        _applied["numba_threading_layer"] = (
            f"{os.environ['NUMBA_THREADING_LAYER']!r}, set by you")
    elif numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"
        _applied["numba_threading_layer"] = "'workqueue', chosen by minicnn"


def _openblas_core():
    """The kernel family OpenBLAS chose when it loaded (Linux; else None)."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line}
    except OSError:
        return None
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename"):
            if hasattr(lib, symbol):
                func = getattr(lib, symbol)
                func.restype = ctypes.c_char_p
                return func().decode()
    return None


def report():
    """The threading and BLAS state in effect, as a dict of strings and numbers."""
    state = {"why": dict(_applied), "openblas_core": _openblas_core(),
             "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    if "numba" in sys.modules:
        import numba
        state["numba_threads"] = numba.config.NUMBA_NUM_THREADS
        try:
            state["numba_threading_layer"] = numba.threading_layer()
        except ValueError:                   # no parallel kernel has run yet
            state["numba_threading_layer"] = numba.config.THREADING_LAYER
    return state
