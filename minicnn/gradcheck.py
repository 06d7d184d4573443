"""Check hand-written gradients against central finite differences.

For a layer y = f(x; w) and a random upstream gradient G (same shape as y) the
scalar L = sum(G * y) has the gradients the layer's ``backward(G)`` returns.
Each is compared with central differences, one element at a time:

    dL/dx_i  ~  sum(G * (f(x + h e_i) - f(x - h e_i))) / (2 h)

The outputs are subtracted before they are weighted by G, so the rounding
error stays near eps * |y| / h instead of eps * |L| / h. Everything runs in
float64: in float32 the rounding error alone (about 1e-7 / h) would swamp the
comparison.

The error reported for each gradient is

    rel_error(a, b) = max_i |a_i - b_i| / max(1e-8, max_i (|a_i| + |b_i|))

a relative error measured against the gradient's own scale. (Dividing element
by element instead makes any entry whose true value is near zero look wrong,
because finite differences have an absolute, not a relative, error floor.)
A correct float64 gradient gives about 1e-10; a wrong one gives 1e-2 or more.

``python -m minicnn.gradcheck`` checks every layer and loss of minicnn and
prints one row each with its worst error; ``python -m minicnn.gradcheck
conv2d`` only the rows of one class (``row_class``).
"""
import contextlib
import sys
import time

import numpy as np

from . import initializers, losses
from . import layers as L
from .backend import logits_of
from .config import floatx, set_floatx
from .rng import make_rng

DEFAULT_STEP = 1e-5


def rel_error(a, b):
    """Largest absolute difference relative to the largest |a| + |b|."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(1e-8, float(np.max(np.abs(a) + np.abs(b))))
    return float(np.max(np.abs(a - b)) / scale)


def numerical_gradient(f, array, dy=None, h=DEFAULT_STEP):
    """Central-difference gradient of sum(dy * f()) w.r.t. `array`.

    `f` takes no arguments and reads `array`, which is perturbed in place
    (and restored); dy is the upstream gradient arriving at f's output.
    With `dy=None`, f must return a scalar.
    """
    if array.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {array.dtype}")
    if not array.flags.c_contiguous:
        # reshape(-1) would return a copy and the perturbations would be lost.
        raise ValueError("numerical_gradient needs a C-contiguous array "
                         "(np.ascontiguousarray) so that it can perturb it in place")
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        plus = np.array(f(), dtype=np.float64)
        flat[i] = original - h
        minus = np.array(f(), dtype=np.float64)
        flat[i] = original
        diff = plus - minus
        flat_grad[i] = (diff if dy is None else np.sum(dy * diff)) / (2 * h)
    return grad


def check_layer(layer, inputs, training=False, seed=0, h=DEFAULT_STEP):
    """Compare ``layer.backward`` with finite differences; float64 only.

    `inputs` is an array (or a list for multi-input layers). Returns a dict
    {'input': err, <param name>: err, ...} ('input_0', 'input_1', ... for
    lists). The layer is left holding the cache and gradients of an
    unperturbed pass.
    """
    if layer.dtype != np.float64:
        raise TypeError(f"check_layer: {layer.name} must be float64 "
                        f"(dtype='float64'), got {layer.dtype}")
    is_list = isinstance(inputs, (list, tuple))
    xs = [np.array(x, dtype=np.float64, order="C")
          for x in (inputs if is_list else [inputs])]
    arg = xs if is_list else xs[0]

    def run():
        return layer.forward(arg, training=training)

    out = run()
    dy = np.random.default_rng(seed).standard_normal(out.shape)   # upstream gradient
    dx = layer.backward(dy)
    dxs = dx if is_list else [dx]
    analytic_param_grads = {k: g.copy() for k, g in layer.grads.items()}

    errors = {}
    for i, (x, d) in enumerate(zip(xs, dxs)):
        key = f"input_{i}" if is_list else "input"
        errors[key] = rel_error(d, numerical_gradient(run, x, dy, h))
    for name, analytic in analytic_param_grads.items():
        numeric = numerical_gradient(run, layer.params[name], dy, h)
        errors[name] = rel_error(analytic, numeric)
    run()
    layer.backward(dy)         # leave the layer as after one clean pass
    return errors


def check_loss(loss, y_true, y_pred, seed=0, h=DEFAULT_STEP, activation=None):
    """Compare ``loss.backward`` with finite differences w.r.t. y_pred.

    The scalar loss is scaled by a random upstream gradient dy, so the check
    also proves that ``backward(dy)`` scales by dy. With `activation`
    ('softmax' or 'sigmoid') y_pred holds logits and the loss is called as
    the training loop calls it after that activation,
    ``loss.on_logits(y_true, backend.logits_of(activation, y_pred))``.
    Returns {'y_pred': err}.
    """

    y_true = np.array(y_true, dtype=np.float64, order="C")
    y_pred = np.array(y_pred, dtype=np.float64, order="C")
    dy = float(np.random.default_rng(seed).standard_normal())

    def value():
        if activation is None:
            return loss(y_true, y_pred)
        return loss.on_logits(y_true, logits_of(activation, y_pred))

    value()
    analytic = loss.backward(dy)
    numeric = numerical_gradient(value, y_pred, dy, h)
    value()
    return {"y_pred": rel_error(analytic, numeric)}


# ------------------------------------------------------- the table of everything
def _inputs(shape, seed, kind="normal"):
    """float64 test inputs that keep finite differences away from kinks.

    'distinct': a shuffled ramp, so no two values tie (max pooling);
    'away_from_zero': |values| >= 0.1 (ReLU); 'probabilities': softmax rows.
    """
    rng = np.random.default_rng(seed)
    if kind == "distinct":
        return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
    values = rng.standard_normal(shape)
    if kind == "away_from_zero":
        return np.sign(values) * (0.1 + np.abs(values))
    if kind == "probabilities":
        e = np.exp(values - values.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return values


def _layer_cases():
    """(description, layer, inputs, training) for every layer of minicnn."""

    class FixedMaskDropout(L.Dropout):
        """Dropout whose mask is the same on every call, so that finite
        differences see one fixed function (a fresh mask per call is noise)."""

        def _forward(self, x, training):
            self._rng = make_rng(self.seed)
            return super()._forward(x, training)

    x = (2, 7, 6, 3)
    bias = {"bias_initializer": initializers.HeNormal(seed=1)}
    return [
        ("Conv2D 3x3 'same'", L.Conv2D(4, 3, padding="same", **bias), _inputs(x, 1), False),
        ("Conv2D 2x3 'valid' stride 2", L.Conv2D(2, (2, 3), strides=2, **bias),
         _inputs(x, 2), False),
        ("Conv2D 4x4 'same' stride 3 (asymmetric pad)",
         L.Conv2D(2, 4, strides=3, padding="same", **bias), _inputs(x, 3), False),
        ("Conv2D 3x3 dilation 2 + relu", L.Conv2D(3, 3, dilation_rate=2, padding="same",
                                                  activation="relu", **bias),
         _inputs(x, 4), False),
        ("Conv2D 3x3 stride 2 dilation 2", L.Conv2D(2, 3, strides=2, dilation_rate=2,
                                                    padding="same", **bias),
         _inputs(x, 5), False),
        ("Conv2D 1x1 softmax", L.Conv2D(3, 1, activation="softmax", **bias),
         _inputs(x, 6), False),
        ("Conv2DTranspose 2x2 stride 2", L.Conv2DTranspose(2, 2, strides=2, **bias),
         _inputs(x, 7), False),
        ("Conv2DTranspose 3x3 'same' s2 output_padding 1",
         L.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1, **bias),
         _inputs(x, 8), False),
        ("MaxPooling2D 2x2", L.MaxPooling2D(2), _inputs(x, 9, "distinct"), False),
        ("MaxPooling2D 3x3 stride 2 'same'", L.MaxPooling2D(3, strides=2, padding="same"),
         _inputs(x, 10, "distinct"), False),
        ("AveragePooling2D 2x2", L.AveragePooling2D(2), _inputs(x, 28), False),
        ("AveragePooling2D 3x3 stride 2 'same'",
         L.AveragePooling2D(3, strides=2, padding="same"), _inputs(x, 29), False),
        ("UpSampling2D nearest (2, 3)", L.UpSampling2D((2, 3)), _inputs(x, 11), False),
        ("UpSampling2D bilinear 2", L.UpSampling2D(2, interpolation="bilinear"),
         _inputs(x, 12), False),
        ("ZeroPadding2D ((1, 2), (0, 3))", L.ZeroPadding2D(((1, 2), (0, 3))),
         _inputs(x, 13), False),
        ("Cropping2D ((1, 0), (2, 1))", L.Cropping2D(((1, 0), (2, 1))),
         _inputs(x, 14), False),
        ("BatchNormalization (training)", L.BatchNormalization(
            gamma_initializer=initializers.HeNormal(seed=2),
            beta_initializer=initializers.HeNormal(seed=3)), _inputs(x, 15), True),
        ("BatchNormalization (inference)", L.BatchNormalization(
            moving_mean_initializer=initializers.HeNormal(seed=4)), _inputs(x, 16), False),
        ("Dropout 0.3 (training, fixed mask)", FixedMaskDropout(0.3, seed=5),
         _inputs(x, 17), True),
        ("Activation relu", L.Activation("relu"), _inputs(x, 18, "away_from_zero"), False),
        ("Activation sigmoid", L.Activation("sigmoid"), _inputs(x, 19), False),
        ("Activation tanh", L.Activation("tanh"), _inputs(x, 20), False),
        ("ReLU max_value 1 slope 0.1", L.ReLU(max_value=1.0, negative_slope=0.1),
         _inputs(x, 21, "away_from_zero") * 0.8 + 0.05, False),
        ("Softmax axis -1", L.Softmax(), _inputs(x, 22), False),
        ("Concatenate axis -1", L.Concatenate(), [_inputs(x, 23), _inputs((2, 7, 6, 2), 24)],
         False),
        ("Add", L.Add(), [_inputs(x, 25), _inputs(x, 26), _inputs(x, 27)], False),
    ]


def _loss_cases():
    """(description, loss, y_true, y_pred) for every loss of minicnn."""
    shape = (2, 5, 4, 3)
    labels = np.random.default_rng(30).integers(0, 3, size=shape[:3])
    onehot = np.eye(3)[labels]
    logits = _inputs(shape, 31) * 2
    probs = 0.05 + 0.85 * _inputs(shape, 32, "probabilities")
    binary = (np.random.default_rng(33).random(shape) > 0.5).astype(float)
    return [
        ("CategoricalCrossentropy", losses.CategoricalCrossentropy(), onehot, probs),
        ("CategoricalCrossentropy from_logits",
         losses.CategoricalCrossentropy(from_logits=True), onehot, logits),
        ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy(),
         labels, probs),
        ("SparseCategoricalCrossentropy from_logits",
         losses.SparseCategoricalCrossentropy(from_logits=True), labels, logits),
        ("BinaryCrossentropy", losses.BinaryCrossentropy(), binary, probs),
        ("BinaryCrossentropy from_logits", losses.BinaryCrossentropy(from_logits=True),
         binary, logits),
        ("Dice (soft, per class, smooth 1)", losses.Dice(), onehot,
         _inputs(shape, 34, "probabilities")),
        ("WeightedSum CategoricalCrossentropy + Dice",
         losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()]), onehot, probs),
    ]


def _logit_loss_cases():
    """(description, loss, y_true, logits, activation): the training loop's path."""
    shape = (2, 5, 4, 3)
    labels = np.random.default_rng(40).integers(0, 3, size=shape[:3])
    onehot = np.eye(3)[labels]
    logits = _inputs(shape, 41)
    binary = (np.random.default_rng(42).random(shape) > 0.5).astype(float)
    return [
        ("CategoricalCrossentropy on softmax logits (fit)",
         losses.CategoricalCrossentropy(), onehot, logits, "softmax"),
        ("SparseCategoricalCrossentropy on softmax logits",
         losses.SparseCategoricalCrossentropy(), labels, logits, "softmax"),
        ("BinaryCrossentropy on sigmoid logits (fit)",
         losses.BinaryCrossentropy(), binary, logits, "sigmoid"),
        ("WeightedSum CategoricalCrossentropy + Dice on softmax logits (fit)",
         losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()]), onehot,
         logits, "softmax"),
    ]


class UnknownName(ValueError):
    """A name given to ``select`` that no row of the table checks."""


@contextlib.contextmanager
def _float64():
    """Layers and losses made and run inside are float64 (the table's dtype)."""
    previous = floatx()
    set_floatx("float64")
    try:
        yield
    finally:
        set_floatx(previous)


def _in_float64(check):
    def run():
        with _float64():
            return check()
    return run


def rows():
    """[(description, check)]: the table, one row per case, nothing computed
    yet; ``check()`` returns {gradient name: relative error}. A description
    starts with the layer or loss class it checks (``row_class``)."""
    with _float64():
        table = [(d, lambda layer=layer, x=x, t=t: check_layer(layer, x, training=t))
                 for d, layer, x, t in _layer_cases()]
        table += [(d, lambda loss=loss, yt=yt, yp=yp: check_loss(loss, yt, yp))
                  for d, loss, yt, yp in _loss_cases()]
        table += [(d, lambda loss=loss, yt=yt, z=z, a=a: check_loss(loss, yt, z, activation=a))
                  for d, loss, yt, z, a in _logit_loss_cases()]
    return [(d, _in_float64(check)) for d, check in table]


def normalise_name(name):
    """'Conv2DTranspose', 'conv2d_transpose' and 'conv2d-transpose' -> 'conv2dtranspose'."""
    return "".join(ch for ch in name.lower() if ch not in "_- ")


def row_class(description):
    """The class a row checks: its description's first word ('Conv2D', 'Dice')."""
    return description.split()[0]


def select(table, names):
    """The rows whose class equals one of `names` (ignoring case, '_', '-' and
    spaces); all rows if `names` is empty. Raises UnknownName, listing the
    classes there are, when a name matches nothing."""
    if not names:
        return table
    wanted = {normalise_name(name): name for name in names}
    unmatched = set(wanted) - {normalise_name(row_class(d)) for d, _ in table}
    if unmatched:
        classes = sorted({row_class(d) for d, _ in table}, key=str.lower)
        raise UnknownName(
            f"gradcheck: no row checks {', '.join(repr(wanted[u]) for u in sorted(unmatched))}; "
            f"the names are {', '.join(classes)}")
    return [(d, check) for d, check in table if normalise_name(row_class(d)) in wanted]


def main(names=(), tolerance=1e-7):
    """Check every layer and loss (or the classes in `names`); print one row
    each; return 0, or 1 if a row fails."""
    selected = select(rows(), names)
    print("minicnn gradient check: float64 central differences (h = "
          f"{DEFAULT_STEP:g}), random upstream gradient, pass below {tolerance:g}\n")
    print(f"{'case':<50} {'worst error':>12}  {'per gradient':<40}")
    print("-" * 108)
    failures, worst_of_all, start = 0, 0.0, time.perf_counter()
    for description, check in selected:
        errors = check()
        worst = max(errors.values())
        worst_of_all = max(worst_of_all, worst)
        failures += worst >= tolerance
        detail = "  ".join(f"{k} {v:.1e}" for k, v in errors.items())
        status = "ok" if worst < tolerance else "FAIL"
        print(f"{description:<50} {worst:>12.2e}  {detail}  {status}", flush=True)
    print("-" * 108)
    print(f"{len(selected) - failures} passed, {failures} failed "
          f"({len(selected)} cases in {time.perf_counter() - start:.1f} s); "
          f"worst error {worst_of_all:.2e}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UnknownName as error:
        print(error, file=sys.stderr)
        sys.exit(2)
