"""The cross-entropies: categorical, sparse categorical and binary.

The equations (clipping, renormalising, the from-logits forms and every
gradient) are in ``minicnn.functional.losses``; the two that a training step
spends time in run through the backend table (``minicnn.backend``). Each
class also computes its from-logits formula for ``Loss.on_logits``, as
Keras's fit does after a softmax or sigmoid output (see ``minicnn.losses``).
"""
import numbers

import numpy as np

from .. import backend
from .._validate import as_array, class_labels, same_shape
from .._validate import axis as valid_axis
from ..functional import losses as F
from .base import Loss, _check_bool, _check_logits, _check_probabilities


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
    reads_logits = True

    def __init__(self, from_logits=False, axis=-1, name=None):
        super().__init__(name)
        self.from_logits = _check_bool(from_logits, "from_logits")
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def _forward(self, y_true, y_pred, check_values=True):
        y_true = self._y_true(y_true, y_pred)
        if check_values and self.from_logits:
            _check_logits(y_pred)
        elif check_values:
            _check_probabilities(y_pred)
            if np.any(y_pred.sum(axis=self.axis) == 0):
                raise ValueError("y_pred has a pixel whose probabilities are all "
                                 "0; they cannot be renormalised to sum to 1")
        return backend.run_forward("categorical_crossentropy", y_true, y_pred,
                                   self.from_logits, self.axis)

    def _logits_forward(self, y_true, logits):
        y_true = self._y_true(y_true, logits.z)
        if logits.activation == "softmax" and self.axis % logits.z.ndim == logits.z.ndim - 1:
            value, cache = F.categorical_crossentropy_from_softmax(
                y_true, logits.z, logits.y, logits.kept.cache.log_normaliser)
            return value, backend.Kept(backend.numpy_pair("categorical_crossentropy"), cache)
        # After a sigmoid (or along another axis) Keras takes the softmax of the
        # logits along the loss's axis: there is no softmax to share.
        return backend.run_forward("categorical_crossentropy", y_true, logits.z, True,
                                   self.axis)

    def _y_true(self, y_true, y_pred):
        y_true = as_array(y_true, "y_true", dtype=y_pred.dtype)
        same_shape(y_true, y_pred, "y_true", "y_pred")
        valid_axis(self.axis, y_pred.ndim)
        return y_true

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
    reads_logits = True

    def __init__(self, from_logits=False, name=None):
        super().__init__(name)
        self.from_logits = _check_bool(from_logits, "from_logits")

    def _forward(self, y_true, y_pred, check_values=True):
        labels = _sparse_labels(y_true, y_pred)
        if check_values:
            (_check_logits if self.from_logits else _check_probabilities)(y_pred)
        return backend.run_forward("sparse_categorical_crossentropy", labels, y_pred,
                                   self.from_logits)

    def _logits_forward(self, y_true, logits):
        labels = _sparse_labels(y_true, logits.z)
        if logits.activation != "softmax":       # Keras: the softmax of a sigmoid's logits
            return backend.run_forward("sparse_categorical_crossentropy", labels, logits.z,
                                       True)
        value, cache = F.sparse_categorical_crossentropy_from_softmax(
            labels, logits.z, logits.y, logits.kept.cache.log_normaliser)
        return value, backend.Kept(backend.numpy_pair("sparse_categorical_crossentropy"),
                                   cache)

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
    reads_logits = True

    def __init__(self, from_logits=False, name=None):
        super().__init__(name)
        self.from_logits = _check_bool(from_logits, "from_logits")

    def _forward(self, y_true, y_pred, check_values=True):
        y_true = as_array(y_true, "y_true", dtype=y_pred.dtype)
        same_shape(y_true, y_pred, "y_true", "y_pred")
        if check_values:
            (_check_logits if self.from_logits else _check_probabilities)(y_pred)
        return F.binary_crossentropy_forward(y_true, y_pred, self.from_logits)

    def _logits_forward(self, y_true, logits):
        y_true = as_array(y_true, "y_true", dtype=logits.z.dtype)
        same_shape(y_true, logits.z, "y_true", "y_pred")
        if logits.activation != "sigmoid":       # Keras: the sigmoid of a softmax's logits
            return F.binary_crossentropy_forward(y_true, logits.z, True)
        return F.binary_crossentropy_from_sigmoid(y_true, logits.z, logits.y)

    def _backward(self, dy, cache):
        return F.binary_crossentropy_backward(dy, cache)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}
