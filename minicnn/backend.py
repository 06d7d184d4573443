"""Which kernels run: the backend table.

Every operation in minicnn has a readable NumPy kernel pair in
``minicnn.functional``::

    y, cache = forward(*arguments)        backward(dy, cache) -> gradients

The operations a training step spends its time in also have compiled pairs
in ``minicnn.numba_kernels``. ``TABLE`` below lists them, each with the scope
it covers; it is the whole of what "backend" means in minicnn:

| operation                        | compiled pair (numba_kernels.)  | runs when                                                |
|----------------------------------|---------------------------------|----------------------------------------------------------|
| conv2d, conv2d_relu              | direct_conv                     | stride 1, no dilation, C_out <= 64, C_in <= 4 or AVX-512 |
| conv2d, conv2d_relu              | conv                            | always                                                   |
| conv2d_transpose                 | conv                            | always                                                   |
| max_pool2d                       | pooling                         | always                                                   |
| upsample_nearest2d               | upsampling                      | always                                                   |
| relu                             | activations                     | always                                                   |
| softmax                          | activations                     | along the last axis                                      |
| concatenate                      | merging                         | along the last axis                                      |
| categorical_crossentropy         | losses                          | along the last axis                                      |
| sparse_categorical_crossentropy  | losses                          | from_logits=True                                         |

The rows of an operation are tried in order; the first whose condition
holds runs. Everything else (sigmoid, tanh, dropout, batch normalisation,
padding, average pooling, bilinear upsampling, Add, binary cross-entropy,
Dice) and every call outside a compiled pair's scope runs its NumPy pair on
both backends.

Choosing
--------
``set_backend('numba')`` (the default whenever Numba imports) or
``set_backend('numpy')`` (the reference kernels only). A layer validates
its arguments first (its geometry, its shapes), then asks
``choose(operation, *forward_arguments)`` for a pair: on 'numpy' the NumPy
pair; on 'numba' the first compiled pair whose scope holds for those
arguments, else the NumPy pair. The layer runs the pair's forward and keeps
the pair beside the cache, so its backward always matches its forward.

A compiled pair takes the same arguments as the NumPy pair, returns the
same values to rounding, and makes the same cache, so a forward pass of
either can be differentiated by the other (tests/test_backends.py checks
all of this, operation by operation, from this table).

Asking for Numba when it does not import is an error, never a silent switch
to NumPy. If Numba is missing when no backend was chosen, the default is
'numpy' and a warning says why.

Overriding one operation for one run
------------------------------------
``with override(operation, forward=f, backward=g):`` makes every pair
chosen for `operation` inside the block (``choose``, and
``activation_pair`` for an activation: 'sigmoid' and 'tanh' too) use `f`
as its forward and `g` as its backward, on either backend; a half left
as None stays the one the table would have chosen. Everything else keeps
its kernels. The exercises (``minicnn.exercises``) put a learner's
function in place this way for a training run. The other half still runs,
so `f` must return the cache the table's backward reads (and `g` read the
one its forward makes): the NumPy pair's, which the compiled pairs make too.
The pair's name says so: 'override:<operation>'.
"""
import contextlib
import importlib
import warnings
from collections import namedtuple
from typing import NamedTuple

import numpy as np

from .functional import activations, conv, losses, merging, pooling, upsampling

BACKENDS = ("numpy", "numba")

KernelPair = namedtuple("KernelPair", "forward backward name")
KernelPair.__doc__ = """The two functions of one implementation of an operation,
and a name saying which ('numpy' or 'numba:<module>')."""

Compiled = namedtuple("Compiled", "module scope applies")
Compiled.__doc__ = """A compiled pair: ``minicnn.numba_kernels.<module>`` holds
``<operation>_forward`` and ``<operation>_backward``; `scope` says in words
when it runs, `applies(*forward_arguments)` decides it (None: always)."""


def _has_avx512():
    """True if the CPU has AVX-512 (as LLVM, which compiles Numba's code, sees it)."""
    try:
        from llvmlite import binding
    except ImportError:                     # no Numba: no compiled pairs run anyway
        return False
    return bool(binding.get_host_cpu_features().get("avx512f", False))


# The direct convolution keeps a block of pixels x 16 or 32 output channels
# in vector registers. AVX-512 has 32 registers of 16 floats and there the
# kernel beat im2col + GEMM at every C_out <= 64 (docs/performance.md); with
# AVX2's 16 registers of 8 floats the block spills, and on an AVX2 CPU (AMD
# Zen 1) it measured slower than im2col except in the first layers
# (C_in <= 4), whose kernel has no channel loop to spill.
DIRECT_CONV_ANY_C_IN = _has_avx512()
DIRECT_CONV_SCOPE = "stride 1, no dilation, C_out <= 64, C_in <= 4 or AVX-512"


def direct_conv_applies(x, kernel, bias, geom):
    """The direct convolution's scope, DIRECT_CONV_SCOPE: where it computes and
    where it pays (``numba_kernels.direct_conv``). Written here, so that
    deciding imports no Numba code."""
    return (geom.strides == (1, 1) and geom.dilation == (1, 1) and kernel.shape[3] <= 64
            and (kernel.shape[2] <= 4 or DIRECT_CONV_ANY_C_IN))


def _last_axis(axis, ndim):
    """True if `axis` (negative or not) is the last of `ndim` axes."""
    return axis % ndim == ndim - 1


# operation: (its NumPy pair's module, compiled pairs in order of preference)
TABLE = {
    "conv2d": (conv, [Compiled("direct_conv", DIRECT_CONV_SCOPE, direct_conv_applies),
                      Compiled("conv", "always", None)]),
    "conv2d_relu": (conv, [Compiled("direct_conv", DIRECT_CONV_SCOPE, direct_conv_applies),
                           Compiled("conv", "always", None)]),
    "conv2d_transpose": (conv, [Compiled("conv", "always", None)]),
    "max_pool2d": (pooling, [Compiled("pooling", "always", None)]),
    "upsample_nearest2d": (upsampling, [Compiled("upsampling", "always", None)]),
    "relu": (activations, [Compiled("activations", "always", None)]),
    "softmax": (activations, [Compiled(
        "activations", "along the last axis",
        lambda x, axis=-1: _last_axis(axis, x.ndim))]),
    "concatenate": (merging, [Compiled(
        "merging", "along the last axis",
        lambda xs, axis=-1: _last_axis(axis, xs[0].ndim))]),
    "categorical_crossentropy": (losses, [Compiled(
        "losses", "along the last axis",
        lambda y_true, y_pred, from_logits=False, axis=-1: _last_axis(axis, y_pred.ndim))]),
    "sparse_categorical_crossentropy": (losses, [Compiled(
        "losses", "from_logits=True",
        lambda labels, y_pred, from_logits=False: from_logits)]),
}

_state = {"backend": None}          # None until chosen, or first needed
# operation -> (forward or None, backward or None), while an `override` block runs
_overrides = {}


def _numba_imports():
    try:
        import numba  # noqa: F401  (imported to know now, not at the first kernel)
    except ImportError as err:
        return err
    return None


def set_backend(name):
    """Choose the kernels: 'numba' (compiled, needs Numba) or 'numpy' (the reference)."""
    if name not in BACKENDS:
        raise ValueError(f"set_backend: name must be one of {BACKENDS}, got {name!r}")
    if name == "numba":
        error = _numba_imports()
        if error is not None:
            raise ImportError(
                "set_backend('numba') needs the numba package, which does not import "
                f"({error}); install it (pip install numba) or use "
                "set_backend('numpy')") from error
    _state["backend"] = name


def get_backend():
    """The active backend's name: 'numba' or 'numpy' (see the module docstring)."""
    if _state["backend"] is None:
        error = _numba_imports()
        if error is not None:
            warnings.warn(f"numba does not import ({error}); minicnn runs its NumPy "
                          "kernels. Reinstall numba to get the compiled ones.",
                          RuntimeWarning, stacklevel=2)
        _state["backend"] = "numpy" if error is not None else "numba"
    return _state["backend"]


def numpy_pair(operation):
    """The NumPy (reference) pair of `operation`."""
    module = TABLE[operation][0]
    return KernelPair(getattr(module, f"{operation}_forward"),
                      getattr(module, f"{operation}_backward"), "numpy")


def compiled_pair(operation, compiled):
    """The pair a `Compiled` entry of `operation` names (imports Numba code)."""
    module = importlib.import_module(f"minicnn.numba_kernels.{compiled.module}")
    return KernelPair(getattr(module, f"{operation}_forward"),
                      getattr(module, f"{operation}_backward"),
                      f"numba:{compiled.module}")


def choose(operation, *args, **kwargs):
    """The pair that computes `operation` for these forward arguments."""
    if operation not in TABLE:
        raise ValueError(f"no operation {operation!r} in the backend table; it has "
                         f"{sorted(TABLE)}")
    return _overridden(operation, _table_pair(operation, *args, **kwargs))


def _table_pair(operation, *args, **kwargs):
    if get_backend() == "numba":
        for compiled in TABLE[operation][1]:
            if compiled.applies is None or compiled.applies(*args, **kwargs):
                return compiled_pair(operation, compiled)
    return numpy_pair(operation)


def _overridden(operation, pair):
    """`pair` with the halves an `override` block replaces, if one runs."""
    if operation not in _overrides:
        return pair
    forward, backward = _overrides[operation]
    return KernelPair(forward or pair.forward, backward or pair.backward,
                      f"override:{operation}")


@contextlib.contextmanager
def override(operation, forward=None, backward=None):
    """Within the block, `operation` runs `forward` and/or `backward` instead
    of its kernels' (see "Overriding one operation for one run" above).

    operation: a name of TABLE or of an activation ('sigmoid', 'tanh', ...).
    Blocks for different operations nest; the same operation twice is refused.
    """
    known = set(TABLE) | set(activations.ACTIVATION_NAMES)
    if operation not in known:
        raise ValueError(f"override: no operation {operation!r}; it can replace "
                         f"{sorted(known)}")
    if forward is None and backward is None:
        raise ValueError("override: give a forward, a backward or both")
    for function, half in ((forward, "forward"), (backward, "backward")):
        if function is not None and not callable(function):
            raise TypeError(f"override: {half} must be a function, got {function!r}")
    if operation in _overrides:
        raise ValueError(f"override: {operation!r} is already overridden in an "
                         "enclosing block")
    _overrides[operation] = (forward, backward)
    try:
        yield
    finally:
        del _overrides[operation]


class Kept(NamedTuple):
    """What ``run_forward`` returns beside y: the pair that ran and its
    cache, so that ``run_backward`` runs the same pair's backward."""
    pair: KernelPair
    cache: object


class Logits(NamedTuple):
    """An output y = activation(z) of a softmax or sigmoid, with its logits z.

    Keras's fit computes a cross-entropy that follows such an output from z
    (see ``minicnn.losses``); the loss terms share this one record instead
    of running the activation again: y for the terms that read
    probabilities, `kept` to differentiate through the activation (a
    softmax's cache also holds log sum_j exp z_j, which a cross-entropy
    from logits needs).
    """
    activation: str               # 'softmax' (over the last axis) or 'sigmoid'
    z: np.ndarray
    y: np.ndarray
    kept: Kept


def logits_of(activation, z):
    """The Logits record of activation(z), running the activation once."""
    if activation not in activations.PROBABILITY_ACTIVATIONS:
        raise ValueError(f"activation must be one of {activations.PROBABILITY_ACTIVATIONS}, "
                         f"got {activation!r}")
    y, kept = activation_forward(activation, z)
    return Logits(activation, z, y, kept)


def activation_pair(identifier, x):
    """The pair of a Keras activation name (None: linear) for input x: from the
    table if it is there ('relu', 'softmax'), else the NumPy pair."""
    name = activations.activation_name(identifier)
    if name in TABLE:
        return choose(name, x)
    forward, backward = activations.get_activation(name)
    return _overridden(name, KernelPair(forward, backward, "numpy"))


def activation_forward(identifier, x):
    """(y, kept) of a Keras activation name, as ``run_forward`` returns them."""
    pair = activation_pair(identifier, x)
    y, cache = pair.forward(x)
    return y, Kept(pair, cache)


def run_forward(operation, *args, **kwargs):
    """(y, kept): the chosen pair's forward, and a Kept record for backward."""
    pair = choose(operation, *args, **kwargs)
    y, cache = pair.forward(*args, **kwargs)
    return y, Kept(pair, cache)


def run_backward(dy, kept):
    """The backward of the pair that ran the forward; `kept` is what
    ``run_forward`` returned beside y."""
    return kept.pair.backward(dy, kept.cache)
