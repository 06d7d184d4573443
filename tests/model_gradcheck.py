"""Finite-difference checks of a whole model's backward pass (float64).

For a model y = f(x; w) and a random upstream gradient G, the scalar
L = sum(G * y) has the gradients ``model.backward(G)`` computes: the input
gradient it returns and every layer's ``grads``. Each is compared with
central differences, on every entry or on a random sample of entries (a
U-Net has too many weights to perturb them all). The error is
``minicnn.gradcheck.rel_error``'s normwise measure.
"""
import numpy as np

from minicnn.gradcheck import DEFAULT_STEP


def _numeric(run, array, upstream, flat_index, h):
    flat = array.reshape(-1)
    out = np.empty(len(flat_index))
    for j, i in enumerate(flat_index):
        original = flat[i]
        flat[i] = original + h
        plus = run()
        flat[i] = original - h
        minus = run()
        flat[i] = original
        out[j] = sum(np.sum(u * (p - m)) for u, p, m in zip(upstream, plus, minus)) / (2 * h)
    return out


def model_gradient_errors(model, xs, training=False, seed=0, samples=None, h=DEFAULT_STEP):
    """{'input_i': err, '<layer>/<weight>': err} for model.backward vs differences.

    `xs` is a list of float64 arrays, one per input. `samples` (None: all)
    limits each array to that many random entries.
    """
    rng = np.random.default_rng(seed)
    xs = [np.array(x, dtype=np.float64) for x in xs]
    multi_in = len(model.inputs) > 1
    multi_out = len(model.outputs) > 1

    def run():
        out = model.forward(xs if multi_in else xs[0], training=training)
        return [np.array(o) for o in (out if multi_out else [out])]

    outs = run()
    upstream = [rng.standard_normal(o.shape) for o in outs]
    dx = model.backward(upstream if multi_out else upstream[0])
    analytic = {f"input_{i}": d for i, d in enumerate(dx if multi_in else [dx])}
    arrays = {f"input_{i}": x for i, x in enumerate(xs)}
    for layer, key in model.trainable_slots():
        analytic[f"{layer.name}/{key}"] = layer.grads[key].copy()
        arrays[f"{layer.name}/{key}"] = layer.params[key]

    errors = {}
    for name, array in arrays.items():
        n = array.size
        index = (np.arange(n) if samples is None or samples >= n
                 else rng.choice(n, size=samples, replace=False))
        numeric = _numeric(run, array, upstream, index, h)
        full = analytic[name]
        # rel_error's measure, max|a - b| / max(|a| + |b|), with the scale taken
        # from the whole gradient: a sample of small entries (input pixels that
        # only reach the output through BatchNormalization's batch statistics,
        # say) would otherwise be judged against its own finite-difference noise.
        sample = full.reshape(-1)[index]
        scale = max(1e-8, float(np.abs(full).max() + np.abs(numeric).max()))
        errors[name] = float(np.abs(sample - numeric).max()) / scale
    return errors
