"""The symbolic tensors of a model being defined, and calling a layer on them.

A functional model is defined by calling layers on placeholders instead of
arrays, exactly as in Keras::

    x = layers.Input((104, 104, 1))                 # SymbolicTensor (None, 104, 104, 1)
    h = layers.Conv2D(32, 3, padding="same")(x)     # SymbolicTensor (None, 104, 104, 32)
    model = models.Model(x, h)

A ``SymbolicTensor`` holds no numbers. It records

- ``shape``:  (None, H, W, C), the batch left as None (other axes may be None
  too, for a fully convolutional model of any image size);
- ``layer``:  the layer that produced it;
- ``inbound``: the tensors that layer was called on.

Calling a layer on symbolic tensors (``Layer.__call__`` forwards here) builds
the layer from the input shape, so its weights exist at once, computes the
output shape with ``compute_output_shape``, and returns a new tensor linked
to its inputs (also kept as ``layer.output``, as in Keras).
``minicnn.models.Model`` walks these links back from the outputs to find the
graph.

A minicnn layer keeps one forward cache, so it can appear at one place in one
graph only: calling it twice on symbolic tensors (Keras's shared layers) is
refused with an error rather than giving wrong gradients.

This module needs no layer class (it calls the layer's own methods), so the
Layer base class can import it.
"""


class SymbolicTensor:
    """A placeholder in a model being defined: a shape and where it came from."""

    def __init__(self, shape, dtype, layer, inbound):
        self.shape = tuple(shape)      # (None, H, W, C)
        self.dtype = dtype
        self.layer = layer             # the layer whose output this is
        self.inbound = list(inbound)   # the tensors `layer` was called on

    @property
    def name(self):
        return self.layer.name

    def __repr__(self):
        return (f"<SymbolicTensor shape={self.shape} dtype={self.dtype.name} "
                f"from {self.layer.name!r}>")


def is_symbolic(inputs):
    """True if `inputs` is a SymbolicTensor or a list holding one."""
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return any(isinstance(t, SymbolicTensor) for t in items)


def call_symbolic(layer, inputs):
    """``layer(inputs)`` on symbolic tensors: build, infer the shape, link."""
    tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    for i, t in enumerate(tensors):
        if not isinstance(t, SymbolicTensor):
            raise TypeError(
                f"{layer.name}: cannot mix symbolic tensors (from layers.Input) "
                f"and arrays in one call; item {i} is a {type(t).__name__}")
    if layer.n_inputs == 1 and isinstance(inputs, (list, tuple)):
        raise TypeError(f"{layer.name}: expects one tensor, got a "
                        f"{type(inputs).__name__} of {len(inputs)}")
    if layer.n_inputs is None and (not isinstance(inputs, (list, tuple))
                                   or len(inputs) < 2):
        raise TypeError(f"{layer.name}: expects a list of two or more tensors, "
                        f"got {inputs!r}")
    if layer._inbound is not None:
        raise ValueError(
            f"{layer.name} has already been called on symbolic tensors; a minicnn "
            "layer keeps one forward cache, so it can appear only once in a "
            "model. Create a new layer (with the same arguments) instead of "
            "sharing this one")
    for i, t in enumerate(tensors):
        if layer.input_ndim is not None and len(t.shape) != layer.input_ndim:
            raise ValueError(
                f"{layer.name}: input {i} must have rank {layer.input_ndim} "
                f"(batch, height, width, channels), got shape {t.shape}")
    shapes = [t.shape for t in tensors]
    in_shape = shapes[0] if layer.n_inputs == 1 else shapes
    if not layer.built:
        layer.build(in_shape)
    elif layer.n_inputs == 1:
        layer._check_compatible(in_shape, layer.input_shape)
    else:
        for i, (shape, built) in enumerate(zip(shapes, layer.input_shape)):
            layer._check_compatible(shape, built, f"inputs[{i}]")
    out_shape = tuple(layer.compute_output_shape(in_shape))
    layer._inbound = tensors
    layer.output = SymbolicTensor(out_shape, layer.dtype, layer, tensors)
    return layer.output
