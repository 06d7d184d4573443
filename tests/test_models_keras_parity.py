"""Whole models against Keras, float64, identical weights.

The course's simple CNN (and its dropout and dilation variants) and its
U-Net are built in minicnn and, independently, in Keras (tests/keras_models.py).
With the same weights:

- Keras orders the layers, and so the weights, the same way;
- predictions agree to 1e-10 (relative, normwise);
- the gradients of the categorical cross-entropy w.r.t. every weight
  (minicnn's backward against tf.GradientTape) agree to 1e-9;
- one Adam step from the same state gives the same weights to 1e-9.

Inputs are small (16 x 16, divisible by the U-Net's 2**3) to keep this fast;
the 104 x 104 U-Net appears only in the parameter-count tests.
"""
import numpy as np
import pytest

from keras_models import keras_conv_stack, keras_loss_gradients, keras_unet, one_hot_targets
from minicnn import layers, losses, models, optimizers
from minicnn.gradcheck import rel_error

# Every test here compares with Keras: without it each is skipped with the
# fixture's reason, and the module is still imported and collected.
pytestmark = pytest.mark.usefixtures("keras")

PRED_TOL = 1e-10
GRAD_TOL = 1e-9
F64 = "float64"


def minicnn_loss_gradients(model, x, y, training):
    """(y_pred, loss, [dL/dw for trainable weights]) with model.backward."""
    loss_fn = losses.CategoricalCrossentropy()
    y_pred = model.forward(x, training=training)
    loss = loss_fn(y, y_pred)
    model.backward(loss_fn.backward())
    return y_pred, loss, [layer.grads[key] for layer, key in model.trainable_slots()]


def assert_loss_parity(model, kmodel, x, y, training):
    """Same prediction, loss and loss gradients; returns the worst errors seen."""
    pred, loss, grads = minicnn_loss_gradients(model, x, y, training)
    k_pred, k_loss, k_grads = keras_loss_gradients(kmodel, x, y, training)
    pred_err = rel_error(pred, k_pred)
    assert pred_err < PRED_TOL, pred_err
    assert abs(loss - k_loss) <= PRED_TOL * abs(k_loss)
    assert len(grads) == len(k_grads)
    grad_errs = [rel_error(g, k) for g, k in zip(grads, k_grads)]
    assert max(grad_errs) < GRAD_TOL, grad_errs
    # The test could fail: the gradients are not all zero.
    assert min(float(np.abs(g).max()) for g in grads) > 0
    return pred_err, max(grad_errs)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 16, 16, 1))
    y = one_hot_targets(rng, (2, 16, 16), 2)
    return x, y


@pytest.fixture(scope="module")
def unet_pair():
    model = models.unet((16, 16, 1), 2, dtype=F64)
    kmodel = keras_unet((16, 16, 1), 2)
    kmodel.set_weights(model.get_weights())
    return model, kmodel


def test_unet_layer_order_and_weights_match_keras(unet_pair):
    model, kmodel = unet_pair
    assert [type(layer).__name__ for layer in model.layers] == \
        [type(layer).__name__ for layer in kmodel.layers]
    assert [w.shape for w in model.get_weights()] == \
        [tuple(w.shape) for w in kmodel.get_weights()]
    assert model.count_params() == kmodel.count_params()


def test_layer_order_of_an_irregular_graph_matches_keras(keras, tf):
    """Two inputs, two outputs, Add, and skips across different depths."""
    def build(L, dtype):
        a = L.Input((6, 5, 2), name="in_a", dtype=dtype)
        b = L.Input((6, 5, 3), name="in_b", dtype=dtype)
        c1 = L.Conv2D(4, 3, padding="same", name="c1", dtype=dtype)(a)
        c2 = L.Conv2D(4, 1, name="c2", dtype=dtype)(b)
        s = L.Add(name="add", dtype=dtype)([c1, c2])
        c3 = L.Conv2D(4, 3, padding="same", name="c3", dtype=dtype)(s)
        cat = L.Concatenate(name="cat", dtype=dtype)([c3, c1, b])
        out1 = L.Conv2D(2, 1, name="out1", dtype=dtype)(cat)
        out2 = L.Conv2D(3, 1, name="out2", dtype=dtype)(c2)
        return [a, b], [out1, out2]

    model = models.Model(*build(layers, F64))
    kmodel = keras.Model(*build(keras.layers, F64))
    assert [layer.name for layer in model.layers] == [layer.name for layer in kmodel.layers]

    kmodel.set_weights(model.get_weights())
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((2, 6, 5, 2)), rng.standard_normal((2, 6, 5, 3))]
    outs = model.forward(xs)
    ups = [rng.standard_normal(o.shape) for o in outs]
    dxs = model.backward(ups)
    grads = [layer.grads[key] for layer, key in model.trainable_slots()]

    txs = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(txs)
        k_outs = kmodel(txs)
        scalar = sum(tf.reduce_sum(o * u) for o, u in zip(k_outs, ups))
    k_grads = tape.gradient(scalar, txs + kmodel.trainable_weights)
    for o, k in zip(outs, k_outs):
        assert rel_error(o, k.numpy()) < PRED_TOL
    for d, k in zip(dxs + grads, k_grads):
        assert rel_error(d, k.numpy()) < GRAD_TOL


@pytest.mark.parametrize("kwargs, training", [
    ({}, True),
    ({"dropout": 0.2}, False),            # inference: Dropout is the identity
    ({"dilation_rate": 2}, True),
])
def test_simple_cnn_parity(kwargs, training):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 11, 9, 1))
    y = one_hot_targets(rng, (2, 11, 9), 3)
    model = models.simple_cnn((11, 9, 1), 3, dtype=F64, **kwargs)
    kmodel = keras_conv_stack((11, 9, 1), 3, (16, 16, 16), **kwargs)
    kmodel.set_weights(model.get_weights())
    assert_loss_parity(model, kmodel, x, y, training)


def test_five_layer_cnn_parity():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 9, 10, 1))
    y = one_hot_targets(rng, (2, 9, 10), 3)
    model = models.five_layer_cnn((9, 10, 1), 3, dtype=F64)
    kmodel = keras_conv_stack((9, 10, 1), 3, (8, 8, 16, 16, 32), kernel_size=5)
    kmodel.set_weights(model.get_weights())
    assert_loss_parity(model, kmodel, x, y, training=True)


@pytest.mark.parametrize("training", [False, True])
def test_unet_parity(unet_pair, data, training, backend):
    """training=True runs BatchNormalization on batch statistics."""
    model, kmodel = unet_pair
    kmodel.set_weights(model.get_weights())
    x, y = data
    assert_loss_parity(model, kmodel, x, y, training)


# Keras turns Python-float hyperparameters into float32 tensors before casting
# them to a float64 weight's dtype (0.999 -> 0.99900001287, and 1 - 0.9 is
# rounded separately from 0.9), which moves a float64 Adam step by about 7e-6
# of its size. Hyperparameters exact in float32, complements included, leave
# both sides the same float64 arithmetic (test_optimizers checks the defaults).
EXACT_ADAM = dict(learning_rate=2.0 ** -10, beta_1=0.875, beta_2=1 - 2.0 ** -10,
                  epsilon=2.0 ** -23)


def test_one_adam_step_matches_keras(data, keras, tf):
    x, y = data
    model = models.unet((16, 16, 1), 2, dtype=F64)
    kmodel = keras_unet((16, 16, 1), 2)
    kmodel.set_weights(model.get_weights())
    before = model.get_weights()

    model.compile(optimizer=optimizers.Adam(**EXACT_ADAM), loss="categorical_crossentropy")
    model.train_on_batch(x, y)

    k_opt = keras.optimizers.Adam(**EXACT_ADAM)
    with tf.GradientTape() as tape:
        loss = keras.losses.CategoricalCrossentropy(dtype=F64)(y, kmodel(x, training=True))
    k_opt.apply_gradients(zip(tape.gradient(loss, kmodel.trainable_weights),
                              kmodel.trainable_weights))

    after, k_after = model.get_weights(), kmodel.get_weights()
    assert len(after) == len(k_after)
    for w0, w, k in zip(before, after, k_after):
        assert rel_error(w, k) < GRAD_TOL
        if not np.array_equal(w, w0):     # the step itself, not just the weights
            assert rel_error(w - w0, k - w0) < GRAD_TOL
    # every trainable weight moved, including BatchNormalization's moving stats
    assert sum(not np.array_equal(w, w0) for w0, w in zip(before, after)) == len(after)
