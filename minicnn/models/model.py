"""``Model`` (functional) and ``Sequential``: a graph of layers as one function.

    inputs = layers.Input((104, 104, 1))
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    outputs = layers.Conv2D(2, 1, activation="softmax")(h)
    model = models.Model(inputs, outputs)

    y = model.forward(x, training=True)     # (N, 104, 104, 2)
    dx = model.backward(dy)                 # fills every layer's .grads

The layers are put in order once, when the model is made (see ``graph.py``):
``forward`` runs them in that order and ``backward`` in reverse, summing the
gradients of tensors read by several layers. Nothing is differentiated
automatically: each layer's own backward is called once.

Weights
-------
``get_weights()`` lists every layer's weights, layer by layer in
``model.layers`` order, each layer's in Keras's order (kernel, bias; gamma,
beta, moving_mean, moving_variance). That is the list Keras gives for a model
built with the same code, so weights move both ways::

    keras_model.set_weights(model.get_weights())
    model.set_weights(keras_model.get_weights())

``Sequential`` is a functional model whose graph is a chain. As in Keras, its
``layers`` leave out the input layer, and it can be built lazily: without an
``Input`` first, the graph is made on the first call (or ``build(shape)``).
"""
import numpy as np

from ..layers.base import Layer, unique_name
from ..layers.core import Input, InputLayer
from ..layers.symbolic import SymbolicTensor
from . import saving, summary as summary_module
from .graph import layer_order, run_backward, run_forward
from .training import TrainingMixin


class Model(TrainingMixin):
    """A functional model: the layers between `inputs` and `outputs`."""

    summary_connections = True      # summary() lists each layer's inputs (not Sequential's)

    def __init__(self, inputs, outputs, name=None):
        self.name = name if name is not None else unique_name("Functional")
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        self._multi_input = isinstance(inputs, (list, tuple))
        self._multi_output = isinstance(outputs, (list, tuple))
        order = layer_order(inputs, outputs)
        self.inputs = list(inputs) if self._multi_input else [inputs]
        self.outputs = list(outputs) if self._multi_output else [outputs]
        names = [layer.name for layer in order]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"Model: the layer name {name!r} is used "
                                 f"{names.count(name)} times; names must be unique")
        self._order = order
        self.built = True
        self.stop_training = False

    # ------------------------------------------------------------------ graph
    @property
    def layers(self):
        """The model's layers in Keras's order (get_weights order)."""
        return list(self._order)

    def get_layer(self, name=None, index=None):
        """A layer by its name or by its position in ``layers``."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range for a "
                                 f"model with {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are "
                         f"{[layer.name for layer in layers]}")

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes if self._multi_input else shapes[0]

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes if self._multi_output else shapes[0]

    # --------------------------------------------------------- forward/backward
    def forward(self, x, training=False):
        """Run the model on `x` (a list of arrays for several inputs)."""
        self._require_built()
        xs = self._as_list(x, len(self.inputs), self._multi_input, "x", "input")
        outs = run_forward(self._order, self.inputs, self.outputs, xs, bool(training))
        return outs if self._multi_output else outs[0]

    def __call__(self, x, training=False):
        if isinstance(x, SymbolicTensor) or (
                isinstance(x, (list, tuple)) and any(isinstance(t, SymbolicTensor) for t in x)):
            raise TypeError(
                f"{self.name}: calling a model on symbolic tensors (nesting models) "
                "is not supported; build one model from the layers instead")
        return self.forward(x, training=training)

    def backward(self, dy):
        """Backpropagate dL/d(output): fills every layer's ``grads``, returns dL/dx.

        `dy` has the shape of the last forward output (a list for several
        outputs), or is ``layers.AtLogits(dz)``, the gradient at the logits
        of a softmax or sigmoid output (``output_logits``). It is read,
        never modified.
        """
        self._require_built()
        dys = self._as_list(dy, len(self.outputs), self._multi_output, "dy", "output")
        dxs = run_backward(self._order, self.inputs, self.outputs, dys)
        return dxs if self._multi_input else dxs[0]

    def output_logits(self):
        """The ``backend.Logits`` of the last forward when the (single) output
        layer ends in a softmax or sigmoid, else None (``Layer.output_logits``)."""
        self._require_built()
        if self._multi_output:
            return None
        return self.outputs[0].layer.output_logits()

    def _as_list(self, value, n, multi, what, kind):
        """`value` as a list of `n` arrays, refusing a list for a single one."""
        is_list = isinstance(value, (list, tuple))
        if not multi:
            if is_list:
                raise TypeError(f"{self.name}: {what} must be one array (the model "
                                f"has one {kind}), got a {type(value).__name__}")
            return [value]
        if not is_list or len(value) != n:
            got = f"{len(value)} arrays" if is_list else type(value).__name__
            raise ValueError(f"{self.name}: {what} must be a list of {n} arrays, "
                             f"one per model {kind}, got {got}")
        return list(value)

    def _require_built(self):
        if not self.built:
            raise ValueError(
                f"{self.name} is not built yet: give it a layers.Input first, call "
                "build((None, H, W, C)), or run it once on data")

    # ----------------------------------------------------------------- weights
    def get_weights(self):
        """Copies of every weight, in Keras's order (see the module docstring)."""
        self._require_built()
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Set every weight from a list in ``get_weights()`` order.

        All shapes are checked before any weight changes, so a wrong list
        leaves the model as it was.
        """
        self._require_built()
        weights = list(weights)
        slots = [(layer, key) for layer in self.layers for key in layer.params]
        if len(weights) != len(slots):
            raise ValueError(
                f"{self.name}.set_weights: expected {len(slots)} arrays (the model's "
                f"weights in get_weights() order), got {len(weights)}")
        for i, ((layer, key), new) in enumerate(zip(slots, weights)):
            shape = np.shape(new)
            if shape != layer.params[key].shape:
                raise ValueError(
                    f"{self.name}.set_weights: array {i} is for {layer.name}/{key}, "
                    f"which has shape {layer.params[key].shape}, got {shape}")
        start = 0
        for layer in self.layers:
            n = len(layer.params)
            if n:
                layer.set_weights(weights[start:start + n])
            start += n

    def trainable_slots(self):
        """(layer, weight name) of every trainable weight, in Keras's order."""
        return [(layer, key) for layer in self.layers
                for key in layer.trainable_param_names]

    def count_params(self):
        """Number of scalars in all weights, trainable or not."""
        self._require_built()
        return int(sum(layer.count_params() for layer in self.layers))

    def summary(self, line_length=None, print_fn=None):
        """Print Keras's summary table; see ``minicnn.models.summary``."""
        self._require_built()
        summary_module.print_summary(self, line_length=line_length, print_fn=print_fn)

    def save_weights(self, filepath):
        """Write the weights to `filepath`: '.npz' (minicnn) or '.weights.h5' (Keras)."""
        self._require_built()
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        """Read weights written by ``save_weights`` or by Keras (.weights.h5)."""
        self._require_built()
        saving.load_weights(self, filepath)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class Sequential(Model):
    """A plain stack of layers, each fed by the one before.

    ``Sequential([layers.Input((110, 92, 1)), layers.Conv2D(3, 3), ...])``
    is built at once; without the ``Input`` the model is built from the
    first data it sees (or an explicit ``build((None, H, W, C))``).
    """

    summary_connections = False     # each layer reads the one above, as Keras shows it

    def __init__(self, layers=None, name=None):
        self.name = name if name is not None else unique_name("Sequential")
        self._stack = []                # the layers, without the input layer
        self._input = None              # the Input tensor, once known
        self.built = False
        self.stop_training = False
        self._multi_input = self._multi_output = False
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        """The layers in order, without the input layer (as in Keras)."""
        return list(self._stack)

    def add(self, layer):
        """Append a layer (or, first, an Input tensor or InputLayer)."""
        if isinstance(layer, InputLayer):
            layer = layer.output
        if isinstance(layer, SymbolicTensor):
            if not isinstance(layer.layer, InputLayer):
                raise TypeError(f"{self.name}.add: a symbolic tensor can only be a "
                                "layers.Input, got the output of "
                                f"{layer.layer.name!r}")
            if self._input is not None or self._stack:
                raise ValueError(f"{self.name}.add: an Input must come first, "
                                 "before any other layer")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.name}.add: expects a minicnn Layer, got "
                            f"{type(layer).__name__}")
        if layer.n_inputs != 1:
            raise TypeError(f"{self.name}.add: {layer.name} takes several inputs; "
                            "use the functional Model for merges")
        if self._input is not None:
            tail = self.outputs[0] if self.built else self._input
            new_tail = layer(tail)       # builds the layer; raises if shapes clash
            self._stack.append(layer)
            self._init_graph(self._input, new_tail)
        else:
            self._stack.append(layer)

    def build(self, input_shape):
        """Make the graph for inputs of `input_shape` = (None, H, W, C)."""
        if self.built:
            return
        input_shape = tuple(input_shape)
        tensor = Input(input_shape[1:], dtype=self._stack[0].dtype if self._stack else None)
        self._input = tensor
        for layer in self._stack:
            tensor = layer(tensor)
        self._init_graph(self._input, tensor)

    def forward(self, x, training=False):
        if not self.built:
            if not self._stack:
                raise ValueError(f"{self.name} has no layers; add some first")
            if isinstance(x, (list, tuple)) or not hasattr(x, "shape"):
                x = np.asarray(x)
            self.build((None,) + tuple(x.shape[1:]))
        return super().forward(x, training=training)
