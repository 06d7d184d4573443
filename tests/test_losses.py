"""Losses: loop oracles, gradient checks, Keras parity, stability, bad input.

Shapes cover N > 1, C > 1, H != W, odd sizes, a single pixel and rank-2
(N, C) classification. Probabilities for the gradient checks stay inside
[0.05, 0.95], away from the clipping bounds: finite differences would
straddle the clip's kink. The clipped regime is checked against worked
numbers (and against Keras/TensorFlow where they are installed).
"""
import math

import numpy as np
import pytest

from keras_helpers import import_keras, import_tensorflow
from minicnn import losses
from minicnn.functional import losses as F
from minicnn.gradcheck import check_loss, rel_error

GRAD_TOL = 1e-7
PARITY_TOL = 1e-10
SHAPES = [(2, 3, 5, 3), (3, 5, 2, 2), (2, 1, 1, 4), (4, 3)]
EPS = 1e-7


# ------------------------------------------------------------- helpers ---
def _labels(shape, seed=0):
    """Integer labels (N, H, W) for y_pred of `shape` (N, H, W, C)."""
    return np.random.default_rng(seed).integers(0, shape[-1], shape[:-1])


def _onehot(labels, n_classes):
    return np.eye(n_classes)[labels]


def _probabilities(shape, seed=0, normalised=True):
    """Probabilities well inside (0, 1); rows sum to 1 unless normalised=False."""
    p = np.random.default_rng(seed + 100).uniform(0.05, 1.0, shape)
    if normalised:
        return p / p.sum(axis=-1, keepdims=True)
    return p * 0.9


def _logits(shape, seed=0):
    return 3.0 * np.random.default_rng(seed + 200).standard_normal(shape)


def _binary(shape, seed=0):
    return (np.random.default_rng(seed + 300).random(shape) > 0.5).astype(np.float64)


def _case(kind, shape, from_logits, seed=0):
    """(loss, y_true, y_pred) for one loss kind on `shape`."""
    labels = _labels(shape, seed)
    y_pred = _logits(shape, seed) if from_logits else _probabilities(shape, seed)
    if kind == "categorical":
        return (losses.CategoricalCrossentropy(from_logits=from_logits),
                _onehot(labels, shape[-1]), y_pred)
    if kind == "categorical_unnormalised":
        return (losses.CategoricalCrossentropy(),
                _onehot(labels, shape[-1]), _probabilities(shape, seed, False))
    if kind == "sparse":
        return losses.SparseCategoricalCrossentropy(from_logits=from_logits), labels, y_pred
    if kind == "binary":
        p = np.random.default_rng(seed).uniform(0.05, 0.95, shape)
        return (losses.BinaryCrossentropy(from_logits=from_logits), _binary(shape, seed),
                _logits(shape, seed) if from_logits else p)
    if kind == "dice":
        return losses.Dice(), _onehot(labels, shape[-1]), y_pred
    raise AssertionError(kind)


CASES = [("categorical", False), ("categorical", True), ("categorical_unnormalised", False),
         ("sparse", False), ("sparse", True), ("binary", False), ("binary", True),
         ("dice", False)]


# -------------------------------------------------- direct-loop oracles ---
def _pixels(y_pred):
    """Every index of y_pred but the class axis, in order."""
    return list(np.ndindex(y_pred.shape[:-1]))


def oracle_categorical(y, p, from_logits):
    total = 0.0
    for i in _pixels(p):
        row = [float(v) for v in p[i]]
        if from_logits:
            m = max(row)
            log_sum = m + math.log(sum(math.exp(v - m) for v in row))
            q = [math.exp(v - log_sum) for v in row]
        else:
            q = [min(max(v / sum(row), EPS), 1 - EPS) for v in row]
        total -= sum(y[i][c] * math.log(q[c]) for c in range(len(row)))
    return total / len(_pixels(p))


def oracle_sparse(labels, p, from_logits):
    total = 0.0
    for i in _pixels(p):
        row = [float(v) for v in p[i]]
        if not from_logits:
            row = [math.log(min(max(v, EPS), 1 - EPS)) for v in row]
        m = max(row)
        total += m + math.log(sum(math.exp(v - m) for v in row)) - row[labels[i]]
    return total / len(_pixels(p))


def oracle_binary(y, p, from_logits):
    total = 0.0
    for i in np.ndindex(p.shape):
        v, t = float(p[i]), float(y[i])
        q = 1 / (1 + math.exp(-v)) if from_logits else min(max(v, EPS), 1 - EPS)
        total -= t * math.log(q) + (1 - t) * math.log(1 - q)
    return total / p.size


def oracle_dice(y, p, smooth):
    scores = []
    for n in range(p.shape[0]):
        for c in range(p.shape[-1]):
            yc, pc = y[n, ..., c].ravel(), p[n, ..., c].ravel()
            inter = sum(a * b for a, b in zip(yc, pc))
            scores.append((2 * inter + smooth) / (sum(yc) + sum(pc) + smooth))
    return 1 - sum(scores) / len(scores)


def _oracle(kind, loss, y_true, y_pred):
    from_logits = getattr(loss, "from_logits", False)
    if kind.startswith("categorical"):
        return oracle_categorical(y_true, y_pred, from_logits)
    if kind == "sparse":
        return oracle_sparse(y_true, y_pred, from_logits)
    if kind == "binary":
        return oracle_binary(y_true, y_pred, from_logits)
    return oracle_dice(y_true, y_pred, loss.smooth)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind,from_logits", CASES)
def test_value_matches_loop_oracle(kind, from_logits, shape):
    loss, y_true, y_pred = _case(kind, shape, from_logits)
    value = loss(y_true, y_pred)
    assert isinstance(value, float)
    assert value == pytest.approx(_oracle(kind, loss, y_true, y_pred), rel=1e-12)


@pytest.mark.parametrize("smooth", [0.0, 1.0, 5.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_dice_value_matches_loop_oracle_for_every_smooth(shape, smooth):
    """smooth=0 (the plain Dice, close to keras.losses.Dice(axis=(1, 2))) too,
    not only the default smooth=1."""
    y_true, y_pred = _onehot(_labels(shape), shape[-1]), _probabilities(shape)
    value = losses.Dice(smooth=smooth)(y_true, y_pred)
    assert value == pytest.approx(oracle_dice(y_true, y_pred, smooth), rel=1e-12)


# ------------------------------------------------------ gradient checks ---
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind,from_logits", CASES)
def test_gradient_check(kind, from_logits, shape, backend):
    loss, y_true, y_pred = _case(kind, shape, from_logits)
    errors = check_loss(loss, y_true, y_pred, seed=1)
    assert errors["y_pred"] < GRAD_TOL, errors


@pytest.mark.parametrize("smooth", [0.0, 1.0, 5.0])
def test_dice_gradient_check_smooth_and_absent_class(smooth):
    labels = _labels((2, 4, 3, 3))
    labels[0][labels[0] == 2] = 0            # class 2 absent from image 0
    y_true, y_pred = _onehot(labels, 3), _probabilities((2, 4, 3, 3))
    assert check_loss(losses.Dice(smooth=smooth), y_true, y_pred, seed=2)["y_pred"] < GRAD_TOL


def test_categorical_gradient_check_class_axis_1():
    shape = (2, 3, 4, 5)                    # (N, C, H, W): classes on axis 1
    y_true = np.ascontiguousarray(np.moveaxis(_onehot(_labels((2, 4, 5, 3)), 3), -1, 1))
    y_pred = np.ascontiguousarray(np.moveaxis(_probabilities((2, 4, 5, 3)), -1, 1))
    assert y_pred.shape == shape
    loss = losses.CategoricalCrossentropy(axis=1)
    assert loss(y_true, y_pred) == pytest.approx(
        losses.CategoricalCrossentropy()(np.moveaxis(y_true, 1, -1),
                                         np.moveaxis(y_pred, 1, -1)), rel=1e-12)
    assert check_loss(loss, y_true, y_pred, seed=3)["y_pred"] < GRAD_TOL


# -------------------------------------------------------- Keras parity ---
def _keras_value_and_grad(fn, y_true, y_pred, dy):
    """dy * fn(y_true, y_pred) and its gradient w.r.t. y_pred, float64."""
    tf = import_tensorflow()
    y_pred = tf.constant(y_pred, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(y_pred)
        value = dy * fn(tf.constant(y_true), y_pred)
    return float(value.numpy()), tape.gradient(value, y_pred).numpy()


def _assert_parity(loss, fn, y_true, y_pred, dy=0.7):
    k_value, k_grad = _keras_value_and_grad(fn, y_true, y_pred, dy)
    value = dy * loss(y_true, y_pred)
    grad = loss.backward(dy)
    errors = {"value": rel_error(value, k_value), "y_pred": rel_error(grad, k_grad)}
    assert max(errors.values()) < PARITY_TOL, errors
    return errors


def _keras_loss(kind, from_logits):
    keras = import_keras()
    cls = {"categorical": keras.losses.CategoricalCrossentropy,
           "categorical_unnormalised": keras.losses.CategoricalCrossentropy,
           "sparse": keras.losses.SparseCategoricalCrossentropy,
           "binary": keras.losses.BinaryCrossentropy}[kind]
    return cls(from_logits=from_logits, dtype="float64")


def _tf_dice(smooth):
    """The Dice loss formula written in TensorFlow ops, for GradientTape."""
    tf = import_tensorflow()

    def fn(y_true, y_pred):
        axes = list(range(1, len(y_pred.shape) - 1))
        inter = tf.reduce_sum(y_true * y_pred, axis=axes)
        denom = tf.reduce_sum(y_true, axis=axes) + tf.reduce_sum(y_pred, axis=axes)
        return 1.0 - tf.reduce_mean((2.0 * inter + smooth) / (denom + smooth))
    return fn


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind,from_logits", CASES)
def test_keras_parity(kind, from_logits, shape, backend):
    loss, y_true, y_pred = _case(kind, shape, from_logits)
    fn = _tf_dice(loss.smooth) if kind == "dice" else _keras_loss(kind, from_logits)
    _assert_parity(loss, fn, y_true, y_pred)


def _clipped_probabilities(shape, seed=0):
    """Probabilities with entries below 1e-7 and above 1 - 1e-7 in some pixels."""
    p = _probabilities(shape, seed)
    p[0, 0, 0] = [1e-9] + [(1 - 1e-9) / (shape[-1] - 1)] * (shape[-1] - 1)
    p[-1, -1, -1] = [1 - 1e-10] + [1e-10 / (shape[-1] - 1)] * (shape[-1] - 1)
    p[0, -1, 0, 0] = 0.0                       # an exact zero (clipped up)
    return p


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("kind", ["categorical", "sparse"])
def test_keras_parity_where_probabilities_are_clipped(kind, backend):
    shape = (2, 3, 4, 3)
    loss, y_true, _ = _case(kind, shape, False)
    y_pred = _clipped_probabilities(shape)
    y_pred[1, 0, 0] *= 0.5                      # a row not summing to 1
    _assert_parity(loss, _keras_loss(kind, False), y_true, y_pred)


@pytest.mark.usefixtures("keras")
def test_keras_parity_binary_where_probabilities_are_clipped():
    shape = (2, 3, 4, 2)
    y_true = _binary(shape)
    y_pred = np.random.default_rng(0).uniform(0.02, 0.98, shape)
    y_pred[0, 0, 0] = [0.0, 1.0]
    y_pred[1, 2, 3] = [1e-9, 1 - 1e-9]
    y_pred[1, 1, 1] = [EPS, 1 - EPS]            # exactly on the bounds: gradient passes
    _assert_parity(losses.BinaryCrossentropy(), _keras_loss("binary", False), y_true, y_pred)


# Worked by hand: each of these is also what Keras/TensorFlow gives.
CLIP_Y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
CLIP_P = np.array([[0.0, 0.5, 0.5], [0.2, 0.6, 0.2]])   # the true class of pixel 0 has p = 0


def test_categorical_where_clipped_worked_by_hand(backend):
    """Pixel 0: r = p / 1, the true class's 0 is clipped up to 1e-7, so it
    costs -ln(1e-7) = 16.118 and, clipped, passes no gradient. Pixel 1:
    -ln 0.6 = 0.511, and with g_c = -y_c / q_c, dL/dp_j = (g_j - sum_c g_c r_c) / s,
    here (g_j + 1) / 1, halved by the mean over 2 pixels:
        loss = (16.118096 + 0.510826) / 2 = 8.314461
        grad = [[0, 0, 0], [(0 + 1) / 2, (-1 / 0.6 + 1) / 2, (0 + 1) / 2]]
             = [[0, 0, 0], [0.5, -1/3, 0.5]]"""
    loss = losses.CategoricalCrossentropy()
    value = loss(CLIP_Y, CLIP_P)
    assert value == pytest.approx((-math.log(1e-7) - math.log(0.6)) / 2, rel=1e-14)
    assert value == pytest.approx(oracle_categorical(CLIP_Y, CLIP_P, False), rel=1e-14)
    assert value == pytest.approx(8.314460637362156, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[0, 0, 0], [0.5, -1 / 3, 0.5]],
                               rtol=1e-14, atol=0)


def test_sparse_where_clipped_worked_by_hand(backend):
    """The same p with labels [0, 1]. Sparse clips first, then renormalises:
    pixel 0's q = [1e-7, 0.5, 0.5] sums to S = 1 + 1e-7, so
        loss = (ln(1 + 1e-7) - ln(1e-7) + 0 - ln 0.6) / 2 = 8.314460687 (not ...637)
    and dL/dp_c = m_c (1 / S - [c == k] / q_k) / 2: the clipped p = 0 gets 0,
    the other two 1 / (2 S) = 0.49999995; pixel 1 as in the categorical case."""
    loss = losses.SparseCategoricalCrossentropy()
    labels = np.array([0, 1])
    value = loss(labels, CLIP_P)
    expected = (math.log(1 + 1e-7) - math.log(1e-7) - math.log(0.6)) / 2
    assert value == pytest.approx(expected, rel=1e-14)
    assert value == pytest.approx(oracle_sparse(labels, CLIP_P, False), rel=1e-14)
    assert value == pytest.approx(8.314460687362153, rel=1e-14)
    half = 1 / (2 * (1 + 1e-7))
    np.testing.assert_allclose(loss.backward(), [[0, half, half], [0.5, -1 / 3, 0.5]],
                               rtol=1e-14, atol=0)
    assert half == pytest.approx(0.49999995, abs=1e-13)     # 0.5 (1 - 1e-7 + 1e-14 ...)


def test_sparse_clips_before_it_renormalises_worked_by_hand(backend):
    """An unnormalised row p = [0, 0.25, 0.25], label 1. Clip first (Keras):
    q = [1e-7, 0.25, 0.25], S = 0.5 + 1e-7,
        loss = ln S - ln 0.25 = ln 2 + ln(1 + 2e-7) = 0.69314738
        grad = [0 (clipped), 1 / S - 1 / 0.25, 1 / S] = [0, -2.0000004, 1.9999996]
    Renormalising first would give q = [1e-7, 0.5, 0.5] and ln(1 + 1e-7) + ln 2
    = 0.69314728 instead."""
    loss = losses.SparseCategoricalCrossentropy()
    p = np.array([[0.0, 0.25, 0.25]])
    total = 0.5 + 1e-7
    assert loss(np.array([1]), p) == pytest.approx(math.log(total) - math.log(0.25), rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[0, 1 / total - 4, 1 / total]],
                               rtol=1e-14, atol=0)


def test_binary_where_clipped_worked_by_hand():
    """y = [[1, 0], [1, 0]], p = [[0, 1], [1e-7, 0.3]]: 0 and 1 are clipped to
    1e-7 and 1 - 1e-7 (each costs about -ln 1e-7 = 16.118) and pass no
    gradient; 1e-7 lies exactly on the bound, so it is kept and its gradient
    -y / q passes, as through TensorFlow's clip_by_value:
        loss = (3 * 16.118096 + (-ln 0.7)) / 4 = 12.177740
        grad = [[0, 0], [-1 / (4e-7), 1 / (0.7 * 4)]] = [[0, 0], [-2.5e6, 0.357143]]
    (1 - (1 - 1e-7) is 1e-7 only up to rounding, hence the third term below.)"""
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    p = np.array([[0.0, 1.0], [1e-7, 0.3]])
    loss = losses.BinaryCrossentropy()
    value = loss(y, p)
    expected = (-2 * math.log(1e-7) - math.log(1 - (1 - 1e-7)) - math.log(0.7)) / 4
    assert value == pytest.approx(expected, rel=1e-14)
    assert value == pytest.approx(oracle_binary(y, p, False), rel=1e-14)
    assert value == pytest.approx(12.177740474335012, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[0, 0], [-2.5e6, 1 / 2.8]], rtol=1e-14, atol=0)


def test_keras_parity_categorical_axis_1(keras):
    y_true = np.moveaxis(_onehot(_labels((2, 4, 5, 3)), 3), -1, 1)
    y_pred = np.moveaxis(_probabilities((2, 4, 5, 3), normalised=False), -1, 1)
    _assert_parity(losses.CategoricalCrossentropy(axis=1),
                   keras.losses.CategoricalCrossentropy(axis=1, dtype="float64"),
                   y_true, y_pred)


def test_sparse_and_categorical_differ_only_where_clipped():
    shape = (2, 3, 4, 3)
    labels = _labels(shape)
    sparse, categorical = (losses.SparseCategoricalCrossentropy(),
                           losses.CategoricalCrossentropy())
    p = _probabilities(shape)
    assert sparse(labels, p) == pytest.approx(categorical(_onehot(labels, 3), p), rel=1e-13)
    clipped = _clipped_probabilities(shape)
    assert abs(sparse(labels, clipped) - categorical(_onehot(labels, 3), clipped)) > 1e-9


# ------------------------------------ Dice and keras.losses.Dice compared ---
def test_dice_with_smooth_0_is_keras_dice_per_image_and_class_up_to_its_epsilon(keras):
    y_true, y_pred = _onehot(_labels((3, 4, 5, 3)), 3), _probabilities((3, 4, 5, 3))
    keras_value = float(keras.losses.Dice(axis=(1, 2), dtype="float64")(y_true, y_pred))
    ours = losses.Dice(smooth=0.0)(y_true, y_pred)
    assert ours == pytest.approx(keras_value, abs=1e-8)
    # The remaining difference is exactly Keras's 1e-7 in the denominator.
    inter = (y_true * y_pred).sum(axis=(1, 2))
    total = y_true.sum(axis=(1, 2)) + y_pred.sum(axis=(1, 2))
    assert keras_value == pytest.approx(1 - np.mean(2 * inter / (total + EPS)), rel=1e-14)


def test_dice_one_image_one_class_relates_exactly_to_keras_dice(keras):
    y_true = _binary((1, 6, 5, 1))
    y_pred = np.random.default_rng(1).uniform(0.02, 0.98, (1, 6, 5, 1))
    keras_value = float(keras.losses.Dice(dtype="float64")(y_true, y_pred))
    ours = losses.Dice(smooth=0.0)(y_true, y_pred)
    total = y_true.sum() + y_pred.sum()
    # keras = 1 - 2I / (S + eps) and ours = 1 - 2I / S.
    assert keras_value == pytest.approx(1 - (1 - ours) * total / (total + EPS), rel=1e-14)


def test_keras_default_dice_pools_classes_so_background_dominates(keras):
    labels = np.zeros((2, 8, 6), dtype=int)
    labels[:, 3:5, 2:4] = 1                     # a small foreground square
    y_true = _onehot(labels, 2)
    y_pred = np.zeros_like(y_true)
    y_pred[..., 0] = 1.0                        # predicts background everywhere
    keras_pooled = float(keras.losses.Dice(dtype="float64")(y_true, y_pred))
    ours = losses.Dice(smooth=0.0)(y_true, y_pred)
    assert keras_pooled < 0.1                   # looks almost perfect
    assert ours > 0.5                           # the foreground class scores 0


def test_dice_smooth_scores_an_absent_class_as_agreement():
    y_true = np.zeros((1, 3, 4, 2))
    y_true[..., 0] = 1.0                        # class 1 absent from the truth
    y_pred = y_true.copy()                      # ... and from the prediction
    assert losses.Dice()(y_true, y_pred) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="smooth=0 is 0/0 for image 0, class 1"):
        losses.Dice(smooth=0.0)(y_true, y_pred)


# ------------------------------------------------------------ stability ---
HUGE_LOGITS = np.array([[[[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]]]])   # (1, 1, 2, 3)
HUGE_LOGITS_LABELS = np.array([[[0, 2]]])
HUGE_BINARY_LOGITS = np.array([[1000.0, -1000.0, 1000.0, -1000.0]])
HUGE_BINARY_TARGETS = np.array([[1.0, 0.0, 0.0, 1.0]])


def test_from_logits_is_stable_for_huge_logits():
    z, y = HUGE_LOGITS, _onehot(HUGE_LOGITS_LABELS, 3)
    categorical = losses.CategoricalCrossentropy(from_logits=True)
    assert categorical(y, z) == pytest.approx((0.0 + 1.0 + math.log1p(math.exp(-1))) / 2)
    grad = categorical.backward()
    assert np.all(np.isfinite(grad))
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert sparse(HUGE_LOGITS_LABELS, z) == pytest.approx(categorical(y, z))
    binary = losses.BinaryCrossentropy(from_logits=True)
    zb, yb = HUGE_BINARY_LOGITS, HUGE_BINARY_TARGETS
    assert binary(yb, zb) == pytest.approx(500.0)
    np.testing.assert_allclose(binary.backward(), [[0.0, 0.0, 0.25, -0.25]])


@pytest.mark.usefixtures("keras")
def test_keras_parity_for_huge_logits():
    for loss, y_true, y_pred, fn in [
            (losses.CategoricalCrossentropy(from_logits=True),
             _onehot(HUGE_LOGITS_LABELS, 3), HUGE_LOGITS, _keras_loss("categorical", True)),
            (losses.BinaryCrossentropy(from_logits=True),
             HUGE_BINARY_TARGETS, HUGE_BINARY_LOGITS, _keras_loss("binary", True))]:
        _assert_parity(loss, fn, y_true, y_pred)


def test_float32_inputs_give_float32_gradients_close_to_float64():
    loss, y_true, y_pred = _case("categorical", (2, 3, 5, 3), False)
    value64 = loss(y_true, y_pred)
    grad64 = loss.backward()
    value32 = loss(y_true.astype(np.float32), y_pred.astype(np.float32))
    grad32 = loss.backward()
    assert grad32.dtype == np.float32 and grad64.dtype == np.float64
    assert value32 == pytest.approx(value64, rel=1e-6)
    assert rel_error(grad32, grad64) < 1e-6


# ------------------------------------------------------------ behaviour ---
@pytest.mark.parametrize("kind,from_logits", CASES)
def test_backward_scales_with_dy_and_leaves_inputs_alone(kind, from_logits):
    loss, y_true, y_pred = _case(kind, (2, 3, 4, 3), from_logits)
    y_true_copy, y_pred_copy = y_true.copy(), y_pred.copy()
    loss(y_true, y_pred)
    grad = loss.backward()
    np.testing.assert_allclose(loss.backward(-2.5), -2.5 * grad, rtol=1e-14)
    np.testing.assert_array_equal(loss.backward(), grad)        # repeatable
    np.testing.assert_array_equal(y_true, y_true_copy)
    np.testing.assert_array_equal(y_pred, y_pred_copy)
    assert grad.shape == y_pred.shape


def test_backward_uses_the_most_recent_call():
    loss, y_true, y_pred = _case("categorical", (2, 3, 4, 3), False)
    loss(y_true, y_pred)
    first = loss.backward()
    loss(y_true, y_pred[::-1].copy())
    assert rel_error(loss.backward(), first) > 1e-3


def test_count_is_pixels_not_batch_size():
    """The mean runs over N * H * W pixels: gradient entries are (p - y) / (N H W)."""
    y_true, z = _onehot(_labels((2, 3, 5, 4)), 4), _logits((2, 3, 5, 4))
    loss = losses.CategoricalCrossentropy(from_logits=True)
    loss(y_true, z)
    softmax = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(loss.backward(), (softmax - y_true) / 30, rtol=1e-12)


@pytest.mark.parametrize("cls, name", [
    # Keras's default names (keras.losses.<Class>().name), written out.
    (losses.CategoricalCrossentropy, "categorical_crossentropy"),
    (losses.SparseCategoricalCrossentropy, "sparse_categorical_crossentropy"),
    (losses.BinaryCrossentropy, "binary_crossentropy"),
    (losses.Dice, "dice"),
])
def test_default_names_are_kerass(cls, name):
    assert cls().name == name


@pytest.mark.parametrize("cls", [losses.CategoricalCrossentropy,
                                 losses.SparseCategoricalCrossentropy,
                                 losses.BinaryCrossentropy, losses.Dice])
def test_names_match_keras(cls, keras):
    keras_cls = getattr(keras.losses, cls.__name__)
    assert cls().name == keras_cls().name
    assert cls(name="mine").name == "mine"


@pytest.mark.parametrize("name,cls", [
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("binary_crossentropy", losses.BinaryCrossentropy),
    ("dice", losses.Dice),
    ("CategoricalCrossentropy", losses.CategoricalCrossentropy)])
def test_get_by_name(name, cls):
    loss = losses.get(name)
    assert type(loss) is cls
    assert losses.get(name) is not loss                      # a new object each time


def test_get_passes_objects_and_classes_through():
    loss = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(loss) is loss
    assert type(losses.get(losses.Dice)) is losses.Dice


def test_get_config():
    assert losses.CategoricalCrossentropy(from_logits=True, axis=1).get_config() == {
        "name": "categorical_crossentropy", "from_logits": True, "axis": 1}
    assert losses.Dice(smooth=2).get_config() == {"name": "dice", "smooth": 2.0}


# ------------------------------------------------------------ bad input ---
def test_get_unknown_name_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'mse'.*allowed names.*'dice'"):
        losses.get("mse")


def test_get_refuses_plain_functions():
    with pytest.raises(TypeError, match="plain function has no hand-written backward"):
        losses.get(lambda y_true, y_pred: 0.0)


def test_backward_before_call():
    with pytest.raises(ValueError, match="backward.*before.*loss\\(y_true, y_pred\\)"):
        losses.Dice().backward()


def test_a_failed_call_leaves_nothing_to_backward():
    loss, y_true, y_pred = _case("categorical", (2, 3, 4, 3), False)
    loss(y_true, y_pred)
    with pytest.raises(ValueError):
        loss(y_true[..., :2], y_pred)
    with pytest.raises(ValueError, match="backward.*before"):
        loss.backward()


def test_backward_refuses_non_numbers():
    loss, y_true, y_pred = _case("binary", (2, 2, 2, 1), False)
    loss(y_true, y_pred)
    with pytest.raises(TypeError, match="dy must be a real number, got 'x'"):
        loss.backward("x")


@pytest.mark.parametrize("kind", ["categorical", "binary", "dice"])
def test_shape_mismatch(kind):
    loss, y_true, y_pred = _case(kind, (2, 3, 4, 3), False)
    with pytest.raises(ValueError, match=r"y_true and y_pred .*\(2, 3, 4, 2\) and \(2, 3, 4, 3\)"):
        loss(y_true[..., :2], y_pred)


@pytest.mark.parametrize("bad", [-1, 3])
def test_sparse_labels_out_of_range(bad):
    labels = _labels((2, 3, 4, 3))
    labels[1, 2, 3] = bad
    with pytest.raises(ValueError, match=rf"y_true labels must lie in \[0, 3\).*got {bad}"):
        losses.SparseCategoricalCrossentropy()(labels, _probabilities((2, 3, 4, 3)))


def test_sparse_labels_non_integer():
    labels = _labels((2, 3, 4, 3)).astype(np.float64)
    np.testing.assert_equal(losses.SparseCategoricalCrossentropy()(labels, _probabilities(
        (2, 3, 4, 3))), losses.SparseCategoricalCrossentropy()(labels.astype(int),
                                                              _probabilities((2, 3, 4, 3))))
    labels[0, 1, 1] = 1.5
    with pytest.raises(ValueError, match="y_true must hold integer class labels.*1.5"):
        losses.SparseCategoricalCrossentropy()(labels, _probabilities((2, 3, 4, 3)))
    with pytest.raises(TypeError, match="y_true must hold integer class labels, got dtype bool"):
        losses.SparseCategoricalCrossentropy()(labels > 0, _probabilities((2, 3, 4, 3)))


def test_sparse_labels_wrong_shape_mentions_one_hot():
    y_pred = _probabilities((2, 3, 4, 3))
    onehot = _onehot(_labels((2, 3, 4, 3)), 3)
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\) or \(2, 3, 4, 1\).*"
                                         r"got shape \(2, 3, 4, 3\).*CategoricalCrossentropy"):
        losses.SparseCategoricalCrossentropy()(onehot, y_pred)


@pytest.mark.parametrize("kind", ["categorical", "sparse", "binary", "dice"])
def test_logits_given_as_probabilities_are_refused(kind):
    loss, y_true, _ = _case(kind, (2, 3, 4, 3), False)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*from_logits=True"):
        loss(y_true, _logits((2, 3, 4, 3)))


def test_non_finite_logits_are_refused():
    z = _logits((2, 3, 4, 3))
    z[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite logits, got 1 NaN or infinite"):
        losses.CategoricalCrossentropy(from_logits=True)(_onehot(_labels(z.shape), 3), z)


def test_all_zero_probabilities_cannot_be_renormalised():
    y_pred = _probabilities((1, 2, 2, 3))
    y_pred[0, 1, 1] = 0.0
    with pytest.raises(ValueError, match="all 0"):
        losses.CategoricalCrossentropy()(_onehot(_labels((1, 2, 2, 3)), 3), y_pred)


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="from_logits must be True or False, got 'yes'"):
        losses.CategoricalCrossentropy(from_logits="yes")
    with pytest.raises(TypeError, match="axis must be an integer, got 1.0"):
        losses.CategoricalCrossentropy(axis=1.0)
    with pytest.raises(ValueError, match="smooth must be a number >= 0, got -1"):
        losses.Dice(smooth=-1)
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        losses.Dice(name="")


def test_axis_out_of_range():
    loss, y_true, y_pred = _case("categorical", (2, 3, 4, 3), False)
    with pytest.raises(ValueError, match=r"axis must be an integer in \[-4, 3\], got 4"):
        losses.CategoricalCrossentropy(axis=4)(y_true, y_pred)


def test_rank_1_and_empty_predictions_are_refused():
    with pytest.raises(ValueError, match=r"y_pred must be a non-empty array of rank >= 2.*\(3,\)"):
        losses.BinaryCrossentropy()(np.ones(3), np.full(3, 0.5))
    with pytest.raises(ValueError, match=r"y_pred must be a non-empty.*\(0, 3\)"):
        losses.BinaryCrossentropy()(np.ones((0, 3)), np.ones((0, 3)))
    with pytest.raises(TypeError, match="y_pred must be a NumPy array, got str"):
        losses.BinaryCrossentropy()(np.ones(3), "0.5")


def test_course_helper_validates_shapes():
    with pytest.raises(ValueError, match=r"same shape.*\(1, 3\) and \(1, 2\)"):
        F.cross_entropy_bits(np.ones((1, 3)), np.ones((1, 2)))
