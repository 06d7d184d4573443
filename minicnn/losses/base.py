"""The Loss protocol: check inputs, run a kernel, keep its cache for backward.

Every minicnn loss is an object, called as ``value = loss(y_true, y_pred)``
(or, in the training loop, ``loss.on_logits(y_true, logits)`` with the
output layer's ``backend.Logits``) and differentiated as
``loss.backward(dy)``; see ``minicnn.losses`` for the semantics and the
table of losses.
"""
import numbers
import warnings
from abc import ABC, abstractmethod

import numpy as np

from .. import backend
from .._validate import as_array
from ..config import floatx


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

    Subclasses set ``default_name`` and implement ``_forward(y_true,
    y_pred, check_values=True) -> (value, cache)`` (y_pred already a float
    array; check_values=False skips the passes over y_pred's values, which
    ``on_logits`` does: the training step has checked the logits) and
    ``_backward(dy, cache) -> dy_pred``. The cross-entropies also set
    ``reads_logits = True`` and implement ``_logits_forward(y_true, logits)``,
    their from-logits formula on a ``backend.Logits``, which ``on_logits``
    uses.
    """

    default_name = "loss"
    reads_logits = False

    def __init__(self, name=None):
        name = self.default_name if name is None else name
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        self._cache = None
        self._chain = None          # the activation to differentiate through, or None
        self._dtype = None

    def __call__(self, y_true, y_pred):
        """The mean loss over the batch (and pixels), as a Python float."""
        self._cache = None          # a call that fails leaves nothing to backward
        y_pred = _float_pred(y_pred)
        value, cache = self._forward(y_true, y_pred)
        self._cache, self._chain, self._dtype = cache, None, y_pred.dtype
        return float(value)

    def on_logits(self, y_true, logits):
        """The loss of the output logits.y = activation(logits.z) as Keras's
        fit computes it (see ``minicnn.losses``); ``backward`` then returns
        d(dy * value) / dz.

        logits: a ``backend.Logits`` (``model.output_logits()``, or
        ``backend.logits_of(activation, z)``), its values already checked to
        be finite: nothing here passes over them again, and no term runs the
        activation again. A cross-entropy reads z (and the activation's
        cache); any other term reads the probabilities y and differentiates
        through the activation.
        """
        if not isinstance(logits, backend.Logits):
            raise TypeError("on_logits: logits must be a backend.Logits (see "
                            f"backend.logits_of), got {type(logits).__name__}")
        self._cache = None
        if self.reads_logits:
            if getattr(self, "from_logits", False):
                warnings.warn(
                    f"{self.name} received from_logits=True, but the model's output is "
                    f"produced by a {logits.activation} activation and does not hold "
                    "logits; its logits are used instead, as in Keras", stacklevel=2)
            value, cache = self._logits_forward(y_true, logits)
            chain = None
        else:
            value, cache = self._forward(y_true, logits.y, check_values=False)
            chain = logits.kept
        self._cache, self._chain, self._dtype = cache, chain, logits.z.dtype
        return float(value)

    def backward(self, dy=1.0):
        """d(dy * value) / d y_pred for the most recent call (d logits after
        ``on_logits``)."""
        if self._cache is None:
            raise ValueError(
                f"{self.name}: backward() was called before the loss was "
                "computed; call loss(y_true, y_pred) first")
        if isinstance(dy, bool) or not isinstance(dy, numbers.Real):
            raise TypeError(f"dy must be a real number, got {dy!r}")
        gradient = self._backward(float(dy), self._cache)
        if self._chain is not None:                  # through the softmax or sigmoid
            gradient = backend.run_backward(gradient, self._chain)
        return gradient.astype(self._dtype, copy=False)

    @abstractmethod
    def _forward(self, y_true, y_pred, check_values=True):
        """Check y_true against y_pred (and y_pred's values, if asked) and run
        the forward kernel."""

    @abstractmethod
    def _backward(self, dy, cache):
        """Run the backward kernel."""

    def get_config(self):
        """Constructor arguments, as Keras's ``get_config`` gives them."""
        return {"name": self.name}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
