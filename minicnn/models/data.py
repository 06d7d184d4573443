"""Batches for fit, evaluate and predict: from arrays, lists, Sequences, generators.

``Batches`` hands out one epoch of (xs, y) pairs at a time, xs being a list
with one array per model input:

- from arrays: consecutive slices of ``batch_size`` samples, in a new random
  order each epoch when given a generator ``rng`` (the last batch may be
  smaller);
- from a stream, an iterable whose items are (x, y) pairs (or x alone, for
  predict): an object with ``__len__`` and ``__getitem__`` (a list, or a
  keras.utils.Sequence-like object, whose ``on_epoch_end`` is then called) is
  read from index 0 each epoch; a one-shot iterator (a generator) is
  continued where the last epoch left it, so with ``steps`` it should loop
  forever. An epoch that yields nothing is an error, never a silent no-op.
"""
import math

import numpy as np


class Batches:
    """The batches of one dataset, epoch after epoch.

    From arrays: slices of `batch_size` samples, in a new random order each
    epoch if `rng` is given. From an iterable: its items, each (x, y).
    """

    def __init__(self, xs=None, y=None, batch_size=32, rng=None, stream=None, steps=None,
                 check=None):
        self.xs, self.y, self.batch_size, self.rng = xs, y, batch_size, rng
        self.stream, self.steps, self.check = stream, steps, check
        self._iterator = None
        if stream is None:
            n = len(xs[0])
            self.length = math.ceil(n / batch_size) if steps is None else steps
        else:
            self.length = steps if steps is not None else (
                len(stream) if hasattr(stream, "__len__") else None)

    def epoch(self):
        """Yield (xs, y) for one epoch; xs is a list with one array per input."""
        if self.stream is None:
            yield from self._array_epoch()
            return
        count = 0
        for item in self._stream_items():
            xs, y = _split_batch(item)
            yield (xs, y) if self.check is None else self.check(xs, y)
            count += 1
        if hasattr(self.stream, "on_epoch_end"):
            self.stream.on_epoch_end()
        if count == 0:
            raise ValueError(
                "the data ran out: this epoch got no batches. A generator can be "
                "read only once: make it loop forever and pass steps_per_epoch, "
                "or pass a list or a Sequence (with __len__ and __getitem__)")

    def _array_epoch(self):
        n = len(self.xs[0])
        order = self.rng.permutation(n) if self.rng is not None else None
        for step, start in enumerate(range(0, n, self.batch_size)):
            if self.steps is not None and step >= self.steps:
                return
            index = (slice(start, start + self.batch_size) if order is None
                     else order[start:start + self.batch_size])
            yield [x[index] for x in self.xs], (None if self.y is None else self.y[index])

    def _stream_items(self):
        data = self.stream
        if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            items = (data[i] for i in range(len(data)))
        elif iter(data) is data:                # a one-shot iterator: continue it
            items = data
        else:
            items = iter(data)
        if self.steps is None:
            yield from items
            return
        for _, item in zip(range(self.steps), items):
            yield item


def _split_batch(item):
    """(xs, y) from one item of a stream: (x, y), or x alone for predict."""
    if isinstance(item, (tuple, list)) and len(item) == 2:
        x, y = item
    elif isinstance(item, np.ndarray):
        x, y = item, None
    else:
        raise ValueError(f"each batch must be an (x, y) pair of arrays, got a "
                         f"{type(item).__name__}" + (f" of {len(item)} items"
                                                     if hasattr(item, "__len__") else ""))
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    return [np.asarray(a) for a in xs], (None if y is None else np.asarray(y))


def is_stream(x, model):
    """True if `x` is an iterable of batches rather than array data."""
    if isinstance(x, np.ndarray):
        return False
    if isinstance(x, (list, tuple)):
        if model._multi_input and all(isinstance(a, np.ndarray) for a in x):
            return False
        return len(x) > 0 and all(isinstance(item, (list, tuple)) for item in x)
    return hasattr(x, "__iter__") or hasattr(x, "__getitem__")
