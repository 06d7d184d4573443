"""Compiled kernel pairs for the operations a training step spends its time in.

Which operation each module here accelerates, and in which cases, is the
backend table, ``minicnn.backend.TABLE``: the one place that routes calls.
A module here holds ``<operation>_forward`` and ``<operation>_backward`` for
its operations, taking the arguments of the NumPy pair in
``minicnn.functional`` (already validated by the caller) and returning the
same values to rounding and the same cache, so either pair can run the
backward of the other's forward. Helpers that differ from a NumPy function
in what they take or return carry a different name.

These modules import from ``minicnn.functional`` only its public geometry
helpers and constants (``ConvGeometry``, ``concatenate_output_shape``,
``EPSILON``), never its kernels.

Compilation: every kernel is ``@njit(cache=True)``, compiled on first use for
float32 or float64 C-contiguous arrays (the wrappers make their inputs so, to
keep one specialisation per dtype) and cached on disk for the next process,
until any source file here changes (``_cache``, installed below before any
kernel is defined). Threads: see ``minicnn._threads``.
"""
from .. import _threads
from . import _cache

_threads.configure_numba()
_cache.install()
