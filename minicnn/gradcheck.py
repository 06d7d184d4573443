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
prints one row each with its worst error.
"""
import numpy as np

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


def numerical_gradient(f, array, upstream=None, h=DEFAULT_STEP):
    """Central-difference gradient of sum(upstream * f()) w.r.t. `array`.

    `f` takes no arguments and reads `array`, which is perturbed in place
    (and restored). With `upstream=None`, f must return a scalar.
    """
    if array.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {array.dtype}")
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
        flat_grad[i] = (diff if upstream is None else np.sum(upstream * diff)) / (2 * h)
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
    xs = [np.array(x, dtype=np.float64) for x in (inputs if is_list else [inputs])]
    arg = xs if is_list else xs[0]

    def run():
        return layer.forward(arg, training=training)

    out = run()
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    dx = layer.backward(upstream)
    dxs = dx if is_list else [dx]
    analytic_param_grads = {k: g.copy() for k, g in layer.grads.items()}

    errors = {}
    for i, (x, d) in enumerate(zip(xs, dxs)):
        key = f"input_{i}" if is_list else "input"
        errors[key] = rel_error(d, numerical_gradient(run, x, upstream, h))
    for name, analytic in analytic_param_grads.items():
        numeric = numerical_gradient(run, layer.params[name], upstream, h)
        errors[name] = rel_error(analytic, numeric)
    run()
    layer.backward(upstream)   # leave the layer as after one clean pass
    return errors


def check_loss(loss, y_true, y_pred, seed=0, h=DEFAULT_STEP):
    """Compare ``loss.backward`` with finite differences w.r.t. y_pred.

    The scalar loss is scaled by a random upstream gradient g, so the check
    also proves that ``backward(g)`` scales by g. Returns {'y_pred': err}.
    """
    y_true = np.array(y_true, dtype=np.float64)
    y_pred = np.array(y_pred, dtype=np.float64)
    g = float(np.random.default_rng(seed).standard_normal())
    loss(y_true, y_pred)
    analytic = loss.backward(g)
    numeric = numerical_gradient(lambda: g * loss(y_true, y_pred), y_pred, None, h)
    loss(y_true, y_pred)
    return {"y_pred": rel_error(analytic, numeric)}
