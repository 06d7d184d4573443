"""Keras's training semantics for softmax and sigmoid outputs, and WeightedSum.

When a model ends in a softmax or sigmoid, fit / train_on_batch / evaluate
compute a cross-entropy from that activation's logits (unclipped, gradient
p - y) and any other loss from the probabilities, as Keras's fit does
(minicnn.losses explains why). Checked here:

- ``Loss.on_logits`` against the from-logits formulas, finite differences
  (float64, random upstream gradient) and the probability path where
  nothing is clipped;
- ``WeightedSum``: value, gradient checks on both paths, argument errors;
- the training loop: it takes the logits path, its gradients equal the
  plain path where nothing saturates, and a saturated network still learns;
- against Keras's fit itself (a traced train step, float64, same weights): a
  softmax U-Net whose output saturates gives the same weight gradients.
"""
import warnings

import numpy as np
import pytest

from minicnn import layers, losses, models, optimizers
from minicnn.backend import logits_of
from minicnn.gradcheck import check_loss, rel_error

GRAD_TOL = 1e-7
F64 = "float64"
SHAPE = (2, 3, 5, 4)


def _onehot(shape, seed=0):
    labels = np.random.default_rng(seed).integers(0, shape[-1], shape[:-1])
    return np.eye(shape[-1])[labels], labels


def _logits(shape, seed=0, scale=2.0):
    return scale * np.random.default_rng(seed + 1).standard_normal(shape)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ---------------------------------------------------------- Loss.on_logits
def test_categorical_on_logits_is_the_unclipped_formula():
    y, _ = _onehot(SHAPE)
    z = _logits(SHAPE)
    loss = losses.CategoricalCrossentropy()
    value = loss.on_logits(y, logits_of("softmax", z))
    expected = -(y * np.log(_softmax(z))).sum(axis=-1).mean()
    assert value == pytest.approx(expected, rel=1e-12)
    count = np.prod(SHAPE[:-1])
    assert rel_error(loss.backward(), (_softmax(z) - y) / count) < 1e-14


@pytest.mark.parametrize("kind", ["categorical", "sparse", "binary", "dice", "sum"])
@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_on_logits_gradients(kind, activation):
    y, labels = _onehot(SHAPE, seed=3)
    z = np.ascontiguousarray(_logits(SHAPE, seed=3))
    loss, target = {
        "categorical": (losses.CategoricalCrossentropy(), y),
        "sparse": (losses.SparseCategoricalCrossentropy(), labels),
        "binary": (losses.BinaryCrossentropy(), y),
        "dice": (losses.Dice(), y),
        "sum": (losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()],
                                   weights=[0.7, 1.3]), y),
    }[kind]
    assert check_loss(loss, target, z, activation=activation)["y_pred"] < GRAD_TOL


@pytest.mark.parametrize("kind", ["categorical", "sparse", "dice"])
def test_on_logits_equals_the_probability_path_where_nothing_clips(kind):
    """Away from saturation both paths give the same value and, by the chain
    rule through the softmax, the same gradient at the logits."""
    y, labels = _onehot(SHAPE, seed=4)
    z = _logits(SHAPE, seed=4, scale=1.0)
    p = _softmax(z)
    make = {"categorical": losses.CategoricalCrossentropy,
            "sparse": losses.SparseCategoricalCrossentropy, "dice": losses.Dice}[kind]
    target = labels if kind == "sparse" else y
    via_logits, via_probabilities = make(), make()
    value = via_logits.on_logits(target, logits_of("softmax", z))
    assert value == pytest.approx(via_probabilities(target, p), rel=1e-12)
    dz = via_logits.backward(0.3)
    dp = via_probabilities.backward(0.3)
    chained = p * (dp - (dp * p).sum(axis=-1, keepdims=True))     # softmax Jacobian
    assert rel_error(dz, chained) < 1e-12


def test_saturated_softmax_keeps_its_gradient_on_the_logits_path():
    """p of the true class below 1e-7: clipped, the gradient vanishes; from
    the logits it is p - y, -1 on the true class (per pixel, / count)."""
    y = np.array([[1.0, 0.0, 0.0]])
    z = np.array([[-20.0, 20.0, 0.0]])                    # p_true ~ 4e-18
    clipped, from_logits = losses.CategoricalCrossentropy(), losses.CategoricalCrossentropy()
    assert clipped(y, _softmax(z)) == pytest.approx(-np.log(1e-7), rel=1e-6)
    chained = _softmax(z) * (clipped.backward() - (clipped.backward() * _softmax(z)).sum())
    assert np.abs(chained).max() < 1e-6                   # stalled
    assert from_logits.on_logits(y, logits_of("softmax", z)) == pytest.approx(40.0, rel=1e-9)
    assert from_logits.backward()[0, 0] == pytest.approx(-1.0, abs=1e-12)


def test_binary_on_logits_after_sigmoid():
    y = np.array([[1.0], [0.0]])
    z = np.array([[-30.0], [2.0]])
    loss = losses.BinaryCrossentropy()
    value = loss.on_logits(y, logits_of("sigmoid", z))
    expected = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    assert value == pytest.approx(expected, rel=1e-12)
    assert rel_error(loss.backward(), (_sigmoid(z) - y) / 2) < 1e-14


def test_from_logits_true_after_a_softmax_warns_and_uses_the_logits():
    y, _ = _onehot(SHAPE)
    z = _logits(SHAPE)
    loss = losses.CategoricalCrossentropy(from_logits=True)
    with pytest.warns(UserWarning, match="from_logits=True.*softmax.*logits are used"):
        value = loss.on_logits(y, logits_of("softmax", z))
    assert value == pytest.approx(
        losses.CategoricalCrossentropy().on_logits(y, logits_of("softmax", z)))


def test_on_logits_refuses_another_activation_and_bare_arrays():
    y, _ = _onehot(SHAPE)
    with pytest.raises(ValueError, match="activation must be one of.*'relu'"):
        losses.CategoricalCrossentropy().on_logits(y, logits_of("relu", _logits(SHAPE)))
    with pytest.raises(TypeError, match="logits must be a backend.Logits"):
        losses.CategoricalCrossentropy().on_logits(y, _logits(SHAPE))


# ------------------------------------------------------------- WeightedSum
def test_weighted_sum_value_gradient_and_name():
    y, _ = _onehot(SHAPE, seed=5)
    p = _softmax(_logits(SHAPE, seed=5, scale=0.5))   # away from 0, where log curves
    assert p.min() > 0.05
    ce, dice = losses.CategoricalCrossentropy(), losses.Dice()
    total = losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()], [2.0, 0.5])
    assert total.name == "categorical_crossentropy+dice"
    assert total(y, p) == pytest.approx(2.0 * ce(y, p) + 0.5 * dice(y, p), rel=1e-14)
    expected = 2.0 * ce.backward(-0.4) + 0.5 * dice.backward(-0.4)
    assert rel_error(total.backward(-0.4), expected) < 1e-15
    assert check_loss(total, y, p)["y_pred"] < GRAD_TOL


@pytest.mark.parametrize("terms, weights, error, pattern", [
    ([], None, TypeError, "list of one or more minicnn Loss"),
    (losses.Dice(), None, TypeError, "list of one or more minicnn Loss"),
    (["dice"], None, TypeError, r"got \['dice'\]"),
    ([losses.Dice()], [1.0, 2.0], ValueError, r"one number per loss \(1\), got 2"),
    ([losses.Dice()], [np.nan], TypeError, "finite numbers"),
])
def test_weighted_sum_refuses_bad_arguments(terms, weights, error, pattern):
    with pytest.raises(error, match=pattern):
        losses.WeightedSum(terms, weights)


# -------------------------------------------------------- the training loop
class _Recorder(optimizers.SGD):
    """An optimizer that keeps the gradients it is given and moves nothing."""

    def apply_gradients(self, grads_and_vars):
        self.seen = [np.array(g) for g, _ in grads_and_vars]


def _step(model, loss, x, y):
    """(loss value, gradients) of one train_on_batch step, weights left as they were."""
    model.compile(optimizer=_Recorder(), loss=loss)
    value = model.train_on_batch(x, y)
    return value, model.optimizer.seen


def _small_model(activation="softmax", seed=0):
    from minicnn import set_random_seed
    set_random_seed(seed)
    inputs = layers.Input((6, 7, 2), dtype=F64)
    h = layers.Conv2D(5, 3, padding="same", activation="relu", dtype=F64)(inputs)
    outputs = layers.Conv2D(3, 1, activation=activation, dtype=F64)(h)
    return models.Model(inputs, outputs)


def test_train_step_gradients_equal_the_plain_path_where_nothing_clips():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 7, 2))
    y = np.eye(3)[rng.integers(0, 3, (2, 6, 7))]
    model = _small_model()
    _, fit_grads = _step(model, losses.CategoricalCrossentropy(), x, y)
    loss = losses.CategoricalCrossentropy()
    loss(y, model.forward(x, training=True))
    model.backward(loss.backward())
    plain = [layer.grads[key] for layer, key in model.trainable_slots()]
    for a, b in zip(fit_grads, plain, strict=True):
        assert rel_error(a, b) < 1e-12


@pytest.mark.parametrize("output", ["activation_layer", "softmax_layer"])
def test_activation_and_softmax_layers_also_hand_over_their_logits(output):
    inputs = layers.Input((4, 4, 2), dtype=F64)
    z = layers.Conv2D(3, 1, dtype=F64)(inputs)
    last = layers.Activation("softmax", dtype=F64) if output == "activation_layer" \
        else layers.Softmax(dtype=F64)
    model = models.Model(inputs, last(z))
    x = np.random.default_rng(1).standard_normal((2, 4, 4, 2))
    model.forward(x)
    logits = model.output_logits()
    assert logits.activation == "softmax"
    assert np.array_equal(logits.z, model.get_layer(index=1).forward(x))
    assert np.array_equal(model.output_logits().y, model.forward(x))


def test_a_saturated_network_learns_as_in_keras():
    """Scaled-up weights make the output confidently wrong everywhere: the
    clipped loss's gradient is 0, the logits path's is not, so fit moves."""
    rng = np.random.default_rng(2)
    x = np.abs(rng.standard_normal((2, 6, 7, 2))) + 1.0
    model = _small_model()
    model.forward(x)
    w = model.get_weights()
    w[0], w[1] = np.abs(w[0]), np.ones_like(w[1])   # every hidden unit alive
    w[-1] = np.zeros_like(w[-1])
    w[-2] = np.zeros_like(w[-2])
    w[-2][:, :, :, 0] = 50.0                      # class 0 wins by a mile
    model.set_weights(w)
    y = np.zeros((2, 6, 7, 3))
    y[..., 2] = 1.0                               # the truth is class 2
    _, grads = _step(model, losses.CategoricalCrossentropy(), x, y)
    assert np.abs(grads[-2]).max() > 0.1
    clipped = losses.CategoricalCrossentropy()
    clipped(y, model.forward(x, training=True))
    model.backward(clipped.backward())
    assert np.abs(model.get_layer(index=-1).grads["kernel"]).max() < 1e-6
    model.compile(optimizer=optimizers.SGD(0.01), loss="categorical_crossentropy")
    assert model.evaluate(x, y, verbose=0) > 100        # Keras: unclipped, > 16.1
    before = model.evaluate(x, y, verbose=0)
    for _ in range(3):
        model.train_on_batch(x, y)
    assert model.evaluate(x, y, verbose=0) < before


# The NumPy kernels only: 226 tiny forwards, where Numba's threads cost more
# than they save; the path checked here (the training loop's) is shared.
@pytest.mark.parametrize("backend", ["numpy"], indirect=True)
def test_saturated_train_step_gradients_equal_differences_of_the_logits_loss(backend):
    """A whole saturated model without Keras: train_on_batch's gradient of
    every weight against central differences of the loss Keras's fit
    minimises there, written out from the output layer's logits z:
        L(w) = mean over pixels of ( log sum_c exp(z_c) - z_true )
    (log-sum-exp shifted by max z). The model is confidently wrong, so the
    clipped loss would give (almost) zero gradients instead."""
    from minicnn.gradcheck import numerical_gradient
    rng = np.random.default_rng(2)
    x = np.abs(rng.standard_normal((2, 6, 7, 2))) + 1.0
    model = _small_model()
    model.forward(x)
    w = model.get_weights()
    w[0], w[1] = np.abs(w[0]), np.ones_like(w[1])      # hidden units alive, off the kink
    w[-2] = 0.1 * rng.standard_normal(w[-2].shape)
    w[-2][:, :, :, 0] += 10.0                         # class 0 wins by a mile
    model.set_weights(w)
    y = np.zeros((2, 6, 7, 3))
    y[..., 2] = 1.0                                   # the truth is class 2
    assert (model.forward(x)[..., 2] < 1e-7).all(), "the output must saturate"

    def logits_loss():
        model.forward(x, training=True)
        z = model.output_logits()[1]
        top = z.max(axis=-1, keepdims=True)
        log_sum = top[..., 0] + np.log(np.exp(z - top).sum(axis=-1))
        return float(np.mean(log_sum - (z * y).sum(axis=-1)))

    value, grads = _step(model, losses.CategoricalCrossentropy(), x, y)
    assert value == pytest.approx(logits_loss(), rel=1e-12) and value > 16.2  # > -ln 1e-7
    slots = model.trainable_slots()
    assert len(grads) == len(slots) == 4
    for (layer, key), grad in zip(slots, grads):
        numeric = numerical_gradient(logits_loss, layer.params[key])
        assert rel_error(grad, numeric) < 1e-7, (layer.name, key)


# ------------------------------------------------------- Keras's fit itself
def test_saturated_softmax_unet_weight_gradients_match_keras_fit(backend, keras, tf):
    from keras_models import keras_unet
    arguments = dict(filters=(4, 8), bottleneck=8, input_batchnorm=False)
    model = models.unet((16, 16, 1), 3, dtype=F64, **arguments)
    kmodel = keras_unet((16, 16, 1), 3, **arguments)
    rng = np.random.default_rng(11)
    weights = [3.0 * w if w.ndim == 4 else w for w in model.get_weights()]
    model.set_weights(weights)
    kmodel.set_weights(weights)
    x = rng.standard_normal((2, 16, 16, 1))
    y = np.eye(3)[rng.integers(0, 3, (2, 16, 16))]
    p = model.forward(x, training=True)
    p_true = (p * y).sum(axis=-1)
    assert (p_true < 1e-7).mean() > 0.2, "the output must saturate for this test"

    fit_loss, fit_grads = _step(model, losses.CategoricalCrossentropy(), x, y)
    kmodel.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(dtype=F64))

    @tf.function       # traced, as fit traces its train step: the softmax keeps its logits
    def keras_gradients(xb, yb):
        with tf.GradientTape() as tape:
            y_pred = kmodel(xb, training=True)
            loss = kmodel.compute_loss(x=xb, y=yb, y_pred=y_pred)
        return loss, tape.gradient(loss, kmodel.trainable_weights)

    k_loss, k_grads = keras_gradients(tf.constant(x), tf.constant(y))
    # Keras reports the value in float32; far above the clipped formula's 16.1.
    assert float(k_loss) == pytest.approx(fit_loss, rel=1e-7) and fit_loss > 100
    assert len(fit_grads) == len(k_grads)
    errors = [rel_error(a, b.numpy()) for a, b in zip(fit_grads, k_grads)]
    assert max(errors) < 1e-9, errors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clipped = losses.CategoricalCrossentropy()
        clipped(y, model.forward(x, training=True))
        model.backward(clipped.backward())
    old = [layer.grads[key] for layer, key in model.trainable_slots()]
    assert max(rel_error(a, b.numpy()) for a, b in zip(old, k_grads)) > 0.1
