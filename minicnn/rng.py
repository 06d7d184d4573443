"""One place for randomness, so that one seed reproduces a whole run.

``set_random_seed(s)`` reseeds the global generator that layers, initializers
and data shuffling draw from when they are not given a seed of their own (like
``keras.utils.set_random_seed``). Anything given ``seed=`` uses its own
generator and ignores the global one.
"""
import numpy as np

_global = {"rng": np.random.default_rng(0)}


def set_random_seed(seed):
    """Reseed minicnn's global generator (and nothing else)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _global["rng"] = np.random.default_rng(int(seed))


def make_rng(seed=None):
    """A Generator: seeded from `seed`, or a child of the global generator."""
    if seed is None:
        return np.random.default_rng(_global["rng"].integers(2**63))
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))
