"""Losses with Keras semantics and hand-written gradients.

    loss = losses.CategoricalCrossentropy()
    value = loss(y_true, y_pred)        # a Python float: the mean over pixels
    dy_pred = loss.backward()           # d value / d y_pred for that last call

A loss object remembers its most recent call, so ``backward(dy)`` returns
d(dy * value) / d y_pred without being given the inputs again (dy is the
gradient arriving at the loss's output, as everywhere in minicnn); ``dy``
defaults to 1. Nothing is divided by the batch size anywhere else: the
1 / (number of pixels) of the mean is the loss's own reduction, and it is in
the gradient already. Inputs are never modified.

Everything runs in y_pred's float dtype (float32 or float64; other dtypes
are cast to ``floatx()``), and y_true is cast to it.

| class                          | name                              | y_true                     |
|--------------------------------|-----------------------------------|----------------------------|
| CategoricalCrossentropy        | 'categorical_crossentropy'        | one-hot, shape of y_pred   |
| SparseCategoricalCrossentropy  | 'sparse_categorical_crossentropy' | integers (N, H, W[, 1])    |
| BinaryCrossentropy             | 'binary_crossentropy'             | 0/1, shape of y_pred       |
| Dice                           | 'dice'                            | one-hot, shape of y_pred   |

The equations, the clipping to [1e-7, 1 - 1e-7] and its gradient, and the
per-pixel mean (Keras's 'sum_over_batch_size') are in
``minicnn.functional.losses``. Differences from Keras, on purpose:

- Probabilities outside [0, 1] with ``from_logits=False`` raise a ValueError
  (a common slip: feeding logits to a loss that expects a softmax), and so do
  non-finite logits; Keras computes on and returns nonsense.
- With ``from_logits=True`` and soft labels whose rows do not sum to 1,
  minicnn returns the exact gradient softmax(z) * sum(y) - y; TensorFlow's
  fused op returns softmax(z) - y. They agree for one-hot or smoothed labels.
- ``Dice`` is not ``keras.losses.Dice``; see its docstring.
- ``get('categorical_crossentropy')`` returns a new loss object, not a plain
  function: minicnn losses need their cached forward pass for ``backward``.
"""
import numbers
from abc import ABC, abstractmethod

import numpy as np

from . import backend
from ._validate import as_array, class_labels, same_shape
from ._validate import axis as valid_axis
from .config import floatx
from .functional import losses as F


def _float_pred(y_pred):
    """y_pred as a float32/float64 array of rank >= 2, (N, ..., C)."""
    y_pred = as_array(y_pred, "y_pred")
    if y_pred.dtype not in (np.float32, np.float64):
        y_pred = y_pred.astype(floatx())
    if y_pred.ndim < 2 or y_pred.size == 0:
        raise ValueError("y_pred must be a non-empty array of rank >= 2 "
                         f"(N, ..., C), got shape {y_pred.shape}")
    return y_pred


def _check_probabilities(y_pred):
    """Refuse values a probability cannot take (NaN included)."""
    if not np.all((y_pred >= 0) & (y_pred <= 1)):
        raise ValueError(
            "y_pred must hold probabilities in [0, 1] when from_logits=False, "
            f"got values from {np.min(y_pred)} to {np.max(y_pred)}; "
            "pass from_logits=True if y_pred holds logits")


def _check_logits(y_pred):
    if not np.all(np.isfinite(y_pred)):
        raise ValueError("y_pred must hold finite logits, got "
                         f"{np.size(y_pred) - np.count_nonzero(np.isfinite(y_pred))} "
                         "NaN or infinite values")


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class Loss(ABC):
    """Base class: check inputs, run a kernel, keep its cache for ``backward``.

    Subclasses set ``default_name`` and implement ``_forward(y_true, y_pred)
    -> (value, cache)`` (y_pred already a float array) and
    ``_backward(dy, cache) -> dy_pred``.
    """

    default_name = "loss"

    def __init__(self, name=None):
        name = self.default_name if name is None else name
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        self._cache = None
        self._dtype = None

    def __call__(self, y_true, y_pred):
        """The mean loss over the batch (and pixels), as a Python float."""
        self._cache = None          # a call that fails leaves nothing to backward
        y_pred = _float_pred(y_pred)
        value, cache = self._forward(y_true, y_pred)
        self._cache, self._dtype = cache, y_pred.dtype
        return float(value)

    def backward(self, dy=1.0):
        """d(dy * value) / d y_pred for the most recent call."""
        if self._cache is None:
            raise ValueError(
                f"{self.name}: backward() was called before the loss was "
                "computed; call loss(y_true, y_pred) first")
        if isinstance(dy, bool) or not isinstance(dy, numbers.Real):
            raise TypeError(f"dy must be a real number, got {dy!r}")
        return self._backward(float(dy), self._cache).astype(self._dtype, copy=False)

    @abstractmethod
    def _forward(self, y_true, y_pred):
        """Check y_true against y_pred and run the forward kernel."""

    @abstractmethod
    def _backward(self, dy, cache):
        """Run the backward kernel."""

    def get_config(self):
        """Constructor arguments, as Keras's ``get_config`` gives them."""
        return {"name": self.name}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class CategoricalCrossentropy(Loss):
    """Cross-entropy between one-hot labels and per-pixel class probabilities.

    y_true, y_pred: (N, H, W, C) with classes along `axis`. With
    from_logits=False, y_pred holds probabilities (a softmax output): each
    pixel's row is renormalised to sum to 1, then clipped to [1e-7, 1 - 1e-7],
    as Keras does. With from_logits=True, y_pred holds the logits z and the
    softmax is fused into the loss (stable for any finite z); the gradient is
    then simply (softmax(z) - y) / (N H W).
    """

    default_name = "categorical_crossentropy"

    def __init__(self, from_logits=False, axis=-1, name=None):
        super().__init__(name)
        self.from_logits = _check_bool(from_logits, "from_logits")
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def _forward(self, y_true, y_pred):
        y_true = as_array(y_true, "y_true", dtype=y_pred.dtype)
        same_shape(y_true, y_pred, "y_true", "y_pred")
        valid_axis(self.axis, y_pred.ndim)
        if self.from_logits:
            _check_logits(y_pred)
        else:
            _check_probabilities(y_pred)
            if np.any(y_pred.sum(axis=self.axis) == 0):
                raise ValueError("y_pred has a pixel whose probabilities are all "
                                 "0; they cannot be renormalised to sum to 1")
        return backend.run_forward("categorical_crossentropy", y_true, y_pred,
                                   self.from_logits, self.axis)

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits, "axis": self.axis}


def _sparse_labels(labels, y_pred):
    """Integer labels of shape y_pred.shape[:-1], checked against C classes."""
    labels = as_array(labels, "y_true")
    pixels = y_pred.shape[:-1]
    if labels.shape == pixels + (1,):
        labels = labels.reshape(pixels)                          # (N, H, W, 1) -> (N, H, W)
    if labels.shape != pixels:
        raise ValueError(
            f"y_true must hold integer labels of shape {pixels} or {pixels + (1,)} "
            f"for y_pred of shape {y_pred.shape}, got shape {labels.shape} "
            "(one-hot labels go to CategoricalCrossentropy)")
    return class_labels(labels, y_pred.shape[-1], "y_true")


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer labels instead of one-hot ones.

    y_true: (N, H, W) or (N, H, W, 1) integers in [0, C) (floats holding whole
    numbers are accepted: label volumes often load as floats); y_pred:
    (N, H, W, C). The class axis is last, as in Keras. With probabilities,
    Keras clips first and renormalises after (the opposite order from
    CategoricalCrossentropy), and so does minicnn: the two losses agree
    unless a probability is clipped.
    """

    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, name=None):
        super().__init__(name)
        self.from_logits = _check_bool(from_logits, "from_logits")

    def _forward(self, y_true, y_pred):
        labels = _sparse_labels(y_true, y_pred)
        if self.from_logits:
            _check_logits(y_pred)
        else:
            _check_probabilities(y_pred)
        return backend.run_forward("sparse_categorical_crossentropy", labels, y_pred,
                                   self.from_logits)

    def _backward(self, dy, cache):
        return backend.run_backward(dy, cache)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class BinaryCrossentropy(Loss):
    """Cross-entropy of independent yes/no predictions (a sigmoid output).

    y_true, y_pred: same shape, e.g. (N, H, W, 1) for one foreground mask.
    The mean runs over every element, channels included. Probabilities are
    clipped to [1e-7, 1 - 1e-7] and logged as they are: Keras 3 adds no
    epsilon inside the log. With from_logits=True the loss is
    max(z, 0) - z y + log(1 + exp(-|z|)), finite for any finite z, and the
    gradient is (sigmoid(z) - y) / size.
    """

    default_name = "binary_crossentropy"

    def __init__(self, from_logits=False, name=None):
        super().__init__(name)
        self.from_logits = _check_bool(from_logits, "from_logits")

    def _forward(self, y_true, y_pred):
        y_true = as_array(y_true, "y_true", dtype=y_pred.dtype)
        same_shape(y_true, y_pred, "y_true", "y_pred")
        if self.from_logits:
            _check_logits(y_pred)
        else:
            _check_probabilities(y_pred)
        return F.binary_crossentropy_forward(y_true, y_pred, self.from_logits)

    def _backward(self, dy, cache):
        return F.binary_crossentropy_backward(dy, cache)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class Dice(Loss):
    """Soft Dice loss: 1 - mean over images and classes of a smoothed Dice.

        dice_nc = (2 sum_hw y p + smooth) / (sum_hw y + sum_hw p + smooth)
        loss    = 1 - mean_{n, c} dice_nc

    y_true one-hot and y_pred probabilities, both (N, H, W, C). Each image
    and each class gets its own score, so a small structure counts as much as
    the background, and the batch is the mean of its images.

    Why ``smooth=1.0``: it is added above and below, so a class absent from
    both the truth and the prediction of an image scores 1 (agreement, loss
    0) instead of 0 / 0; the gradient stays finite; and for a tiny structure
    a one-pixel miss moves the score less. It is measured in pixels, so its
    effect shrinks as structures grow. The forward and backward passes use
    the same smooth. ``smooth=0`` gives the plain soft Dice.

    keras.losses.Dice differs: by default (axis=None) it pools the whole
    batch and all channels into one score, background included, and adds
    1e-7 to the denominator only: 1 - 2 sum(y p) / (sum y + sum p + 1e-7).
    With ``axis=(1, 2)`` Keras scores each image and class and averages
    them, which is this loss with smooth=0 up to that 1e-7.
    """

    default_name = "dice"

    def __init__(self, smooth=1.0, name=None):
        super().__init__(name)
        if isinstance(smooth, bool) or not isinstance(smooth, numbers.Real):
            raise TypeError(f"smooth must be a number >= 0, got {smooth!r}")
        if not 0 <= smooth < np.inf:
            raise ValueError(f"smooth must be a number >= 0, got {smooth!r}")
        self.smooth = float(smooth)

    def _forward(self, y_true, y_pred):
        y_true = as_array(y_true, "y_true", dtype=y_pred.dtype)
        same_shape(y_true, y_pred, "y_true", "y_pred")
        _check_probabilities(y_pred)
        if self.smooth == 0:
            pixel_axes = tuple(range(1, y_pred.ndim - 1))
            empty = (y_true.sum(axis=pixel_axes) + y_pred.sum(axis=pixel_axes)) == 0
            if np.any(empty):
                n, c = np.argwhere(empty)[0]
                raise ValueError(
                    f"Dice with smooth=0 is 0/0 for image {n}, class {c}: the class "
                    "is absent from both y_true and y_pred; use smooth > 0")
        return F.dice_loss_forward(y_true, y_pred, self.smooth)

    def _backward(self, dy, cache):
        return F.dice_loss_backward(dy, cache)

    def get_config(self):
        return {"name": self.name, "smooth": self.smooth}


_ALL = (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
        Dice)
_BY_NAME = {**{cls.default_name: cls for cls in _ALL},
            **{cls.__name__: cls for cls in _ALL}}


def get(identifier):
    """A loss object from a Keras name ('categorical_crossentropy', ...), a
    class name ('CategoricalCrossentropy'), a Loss subclass or a Loss object
    (returned as it is). Names give a new object with default arguments."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"unknown loss {identifier!r}; allowed names: "
                             f"{sorted(_BY_NAME)}")
        return _BY_NAME[identifier]()
    raise TypeError(
        f"loss must be a loss name or a minicnn Loss, got {identifier!r} "
        "(a plain function has no hand-written backward)")
