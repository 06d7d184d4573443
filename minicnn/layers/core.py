"""Model inputs: ``Input`` and ``InputLayer``, the roots of a graph.

    x = layers.Input((104, 104, 1))                 # SymbolicTensor (None, 104, 104, 1)
    h = layers.Conv2D(32, 3, padding="same")(x)     # SymbolicTensor (None, 104, 104, 32)
    model = models.Model(x, h)

``Input`` makes the first symbolic tensor of a functional model (see
``minicnn.layers.symbolic``). ``InputLayer`` is the identity layer at the
root of every graph; in the forward pass it checks that the data match the
declared shape, and its backward returns the upstream gradient unchanged.
"""
import numbers

from .._validate import positive_int
from .base import Layer
from .symbolic import SymbolicTensor


def _input_shape(shape):
    """Validate the batch-less shape given to Input: ints >= 1 or None."""
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple such as (height, width, channels), "
                        f"got {shape!r}") from None
    for dim in shape:
        if dim is not None and (isinstance(dim, bool)
                                or not isinstance(dim, numbers.Integral) or dim < 1):
            raise ValueError(f"shape must hold integers >= 1 or None, got {shape!r}")
    if not shape:
        raise ValueError("shape must have at least one axis, got ()")
    return tuple(None if d is None else int(d) for d in shape)


class InputLayer(Layer):
    """The identity layer a model's input enters through (no weights).

    ``shape`` excludes the batch axis, as in Keras: ``InputLayer((110, 92, 1))``
    accepts arrays of shape (N, 110, 92, 1).
    """

    def __init__(self, shape, batch_size=None, dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        shape = _input_shape(shape)
        if batch_size is not None:
            batch_size = positive_int(batch_size, "batch_size")
        self.batch_size = batch_size
        self.input_ndim = len(shape) + 1
        self._inbound = []             # a root: called on nothing
        self.build((None,) + shape)
        self.output = SymbolicTensor((batch_size,) + shape, self.dtype, self, [])

    def _forward(self, x, training):
        return x, x.shape   # the identity needs no cache; the shape marks "run"

    def _backward(self, dy, cache):
        return dy, {}


def Input(shape, batch_size=None, dtype=None, name=None):
    """A symbolic model input of `shape` (no batch axis), like ``keras.Input``."""
    return InputLayer(shape, batch_size=batch_size, dtype=dtype, name=name).output
