"""Compiling register-blocked kernels: Numba with LLVM's SLP vectorizer.

A register-blocked kernel (``direct_conv``) keeps a small block of sums,
say 12 output pixels x 32 output channels, in CPU registers while it
reduces over the input, loading each weight vector once per block instead
of once per pixel. Whether that happens is up to LLVM:

- Numba's default pipeline runs LLVM's *loop* vectorizer and leaves the SLP
  (straight-line) vectorizer off. On a block indexed by two loop counters
  the loop vectorizer picks the innermost loop and vectorizes it with
  gathers and scatters (measured: 3-4 GF/s, worse than scalar code).
- With the loop vectorizer off and SLP on, LLVM fully unrolls the loops of
  constant trip count over the block (P pixels x COB channels), promotes the
  stack accumulator to registers, and the SLP vectorizer turns each row of
  16 channels into one ``vfmadd231ps mem{1to16}, zmm, zmm`` on an AVX-512
  CPU (the broadcast of the input value folded into the FMA).

Numba reads both switches (``numba.config.LOOP_VECTORIZE``,
``SLP_VECTORIZE``) when it builds the pass manager for a function being
compiled, so ``slp_only()`` flips them around the compilation of these
kernels alone; nothing else in the process changes. A kernel must therefore
be compiled through ``SlpKernel``, which compiles each new argument-type
signature inside ``slp_only()`` (``cache=True`` then loads it from disk in
later processes); calling the raw dispatcher with new types would compile it
with Numba's defaults and run 30-50x slower.

The block sizes are compile-time constants: a factory function makes one
kernel per (P, COB), and Numba freezes a closure's variables as constants.
The accumulator lives in ``stack_buffer((P, COB), dtype)``, an ``alloca``
that LLVM can promote to registers (a heap array from ``np.empty`` may alias
the inputs, so it never is). Each block call allocates its own: one buffer
shared by several call sites measured spilled to memory.

``fastmath={'contract'}`` allows only fusing a*b + c into one FMA: no
reassociation, so each kernel's summation order is the one its loops write
and results are bit-identical run to run and for any thread count.
"""
import contextlib
import threading

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_lock = threading.Lock()


@contextlib.contextmanager
def slp_only():
    """Compile with LLVM's SLP vectorizer on and its loop vectorizer off."""
    with _lock:
        saved = numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE
        numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE = 0, 1
        try:
            yield
        finally:
            numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE = saved


class SlpKernel:
    """A Numba dispatcher whose every specialisation is compiled in ``slp_only()``."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self._compiled = set()
        self.__doc__ = dispatcher.py_func.__doc__
        self.__name__ = dispatcher.py_func.__name__

    def __call__(self, *args):
        key = tuple((a.dtype.str, a.ndim, a.flags.c_contiguous) if isinstance(a, np.ndarray)
                    else type(a) for a in args)
        if key not in self._compiled:
            with slp_only():
                self.dispatcher.compile(tuple(numba.typeof(a) for a in args))
            self._compiled.add(key)
        return self.dispatcher(*args)

    def inspect_asm(self):
        """{signature: assembly} of the specialisations compiled in this process."""
        return {s: self.dispatcher.inspect_asm(s) for s in self.dispatcher.signatures}


def kernel(**options):
    """``@kernel(parallel=True)``: njit(cache=True, fastmath={'contract'}) in an SlpKernel."""
    settings = dict(cache=True, fastmath={"contract"}, **options)

    def wrap(function):
        return SlpKernel(numba.njit(**settings)(function))
    return wrap


def inline(function):
    """A helper inlined into its caller in Numba's IR, so LLVM sees one function."""
    return numba.njit(inline="always", fastmath={"contract"})(function)


@intrinsic
def stack_buffer(typingctx, shape, dtype):
    """A stack buffer for an array of the constant `shape` (a tuple of integer
    constants) of `dtype`, uninitialised; returns a pointer for
    ``numba.carray(pointer, shape)``. Each call site is its own buffer."""
    if not (isinstance(shape, types.BaseTuple)
            and all(isinstance(n, types.IntegerLiteral) for n in shape)):
        return None                     # Numba retries with the constants' literal types
    size = 1
    for n in shape:
        size *= n.literal_value
    if isinstance(dtype, types.DTypeSpec):
        element = dtype.dtype
    elif isinstance(dtype, types.NumberClass):
        element = dtype.instance_type
    else:
        element = dtype

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(element), size=size)
    return types.CPointer(element)(shape, dtype), codegen
