"""``model.summary()``: Keras's table of layers, shapes and parameter counts.

    Model: "functional"
    ______________________________________________________________________
     Layer (type)              Output Shape         Param #  Connected to
    ======================================================================
     input_layer (InputLayer)  (None, 110, 92, 1)   0        -
     conv2d (Conv2D)           (None, 110, 92, 3)   30       input_layer[0][0]
     ...
    ======================================================================
    Total params: 42
    Trainable params: 42
    Non-trainable params: 0
    ______________________________________________________________________

The parameter count of a layer is the number of scalars in its weights,
e.g. for Conv2D with a (kh, kw, C_in, F) kernel and a bias:

    params = kh * kw * C_in * F + F

Trainable parameters are the ones an optimizer updates; BatchNormalization's
moving mean and variance (and every weight of a layer with
``trainable=False``) are non-trainable. A Sequential model's table has no
"Connected to" column and no input row, as in Keras.
"""


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def layer_param_counts(layer):
    """(trainable, non-trainable) scalar counts of one layer's weights."""
    trainable = sum(layer.params[k].size for k in layer.trainable_param_names)
    return int(trainable), int(layer.count_params() - trainable)


def _rows(model, connected):
    """One row of cells per layer; extra inbound tensors get extra rows."""
    rows = []
    for layer in model.layers:
        shape = layer.output.shape
        sources = [f"{t.layer.name}[0][0]" for t in layer._inbound] or ["-"]
        first = [f"{layer.name} ({type(layer).__name__})", _shape_text(shape),
                 f"{layer.count_params():,}"]
        if connected:
            rows.append(first + [sources[0]])
            rows.extend(["", "", "", s] for s in sources[1:])
        else:
            rows.append(first)
    return rows


def summary_lines(model, line_length=None):
    """The lines of the summary table, as a list of strings."""
    connected = model.summary_connections
    header = ["Layer (type)", "Output Shape", "Param #"]
    if connected:
        header.append("Connected to")
    rows = _rows(model, connected)
    widths = [max(len(r[i]) for r in rows + [header]) + 2 for i in range(len(header))]
    total_width = max(sum(widths) + 1, line_length or 0)

    def line(cells):
        return (" " + "".join(c.ljust(w) for c, w in zip(cells, widths))).rstrip()

    trainable = sum(layer_param_counts(layer)[0] for layer in model.layers)
    total = model.count_params()
    lines = [f'Model: "{model.name}"', "_" * total_width, line(header), "=" * total_width]
    lines.extend(line(r) for r in rows)
    lines += ["=" * total_width,
              f"Total params: {total:,}",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              "_" * total_width]
    return lines


def print_summary(model, line_length=None, print_fn=None):
    """Print the table (or pass each line to `print_fn`)."""
    print_fn = print if print_fn is None else print_fn
    for text in summary_lines(model, line_length):
        print_fn(text)
