"""Optimizers and learning-rate schedules, by hand and against Keras.

Every update rule and schedule has an oracle that needs no Keras: the rule
written out again, one scalar at a time, in plain Python floats
(``reference_steps``), and the schedules' closed forms evaluated by hand.
Keras is the second oracle.

Keras converts Python-float hyperparameters to float32 tensors before it
casts them to a float64 weight's dtype, so 0.999 becomes 0.99900001287.
To compare the update rules exactly, the Keras comparisons use
hyperparameters that float32 represents exactly (complements included);
the defaults are compared separately, to the size of that rounding.
"""
import math

import numpy as np
import pytest

from keras_helpers import import_keras, import_tensorflow
from minicnn import optimizers

EXACT = 1e-13
LR, RHO, B1, B2, EPS = 2.0 ** -7, 0.875, 0.875, 1 - 2.0 ** -10, 2.0 ** -23


def gradients(seed=0, steps=4, size=40):
    """Gradients spanning 8 orders of magnitude, some negative."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size) * 10 ** rng.uniform(-8, 0, size) for _ in range(steps)]


def run_minicnn(opt, p0, grads):
    p = p0.copy()
    for g in grads:
        opt.apply_gradients([(g, p)])
    return p


def run_keras(opt, p0, grads):
    keras, tf = import_keras(), import_tensorflow()
    v = keras.Variable(p0.copy(), dtype="float64")
    for g in grads:
        opt.apply_gradients([(tf.constant(g), v)])
    return v.numpy()


CASES = [
    ("SGD", {"learning_rate": LR}),
    ("SGD", {"learning_rate": LR, "momentum": RHO}),
    ("SGD", {"learning_rate": LR, "momentum": RHO, "nesterov": True}),
    ("Adam", {"learning_rate": LR, "beta_1": B1, "beta_2": B2, "epsilon": EPS}),
    ("Adam", {"learning_rate": LR, "beta_1": B1, "beta_2": B2, "epsilon": EPS, "amsgrad": True}),
    ("RMSprop", {"learning_rate": LR, "rho": RHO, "epsilon": EPS}),
    ("RMSprop", {"learning_rate": LR, "rho": RHO, "epsilon": EPS, "centered": True}),
    ("RMSprop", {"learning_rate": LR, "rho": RHO, "epsilon": EPS, "momentum": 0.5,
                 "centered": True}),
]


def reference_steps(name, kwargs, p0, grads):
    """The update rules of optimizers.py's docstring, one weight at a time in
    Python floats: a slow, separate writing of each rule, the oracle that
    needs no Keras."""
    lr = kwargs.get("learning_rate")
    out = []
    for i, p in enumerate(p0):
        p = float(p)
        m = v = v_hat = a = u = velocity = 0.0
        for t, g in enumerate((float(step[i]) for step in grads), start=1):
            if name == "SGD":
                momentum = kwargs.get("momentum", 0.0)
                if momentum == 0:
                    p = p - lr * g
                else:
                    velocity = momentum * velocity - lr * g
                    p = p + (momentum * velocity - lr * g if kwargs.get("nesterov")
                             else velocity)
            elif name == "Adam":
                b1, b2, eps = kwargs["beta_1"], kwargs["beta_2"], kwargs["epsilon"]
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                v_hat = max(v_hat, v)
                second = v_hat if kwargs.get("amsgrad") else v
                alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                p = p - alpha * m / (math.sqrt(second) + eps)
            elif name == "RMSprop":
                rho, eps = kwargs["rho"], kwargs["epsilon"]
                v = rho * v + (1 - rho) * g * g
                a = rho * a + (1 - rho) * g
                mean_square = v - a * a if kwargs.get("centered") else v
                step = lr * g / math.sqrt(mean_square + eps)
                u = kwargs.get("momentum", 0.0) * u + step
                p = p - u
        out.append(p)
    return np.array(out)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_update_rules_match_the_rules_written_out(name, kwargs):
    p0 = np.random.default_rng(1).standard_normal(40)
    grads = gradients()
    mine = run_minicnn(getattr(optimizers, name)(**kwargs), p0, grads)
    expected = reference_steps(name, kwargs, p0, grads)
    step = np.abs(expected - p0).max()
    assert step > 1e-4
    assert np.abs(mine - expected).max() <= EXACT * step


@pytest.mark.parametrize("name, kwargs", CASES)
def test_update_rules_match_keras(name, kwargs, keras):
    p0 = np.random.default_rng(1).standard_normal(40)
    grads = gradients()
    mine = run_minicnn(getattr(optimizers, name)(**kwargs), p0, grads)
    theirs = run_keras(getattr(keras.optimizers, name)(**kwargs), p0, grads)
    step = np.abs(theirs - p0).max()
    assert step > 1e-4
    assert np.abs(mine - theirs).max() <= EXACT * step


@pytest.mark.parametrize("name, defaults", [
    ("SGD", {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}),
    ("Adam", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "amsgrad": False}),
    ("RMSprop", {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                 "centered": False}),
])
def test_defaults_are_kerass_documented_ones(name, defaults):
    """Keras's documented defaults, written out; the updates with them follow
    the rules written out."""
    opt = getattr(optimizers, name)()
    for attr, value in defaults.items():
        assert getattr(opt, attr) == value, attr
    p0 = np.random.default_rng(2).standard_normal(40)
    grads = gradients(seed=3)
    expected = reference_steps(name, defaults, p0, grads)
    assert np.abs(run_minicnn(opt, p0, grads) - expected).max() <= \
        EXACT * np.abs(expected - p0).max()


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_defaults_are_keras_defaults(name, keras):
    mine, theirs = getattr(optimizers, name)(), getattr(keras.optimizers, name)()
    assert mine.learning_rate == pytest.approx(float(theirs.learning_rate), rel=1e-7)
    for attr in ("momentum", "nesterov", "beta_1", "beta_2", "epsilon", "amsgrad", "rho",
                 "centered"):
        if hasattr(theirs, attr):
            assert getattr(mine, attr) == getattr(theirs, attr), attr
    p0 = np.random.default_rng(2).standard_normal(40)
    grads = gradients(seed=3)
    a, b = run_minicnn(mine, p0, grads), run_keras(theirs, p0, grads)
    # only Keras's float32 rounding of the hyperparameters separates them
    assert np.abs(a - b).max() <= 2e-5 * np.abs(b - p0).max()


def test_adam_first_step_by_hand():
    g = np.array([0.5, -2e-3, 0.0])
    p = np.array([1.0, 1.0, 1.0])
    optimizers.Adam(learning_rate=0.01).apply_gradients([(g, p)])
    m, v = 0.1 * g, 0.001 * g ** 2
    alpha = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(p, 1.0 - alpha * m / (np.sqrt(v) + 1e-7), rtol=0, atol=1e-15)
    assert p[2] == 1.0


def test_sgd_momentum_by_hand():
    p = np.array([1.0])
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.5)
    for g in (1.0, 1.0):
        opt.apply_gradients([(np.array([g]), p)])
    # v1 = -0.1, p1 = 0.9; v2 = 0.5 * -0.1 - 0.1 = -0.15, p2 = 0.75
    assert p[0] == pytest.approx(0.75, abs=1e-15)
    assert opt.iterations == 2


def test_updates_in_place_keep_dtype():
    p = np.ones((2, 3), dtype=np.float32)
    view = p
    optimizers.Adam().apply_gradients([(np.full((2, 3), 0.1, dtype=np.float32), p)])
    assert view is p and p.dtype == np.float32 and np.all(p < 1)


# ------------------------------------------------------------------ schedules
SCHEDULES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5,
                          "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [2, 5], "values": [0.1, 0.05, 0.01]}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 7}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 5, "warmup_target": 0.1,
                     "warmup_steps": 3}),
]


def schedule_by_hand(name, kwargs, step):
    """Each schedule's closed form, written out (Keras's documentation)."""
    if name == "ExponentialDecay":
        exponent = step / kwargs["decay_steps"]
        if kwargs.get("staircase"):
            exponent = math.floor(exponent)
        return kwargs["initial_learning_rate"] * kwargs["decay_rate"] ** exponent
    if name == "PiecewiseConstantDecay":
        for boundary, value in zip(kwargs["boundaries"], kwargs["values"]):
            if step <= boundary:
                return value
        return kwargs["values"][-1]
    lr0, decay_steps, alpha = (kwargs["initial_learning_rate"], kwargs["decay_steps"],
                               kwargs.get("alpha", 0.0))
    warmup_steps = kwargs.get("warmup_steps", 0)
    if "warmup_target" in kwargs:
        if step < warmup_steps:
            return lr0 + (kwargs["warmup_target"] - lr0) * step / warmup_steps
        lr0, step = kwargs["warmup_target"], step - warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(step, decay_steps) / decay_steps))
    return lr0 * ((1 - alpha) * cosine + alpha)


@pytest.mark.parametrize("name, kwargs", SCHEDULES)
def test_schedules_follow_their_closed_forms(name, kwargs):
    mine = getattr(optimizers.schedules, name)(**kwargs)
    for step in range(12):
        assert mine(step) == pytest.approx(schedule_by_hand(name, kwargs, step),
                                           rel=1e-14, abs=1e-15), step


def test_schedules_at_points_worked_by_hand():
    """A few values computed on paper, independent of schedule_by_hand."""
    exponential = optimizers.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5)
    assert exponential(6) == pytest.approx(0.025, rel=1e-14)        # 0.1 * 0.5^2
    cosine = optimizers.CosineDecay(0.1, decay_steps=4, alpha=0.1)
    # halfway: cos(pi / 2) = 0, so 0.1 * (0.9 * 0.5 + 0.1) = 0.055; the end: alpha * lr0
    assert cosine(2) == pytest.approx(0.055, rel=1e-14)
    assert cosine(4) == cosine(9) == pytest.approx(0.01, rel=1e-14)
    warm = optimizers.CosineDecay(0.0, decay_steps=5, warmup_target=0.1, warmup_steps=4)
    assert warm(2) == pytest.approx(0.05, rel=1e-14) and warm(4) == pytest.approx(0.1)


@pytest.mark.parametrize("name, kwargs", SCHEDULES)
def test_schedules_match_keras(name, kwargs, keras):
    mine = getattr(optimizers.schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    for step in range(12):
        assert mine(step) == pytest.approx(float(theirs(step)), rel=1e-6, abs=1e-9), step


def test_step_decay_is_a_staircase():
    step_decay = optimizers.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.1, staircase=True)
    assert [step_decay(s) for s in (0, 9, 10, 19, 20)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001])


def test_optimizer_uses_schedule_of_its_step_count():
    p = np.zeros(1)
    opt = optimizers.SGD(learning_rate=optimizers.PiecewiseConstantDecay([0], [1.0, 0.5]))
    for _ in range(3):
        opt.apply_gradients([(np.ones(1), p)])
    assert p[0] == pytest.approx(-(1.0 + 0.5 + 0.5))
    assert opt.current_learning_rate() == 0.5


# ------------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        optimizers.Adam(learning_rate=-1.0)
    with pytest.raises(ValueError, match=r"beta_1 must be in \[0, 1\)"):
        optimizers.Adam(beta_1=1.0)
    with pytest.raises(TypeError, match="momentum must be a finite number"):
        optimizers.SGD(momentum="high")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        optimizers.get("adamw")
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="gradient of shape"):
        opt.apply_gradients([(np.ones(3), np.ones(4))])
    opt.apply_gradients([(np.ones(3), np.ones(3))])
    with pytest.raises(ValueError, match="first used with 1"):
        opt.apply_gradients([(np.ones(3), np.ones(3)), (np.ones(2), np.ones(2))])
    with pytest.raises(ValueError, match="one more entry"):
        optimizers.PiecewiseConstantDecay([1, 2], [0.1])
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        optimizers.CosineDecay(0.1, decay_steps=0)
