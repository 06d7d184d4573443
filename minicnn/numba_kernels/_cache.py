"""Numba's on-disk cache, made stale by an edit to any kernel source.

Every kernel here is ``cache=True``: compiled once, then loaded from disk by
later processes (from ``__pycache__`` beside the source, or from
``NUMBA_CACHE_DIR``). Numba decides whether a cached kernel is still fresh
by looking at one file only, the one that defines it. Kernels here inline
functions from their neighbours: the cross-entropies of ``losses.py`` run
``activations.softmax_row``; ``direct_conv.py`` runs ``_slp.stack_buffer``.
With Numba's rule, a learner who edits ``softmax_row`` would keep running
the cross-entropy compiled from the old one, silently.

So the freshness stamp of every kernel in this package is instead a digest
of the contents of all its sources (``SOURCES_DIGEST``): editing any file
of ``minicnn/numba_kernels/`` makes every cached kernel stale, and the next
process compiles afresh (and overwrites the stale entries, so the cache
does not grow). Where the cache lives is still Numba's choice; only the
stamp changes. ``KernelSourcesLocator`` does this by wrapping the locator
Numba would have used, and ``install()`` puts it first in Numba's list,
where it answers for this package's files only.

Numba's cache also keys each entry by the function's own bytecode, its
argument types, the CPU and (for a closure) its captured values; the
kernels that take sizes as constants are closures over integers only, so
the key is the same in every process (``direct_conv``).
"""
import hashlib
import os

from numba.core import caching

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def sources_digest(folder=PACKAGE_DIR):
    """sha256 of the names and contents of the .py files in `folder`, sorted."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            digest.update(name.encode() + b"\0")
            with open(os.path.join(folder, name), "rb") as source:
                digest.update(source.read() + b"\0")
    return digest.hexdigest()


SOURCES_DIGEST = sources_digest()


def _locator_classes():
    """Numba's list of locators, asked in order (its class was renamed in 0.62)."""
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    return impl._locator_classes


class KernelSourcesLocator(caching._CacheLocator):
    """Numba's own locator for a kernel of this package, with the stamp
    replaced by ``SOURCES_DIGEST``."""

    def __init__(self, inner):
        self._inner = inner

    def ensure_cache_path(self):
        self._inner.ensure_cache_path()

    def get_cache_path(self):
        return self._inner.get_cache_path()

    def get_disambiguator(self):
        return self._inner.get_disambiguator()

    def get_source_stamp(self):
        return "minicnn.numba_kernels sources " + SOURCES_DIGEST

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != PACKAGE_DIR:
            return None                     # not ours: Numba's next locator decides
        for other in _locator_classes():
            if other is not cls:
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner)
        return None


def install():
    """Make ``KernelSourcesLocator`` the first locator Numba asks (once)."""
    locators = _locator_classes()
    if KernelSourcesLocator not in locators:
        locators.insert(0, KernelSourcesLocator)
