"""The graph of a functional model, ordered once, run forwards and backwards.

Calling layers on symbolic tensors (``minicnn.layers.core``) links every
tensor to the layer that made it and to that layer's input tensors. From the
model's outputs, these links lead back to its inputs: that is the graph.

Order
-----
``layer_order(inputs, outputs)`` sorts the layers as Keras does, because the
order of ``Model.layers`` is the order of ``get_weights()`` and of the groups in
a ``.weights.h5`` file:

1. a depth-first walk from each output, visiting a layer's inputs in the
   order they were passed, numbers every layer when first reached;
2. depth(layer) = the length of the longest path from it to an output
   (0 for the output layers);
3. layers are sorted by decreasing depth, ties by their number from step 1.

A layer feeds only layers of smaller depth, so this order is also a valid
execution order: every layer runs after all of its inputs exist.

Forward and backward
--------------------
Forward runs the layers in order, keeping each layer's output in a dict
{tensor: array}. Backward runs them in reverse order; a tensor read by k
layers (a U-Net skip connection, say) receives k gradients, which are summed
before its own layer's backward runs:

    dL/dt = sum over the layers l that read t of  (dL/d input of l, for t)

This is the multivariate chain rule, and the only bookkeeping a graph needs
beyond a plain stack of layers.
"""
from ..layers.base import AtLogits
from ..layers.core import InputLayer
from ..layers.symbolic import SymbolicTensor


def _as_tensor_list(tensors, what):
    items = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if not items:
        raise ValueError(f"Model: {what} must hold at least one tensor, got {tensors!r}")
    for i, t in enumerate(items):
        if not isinstance(t, SymbolicTensor):
            raise TypeError(
                f"Model: {what}[{i}] must be a symbolic tensor from layers.Input or "
                f"from calling a layer on one, got {type(t).__name__}")
    return items


def layer_order(inputs, outputs):
    """The layers between `inputs` and `outputs`, in Keras's order."""
    inputs = _as_tensor_list(inputs, "inputs")
    outputs = _as_tensor_list(outputs, "outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t.layer, InputLayer):
            raise ValueError(
                f"Model: inputs[{i}] comes from layer {t.layer.name!r}, not from "
                "layers.Input; model inputs must be Input tensors")

    # 1. depth-first walk; number layers when first reached, list them after
    #    their inputs (post-order), so the list runs from inputs to outputs.
    #    (A tensor can only be made from tensors that already exist, so the
    #    graph has no cycles to guard against.)
    index, post_order = {}, []

    def visit(tensor):
        layer = tensor.layer
        if layer in index:
            return
        index[layer] = len(index)
        for parent in tensor.inbound:
            visit(parent)
        post_order.append(layer)

    for t in outputs:
        visit(t)

    # 2. depth: outputs 0; each layer's inputs at least one deeper.
    depth = {}
    for layer in reversed(post_order):
        d = depth.setdefault(layer, 0)
        for parent in layer._inbound:
            depth[parent.layer] = max(depth.get(parent.layer, 0), d + 1)

    # Every Input the outputs depend on must be a declared input, and every
    # declared input must be used.
    input_layers = [t.layer for t in inputs]
    for layer in post_order:
        if isinstance(layer, InputLayer) and layer not in input_layers:
            raise ValueError(
                f"Model: graph disconnected; the outputs depend on input "
                f"{layer.name!r} {layer.output.shape}, which is not among the "
                f"model's inputs {[t.name for t in inputs]}")
    for layer in input_layers:
        if layer not in depth:
            raise ValueError(
                f"Model: input {layer.name!r} is not connected to any output")
    if len(set(input_layers)) != len(input_layers):
        raise ValueError("Model: the same Input tensor is listed twice in inputs")

    # 3. sort by decreasing depth, ties in walk order.
    return sorted(post_order, key=lambda layer: (-depth[layer], index[layer]))


def run_forward(order, inputs, outputs, xs, training):
    """Run the layers in `order`; `xs` are arrays for the `inputs` tensors."""
    values = dict(zip((t.layer for t in inputs), xs))
    for layer in order:
        if isinstance(layer, InputLayer):
            values[layer] = layer.forward(values[layer], training=training)
            continue
        args = [values[t.layer] for t in layer._inbound]
        arg = args[0] if layer.n_inputs == 1 else args
        values[layer] = layer.forward(arg, training=training)
    return [values[t.layer] for t in outputs]


def run_backward(order, inputs, outputs, dys):
    """Backpropagate `dys` (one per output); returns one gradient per input.

    A dy may be ``layers.AtLogits(dz)``, a gradient at its output layer's
    logits (``Layer.backward``); that layer must then feed no other layer."""
    grads = {}                          # layer -> gradient w.r.t. its output

    def add(layer, g):
        if layer in grads and AtLogits in (type(g), type(grads[layer])):
            raise ValueError(f"{layer.name}: a gradient AtLogits cannot be added to the "
                             "gradient of a layer that reads this output")
        # A new array, never an in-place +=: `g` may be another layer's dy.
        grads[layer] = g if layer not in grads else grads[layer] + g

    for t, dy in zip(outputs, dys):
        add(t.layer, dy)
    for layer in reversed(order):
        dy = grads.pop(layer)
        dx = layer.backward(dy)
        if isinstance(layer, InputLayer):
            grads[layer] = dx           # kept: it is the model's input gradient
            continue
        dxs = [dx] if layer.n_inputs == 1 else dx
        for parent, g in zip(layer._inbound, dxs):
            add(parent.layer, g)
    return [grads[t.layer] for t in inputs]
