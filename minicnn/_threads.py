"""Thread and BLAS defaults for fast training, never overriding your own.

A training step on the 'numba' backend alternates hundreds of times between
two thread pools: OpenBLAS's (inside every ``np.matmul``) and Numba's (the
parallel loops of ``minicnn.numba_kernels``). Each pool's idle threads must
get out of the other's way. Measured on a 2-core VM:

- OpenBLAS keeps its threads spinning for a while after each call (2**28
  cycles by default); the spinning thread takes the core a Numba loop needs.
  ``OPENBLAS_THREAD_TIMEOUT=4`` (its minimum, 2**4 cycles) puts them to sleep
  at once.
- Numba's default OpenMP threading layer spins the same way after each loop
  (up to 10x slower convolutions when the two alternate); its 'workqueue'
  layer sleeps instead.

OpenBLAS reads its variables once, when NumPy loads it. So this module runs
first when minicnn is imported and, **only if NumPy is not imported yet**,
sets ``OPENBLAS_THREAD_TIMEOUT`` the way ``os.environ.setdefault`` does: a
value you exported always wins. Import minicnn before numpy (or export the
variable) to get it. The Numba threading layer is chosen through
``numba.config.THREADING_LAYER`` when the numba backend first loads, unless
``NUMBA_THREADING_LAYER`` is set; it affects Numba only. (The workqueue layer
must not run parallel kernels from two Python threads at once; set
``NUMBA_THREADING_LAYER=omp`` and ``OMP_WAIT_POLICY=passive`` if you do.)

``MINICNN_THREAD_DEFAULTS=0`` turns all of this off. ``report()`` tells what
is in effect.
"""
import os
import sys

_OPT_OUT = "MINICNN_THREAD_DEFAULTS"

# What this module did, for report(): variable -> value set, or the reason not.
_applied = {}


def _enabled():
    return os.environ.get(_OPT_OUT, "1") != "0"


def _set_default(name, value):
    if name in os.environ:
        _applied[name] = f"left as {os.environ[name]!r} (set by you)"
    else:
        os.environ[name] = value
        _applied[name] = f"set to {value!r} by minicnn"


def apply_blas_defaults():
    """Set the OpenBLAS defaults above, if NumPy has not loaded OpenBLAS yet."""
    if not _enabled():
        _applied["OpenBLAS"] = f"untouched ({_OPT_OUT}=0)"
        return
    if "numpy" in sys.modules:
        _applied["OpenBLAS"] = ("untouched: numpy was imported before minicnn, "
                                "so OpenBLAS had already read its settings")
        return
    _set_default("OPENBLAS_THREAD_TIMEOUT", "4")


def configure_numba():
    """Choose Numba's workqueue threading layer unless you chose a layer."""
    import numba
    if not _enabled():
        _applied["NUMBA_THREADING_LAYER"] = f"untouched ({_OPT_OUT}=0)"
    elif "NUMBA_THREADING_LAYER" in os.environ:
        _applied["NUMBA_THREADING_LAYER"] = (
            f"left as {os.environ['NUMBA_THREADING_LAYER']!r} (set by you)")
    elif numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"
        _applied["NUMBA_THREADING_LAYER"] = "workqueue, chosen by minicnn"


def _openblas_core():
    """The kernel family OpenBLAS chose at load time, read from the library."""
    import ctypes
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
    """What minicnn set, and the threading state now in effect, as a dict."""
    import numpy  # noqa: F401  (loads OpenBLAS, so its core can be read)
    state = dict(_applied)
    state["openblas_core"] = _openblas_core()
    if "numba" in sys.modules:
        import numba
        state["numba_threads"] = numba.config.NUMBA_NUM_THREADS
        try:
            state["numba_threading_layer"] = numba.threading_layer()
        except ValueError:                   # no parallel kernel has run yet
            state["numba_threading_layer"] = numba.config.THREADING_LAYER
    return state


apply_blas_defaults()
