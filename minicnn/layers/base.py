"""The Layer protocol every minicnn layer follows.

A layer is a thin object around a pair of pure kernel functions (see
``minicnn.functional``; for the accelerated operations ``minicnn.backend``
chooses the pair)::

    y, cache = kernel_forward(x, *params)       # in Layer._forward
    dx, *dparams = kernel_backward(dy, cache)   # in Layer._backward

The base class does the bookkeeping a learner should not have to re-read in
every layer:

- builds the layer lazily from the first input's NHWC shape (or from an
  explicit ``build((None, H, W, C))``), creating weights with Keras's names
  in Keras's order, so ``get_weights()`` lines up with a Keras layer's;
- checks inputs (rank, channels after build) and upstream gradients (shape);
- keeps the cache of the most recent forward pass for ``backward``;
- stores parameter gradients in ``self.grads``, *overwriting* them on every
  backward call (never accumulating), and never updating a weight: that is
  the optimizer's job.

Shapes: ``N`` batch, ``H`` height, ``W`` width, ``C`` channels (NHWC).
"""
import re
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .. import initializers
from .._validate import as_array
from ..config import resolve_dtype
from .symbolic import call_symbolic, is_symbolic

_name_counts = defaultdict(int)


@dataclass(frozen=True)
class AtLogits:
    """A gradient that arrives at the logits z of a layer whose output is
    softmax(z) or sigmoid(z), instead of at its output: dz = dL/dz.

    Keras's fit computes a cross-entropy that follows such an output from
    its logits, and its gradient with respect to z (p - y, for a softmax) is
    exact where the one with respect to p would overflow; ``backward`` given
    an AtLogits skips the activation's backward (see ``Layer.output_logits``).
    """
    dz: np.ndarray


def _snake_case(class_name):
    """'Conv2DTranspose' -> 'conv2d_transpose', as Keras names its layers."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(class_name):
    """Keras-style automatic names: 'conv2d', 'conv2d_1', 'conv2d_2', ..."""
    base = _snake_case(class_name)
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


class Layer(ABC):
    """Base class: parameters, gradients, lazy build and input checking.

    Subclasses implement
      ``build(input_shape)``        create weights with ``add_weight``;
      ``_forward(x, training)``     -> (y, cache), calling pure kernels;
      ``_backward(dy, cache)``      -> (dx, {param_name: dparam});
      ``compute_output_shape(input_shape)``.
    Multi-input layers set ``n_inputs = None`` (any number >= 2) and receive
    and return lists.
    """

    n_inputs = 1          # None: a list of two or more inputs
    input_ndim = 4        # NHWC
    fixed_axes = (-1,)    # axes that may not change after build (channels)

    def __init__(self, name=None, dtype=None, trainable=True):
        self.name = name if name is not None else unique_name(type(self).__name__)
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        self.dtype = resolve_dtype(dtype)
        self.trainable = bool(trainable)
        self.params = {}               # Keras weight name -> array, Keras order
        self.grads = {}                # trainable weight name -> gradient
        self._non_trainable = set()    # e.g. BatchNormalization's moving stats
        self.built = False
        self.input_shape = None        # (None, H, W, C) once built
        self._cache = None
        self._output_shape = None      # shape of the last forward output
        # Set when the layer is called on symbolic tensors (layers.symbolic):
        self._inbound = None           # the SymbolicTensors it was called on
        self.output = None             # the SymbolicTensor it produced

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (None batch)."""
        self.input_shape = input_shape
        self.built = True

    def add_weight(self, name, shape, initializer, trainable=True, seed=None):
        """Create a weight with `initializer` ('zeros', 'glorot_uniform', ...)."""
        init = initializers.get(initializer)
        value = init(tuple(shape), dtype=self.dtype, seed=seed)
        self.params[name] = np.ascontiguousarray(value, dtype=self.dtype)
        if not trainable:
            self._non_trainable.add(name)
        return self.params[name]

    @property
    def trainable_param_names(self):
        """Names of the weights an optimizer updates, in Keras order."""
        if not self.trainable:
            return []
        return [k for k in self.params if k not in self._non_trainable]

    # ---------------------------------------------------------------- forward
    def __call__(self, inputs, training=False):
        """``layer(x)`` runs ``forward`` on arrays; on the symbolic tensors of
        ``layers.Input`` it records a node of a model graph instead (see
        ``minicnn.layers.symbolic``)."""
        if is_symbolic(inputs):
            return call_symbolic(self, inputs)
        return self.forward(inputs, training=training)

    def forward(self, inputs, training=False):
        """Run the layer on NHWC input(s); keeps the cache for ``backward``."""
        inputs = self._check_inputs(inputs)
        if not self.built:
            self.build(self._batchless_shape(inputs))
        out, self._cache = self._forward(inputs, bool(training))
        self._output_shape = out.shape
        return out

    def backward(self, dy):
        """Gradient w.r.t. the input(s) of the most recent ``forward``.

        `dy` = dL/dy, the gradient at the output, or ``AtLogits(dz)``, the
        gradient at the logits of a softmax or sigmoid output (then the
        activation's backward is skipped). Fills ``self.grads``
        (overwriting) and returns dx (a list for multi-input layers). The
        gradient is read, never modified.
        """
        if self._cache is None:
            raise ValueError(
                f"{self.name}: backward() was called before forward(); run "
                "forward(x) first so there is a cache to differentiate")
        if isinstance(dy, AtLogits):
            if self.output_logits() is None:
                raise ValueError(
                    f"{self.name}: a gradient AtLogits needs a layer whose output is "
                    "a softmax or sigmoid of its logits")
            return self._run_backward(self._backward_from_logits, dy.dz, "dz")
        return self._run_backward(self._backward, dy, "dy")

    def output_logits(self):
        """The ``backend.Logits`` of the last forward when its output was
        softmax(z) (over the last axis) or sigmoid(z), else None.

        Keras's fit computes a cross-entropy that follows such an output from
        its logits z (see ``minicnn.losses``); the layers that can end in a
        softmax or sigmoid (Conv2D, Conv2DTranspose, Activation, Softmax)
        keep them, with the activation's output and cache.
        """
        return None

    def _run_backward(self, backward, gradient, what):
        """Check `gradient` against the last forward, run `backward`, keep the grads."""
        gradient = as_array(gradient, what, dtype=self.dtype)
        if gradient.shape != self._output_shape:
            raise ValueError(
                f"{self.name}: {what} must have the shape of the last forward "
                f"output {self._output_shape}, got {gradient.shape}")
        dx, grads = backward(gradient, self._cache)
        if self.trainable:
            self.grads = {k: grads[k] for k in self.trainable_param_names}
        else:
            self.grads = {}
        return dx

    def _backward_from_logits(self, dz, cache):
        """(dx, grads) from dz = dL/dlogits: the backward of everything before
        the final activation. The layers with ``output_logits`` define it."""
        raise NotImplementedError

    @abstractmethod
    def _forward(self, x, training):
        """Return (out, cache) for input(s) `x`, calling the pure kernels."""

    @abstractmethod
    def _backward(self, dy, cache):
        """Return (dx, {param_name: gradient}) from the forward's cache."""

    # ---------------------------------------------------------------- checking
    def _check_one(self, x, where):
        x = as_array(x, where, dtype=self.dtype)
        if self.input_ndim is not None and x.ndim != self.input_ndim:
            raise ValueError(
                f"{self.name}: {where} must be a rank-{self.input_ndim} NHWC "
                f"array (batch, height, width, channels), got shape {x.shape}")
        return x

    def _check_inputs(self, inputs):
        if self.n_inputs == 1:
            if isinstance(inputs, (list, tuple)) and not isinstance(inputs, np.ndarray):
                raise TypeError(f"{self.name}: expects one array, got a "
                                f"{type(inputs).__name__} of {len(inputs)} items")
            x = self._check_one(inputs, "inputs")
            if self.built:
                self._check_compatible(x.shape, self.input_shape)
            return x
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise TypeError(f"{self.name}: expects a list of two or more arrays, "
                            f"got {type(inputs).__name__}")
        xs = [self._check_one(x, f"inputs[{i}]") for i, x in enumerate(inputs)]
        if self.built:
            if len(xs) != len(self.input_shape):
                raise ValueError(f"{self.name}: was built for {len(self.input_shape)} "
                                 f"inputs, got {len(xs)}")
            for i, (x, shape) in enumerate(zip(xs, self.input_shape)):
                self._check_compatible(x.shape, shape, f"inputs[{i}]")
        return xs

    def _check_compatible(self, shape, built_shape, where="inputs"):
        """After build, the axes the weights depend on must not change.

        Those are ``self.fixed_axes`` (the channels, by default): as in Keras,
        a convolutional layer built on 104 x 104 images runs on 128 x 128 ones,
        but not on images with another number of channels.
        """
        for axis in self.fixed_axes:
            axis = axis % len(shape)
            got, want = shape[axis], built_shape[axis]
            if want is not None and got != want:
                raise ValueError(
                    f"{self.name}: {where} has shape {shape}, but the layer was "
                    f"built for {tuple(built_shape)}; axis {axis} must be {want}")

    def _batchless_shape(self, inputs):
        """The (None, H, W, C) shape the layer builds from."""
        if self.n_inputs == 1:
            return (None,) + tuple(inputs.shape[1:])
        return [(None,) + tuple(x.shape[1:]) for x in inputs]

    # ----------------------------------------------------------------- weights
    def get_weights(self):
        """Copies of the weights, in Keras's order (e.g. [kernel, bias])."""
        return [w.copy() for w in self.params.values()]

    def set_weights(self, weights):
        """Set weights from a list in Keras's order; shapes must match."""
        if not self.built:
            raise ValueError(
                f"{self.name}: set_weights() needs a built layer; call it on an "
                "input or build((None, H, W, C)) first")
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(
                f"{self.name}: set_weights expects {len(self.params)} arrays "
                f"({', '.join(self.params)}), got {len(weights)}")
        for (key, current), new in zip(self.params.items(), weights):
            new = np.asarray(new)
            if new.shape != current.shape:
                raise ValueError(
                    f"{self.name}: weight '{key}' must have shape "
                    f"{current.shape}, got {new.shape}")
        for key, new in zip(list(self.params), weights):
            self.params[key] = np.array(new, dtype=self.dtype)

    def count_params(self):
        """Number of scalars in all weights, trainable or not (as Keras)."""
        return int(sum(w.size for w in self.params.values()))

    def compute_output_shape(self, input_shape):
        """Shape of the output for `input_shape` (None batch allowed)."""
        return tuple(input_shape)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"
