"""Run a Keras layer and differentiate it with tf.GradientTape, for parity tests.

The reference for every minicnn layer is the Keras layer of the same name,
float64, with the same weights (set with ``set_weights``). Given the same
random upstream gradient G, both must produce the same output and the same
gradients of sum(G * y) with respect to the input(s) and every trainable
weight.

Importing this module does not import Keras or TensorFlow: only the tests
that compare with Keras need them, and they get them from the ``keras`` and
``tf`` fixtures of conftest.py or from import_keras() / import_tensorflow()
here, which skip the calling test with KERAS_PARITY_REASON when they are not
installed. Every other test runs with the light install (no test extra).
"""
import numpy as np
import pytest

KERAS_PARITY_REASON = "Keras parity: needs keras + tensorflow (pip install -e '.[test]')"
H5PY_REASON = "Keras .weights.h5 files: needs h5py (pip install -e '.[test]')"

PARITY_TOL = 1e-10


def import_tensorflow():
    """The tensorflow module, or skip the calling test if it is not installed."""
    return pytest.importorskip("tensorflow", reason=KERAS_PARITY_REASON)


def import_keras():
    """The keras module, or skip the calling test without Keras or TensorFlow.

    TensorFlow is Keras's backend here (conftest.py sets KERAS_BACKEND), so a
    Keras without TensorFlow is skipped the same way.
    """
    import_tensorflow()
    return pytest.importorskip("keras", reason=KERAS_PARITY_REASON)


def import_h5py():
    """The h5py module, or skip the calling test if it is not installed."""
    return pytest.importorskip("h5py", reason=H5PY_REASON)


def keras_forward_backward(keras_layer, inputs, upstream, training=False):
    """(output, [d inputs], {weight name: gradient}) of a Keras layer."""
    tf = import_tensorflow()
    is_list = isinstance(inputs, (list, tuple))
    xs = [tf.constant(np.asarray(x, dtype=np.float64)) for x in
          (inputs if is_list else [inputs])]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        out = keras_layer(xs if is_list else xs[0], training=training)
        scalar = tf.reduce_sum(out * tf.constant(upstream, dtype=out.dtype))
    weights = list(keras_layer.trainable_weights)
    grads = tape.gradient(scalar, xs + weights)
    dxs = [g.numpy() if g is not None else np.zeros(x.shape) for g, x in zip(grads, xs)]
    dws = {w.name: g.numpy() for w, g in zip(weights, grads[len(xs):])}
    return out.numpy(), (dxs if is_list else dxs[0]), dws


def assert_parity(layer, keras_layer, inputs, training=False, seed=0, tol=PARITY_TOL):
    """Forward output and every gradient of `layer` match `keras_layer`.

    Both layers must already be built and hold the same weights.
    """
    from minicnn.gradcheck import rel_error
    out = layer.forward(inputs, training=training)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    dx = layer.backward(upstream)
    k_out, k_dx, k_dw = keras_forward_backward(keras_layer, inputs, upstream, training)
    assert out.shape == k_out.shape, (out.shape, k_out.shape)
    errors = {"output": rel_error(out, k_out)}
    if isinstance(dx, list):
        for i, (a, b) in enumerate(zip(dx, k_dx)):
            errors[f"input_{i}"] = rel_error(a, b)
    else:
        errors["input"] = rel_error(dx, k_dx)
    for name, grad in layer.grads.items():
        errors[name] = rel_error(grad, k_dw[name])
    worst = max(errors.values())
    assert worst < tol, errors
    return errors
