"""Streaming (x, y) mini-batches, shuffled and augmented on the fly.

    it = BatchIterator(x, y, batch_size=32, n_classes=4, augment=Augmenter(...), seed=0)
    for epoch in range(3):
        for xb, yb in it:      # each pass is one epoch, freshly shuffled
            ...                # xb (B, H, W, C) float32, yb (B, H, W, K) float32 one-hot

x (N, H, W, C) and integer labels y (N, H, W) stay as they are; each batch is
gathered, cast to float32, augmented and one-hot encoded only when it is
drawn, so memory holds one batch at a time, not an augmented copy of the data
set. ``len(it)`` is the number of batches per epoch: ceil(N / batch_size), or
floor(N / batch_size) with drop_remainder=True (the last, smaller batch is
then skipped, never padded).

n_classes must be given for one-hot output: inferring it from y.max() + 1
would silently give a narrower encoding for a validation set that happens to
lack the last class. With one_hot=False, yb is the int32 label map (B, H, W).

Seeded: one Generator, created from `seed`, drives shuffling and augmentation
for the whole run, so the same seed reproduces every epoch, and epochs differ
from one another.
"""
import numpy as np

from .._validate import as_array, positive_int
from ..rng import make_rng
from .labels import one_hot as encode_one_hot


class BatchIterator:
    """Iterable over (x, y) mini-batches; one full pass per ``iter()``."""

    def __init__(self, x, y, batch_size=32, n_classes=None, one_hot=True, shuffle=True,
                 augment=None, drop_remainder=False, seed=None):
        x = as_array(x, "x", ndim=4)
        y = as_array(y, "y", ndim=3)
        if y.dtype.kind not in "iu":
            raise TypeError(f"y must hold integer labels, got dtype {y.dtype}")
        if y.shape != x.shape[:3]:
            raise ValueError(f"y must be (N, H, W) = {x.shape[:3]} to match x, got {y.shape}")
        if len(x) == 0:
            raise ValueError("x must hold at least one example, got N = 0")
        self.batch_size = positive_int(batch_size, "batch_size")
        if one_hot:
            if n_classes is None:
                raise ValueError("n_classes is required when one_hot=True (it is not "
                                 "inferred from y, which may lack a class)")
            n_classes = positive_int(n_classes, "n_classes")
            if y.min() < 0 or y.max() >= n_classes:
                raise ValueError(f"y must lie in [0, n_classes={n_classes}), got values "
                                 f"in [{y.min()}, {y.max()}]")
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be an Augmenter or a callable (x, y, rng) -> "
                            f"(x, y), got {type(augment).__name__}")
        if drop_remainder and len(x) < self.batch_size:
            raise ValueError(f"drop_remainder=True with {len(x)} examples < batch_size="
                             f"{self.batch_size} would yield no batch at all")
        self.x, self.y = x, y
        self.n_classes, self.one_hot = n_classes, bool(one_hot)
        self.shuffle, self.augment = bool(shuffle), augment
        self.drop_remainder = bool(drop_remainder)
        self._rng = make_rng(seed)

    def __len__(self):
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_remainder else -(-n // b)

    def __iter__(self):
        order = self._rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start:start + self.batch_size]
            xb = self.x[index].astype(np.float32)             # (B, H, W, C)
            yb = self.y[index]                                # (B, H, W)
            if self.augment is not None:
                xb, yb = self.augment(xb, yb, self._rng)
            if self.one_hot:
                yb = encode_one_hot(yb, self.n_classes)       # (B, H, W, K)
            else:
                yb = yb.astype(np.int32)
            yield xb, yb
