"""Optimizers (SGD, Adam, RMSprop) and learning-rate schedules, as in Keras.

An optimizer turns gradients into weight updates. ``model.fit`` calls

    optimizer.apply_gradients([(grad, param), ...])

once per batch, with every trainable weight (``param``) and its gradient
from ``model.backward`` (``grad``). Each weight is updated *in place*, so the
arrays inside the layers change; the optimizer keeps its own state (momentum,
moving averages) per weight, by position in that list, which must therefore
always hold the same weights in the same order.

With g the gradient, p the weight, lr the learning rate and t = 1, 2, ... the
step number (``iterations + 1``), the update rules are Keras's:

SGD (learning_rate=0.01, momentum=0.0, nesterov=False)
    no momentum:   p <- p - lr g
    momentum m:    v <- m v - lr g
                   p <- p + v                  (classical)
                   p <- p + m v - lr g         (nesterov)

Adam (learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7; the step
of one weight is the function ``adam_update``)
    m <- m + (1 - beta_1) (g - m)          first moment (running mean of g)
    v <- v + (1 - beta_2) (g^2 - v)        second moment (running mean of g^2)
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)     bias correction
    p <- p - alpha m / (sqrt(v) + epsilon)
    (amsgrad=True uses v_hat = max(v_hat, v) in place of v)

RMSprop (learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)
    v <- rho v + (1 - rho) g^2
    a <- rho a + (1 - rho) g               (centered only)
    step = lr g / sqrt(v - a^2 + epsilon)  (centered)  or  lr g / sqrt(v + epsilon)
    p <- p - step                          (momentum 0)
    u <- momentum u + step;  p <- p - u    (momentum > 0)

Learning-rate schedules
-----------------------
``learning_rate`` may be a number or a schedule: a callable of the step
count (``optimizer.iterations``, starting at 0) returning the rate:

    ExponentialDecay       lr0 * decay_rate ** (step / decay_steps)
                           staircase=True floors the exponent: a *step* decay,
                           lr0 * decay_rate ** floor(step / decay_steps)
    PiecewiseConstantDecay values[i] while boundaries[i-1] < step <= boundaries[i]
    CosineDecay            lr0 * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps)
                                                         / decay_steps)) / 2 + alpha)
                           with an optional linear warmup to warmup_target first

They are also under ``optimizers.schedules``, as in Keras.
"""
import math
import numbers
import types

import numpy as np


def _positive(value, name, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return float(value)


def _fraction(value, name):
    value = _positive(value, name, allow_zero=True)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


# ------------------------------------------------------------------ schedules
class LearningRateSchedule:
    """Base: ``schedule(step) -> learning rate`` (step = optimizer.iterations)."""

    def __call__(self, step):
        return float(self.rate(int(step)))

    def rate(self, step):
        return self.initial_learning_rate


class ExponentialDecay(LearningRateSchedule):
    """lr0 * decay_rate ** (step / decay_steps); staircase=True: a step decay."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.decay_rate = _positive(decay_rate, "decay_rate")
        self.staircase = bool(staircase)

    def rate(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to boundaries[0], values[1] up to boundaries[1], ..."""

    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"values must have one more entry than boundaries, got "
                             f"{len(boundaries)} boundaries and {len(values)} values")
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must increase, got {boundaries}")
        self.boundaries = boundaries
        self.values = [_positive(v, "values", allow_zero=True) for v in values]

    def rate(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


class CosineDecay(LearningRateSchedule):
    """Half a cosine from lr0 down to alpha * lr0 over decay_steps (then flat)."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0,
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate",
                                               allow_zero=True)
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.alpha = _positive(alpha, "alpha", allow_zero=True)
        self.warmup_target = (None if warmup_target is None
                              else _positive(warmup_target, "warmup_target"))
        self.warmup_steps = _positive(warmup_steps, "warmup_steps", allow_zero=True)

    def _cosine(self, step, start):
        fraction = min(step, self.decay_steps) / self.decay_steps
        decayed = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return start * ((1.0 - self.alpha) * decayed + self.alpha)

    def rate(self, step):
        if self.warmup_target is None:
            return self._cosine(step, self.initial_learning_rate)
        if step < self.warmup_steps:   # linear ramp from lr0 up to warmup_target
            delta = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + delta * step / self.warmup_steps
        return self._cosine(step - self.warmup_steps, self.warmup_target)


schedules = types.SimpleNamespace(
    LearningRateSchedule=LearningRateSchedule, ExponentialDecay=ExponentialDecay,
    PiecewiseConstantDecay=PiecewiseConstantDecay, CosineDecay=CosineDecay)


# ----------------------------------------------------------------- optimizers
class Optimizer:
    """Base: per-weight state, the step counter and the learning rate."""

    def __init__(self, learning_rate):
        if not isinstance(learning_rate, LearningRateSchedule) and not callable(learning_rate):
            learning_rate = _positive(learning_rate, "learning_rate", allow_zero=True)
        self.learning_rate = learning_rate
        self.iterations = 0         # number of apply_gradients calls so far
        self._state = None          # one dict of arrays per weight, by position

    def current_learning_rate(self):
        """The rate the next step will use."""
        if callable(self.learning_rate):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def apply_gradients(self, grads_and_vars):
        """Update every weight in place from its gradient: [(grad, param), ...]."""
        pairs = list(grads_and_vars)
        for i, (grad, param) in enumerate(pairs):
            if not isinstance(param, np.ndarray) or np.shape(grad) != param.shape:
                raise ValueError(
                    f"{type(self).__name__}.apply_gradients: pair {i} has a gradient "
                    f"of shape {np.shape(grad)} for a weight of shape "
                    f"{getattr(param, 'shape', type(param).__name__)}")
        if self._state is None:
            self._state = [self._new_state(param) for _, param in pairs]
        elif len(self._state) != len(pairs):
            raise ValueError(
                f"{type(self).__name__}.apply_gradients: got {len(pairs)} weights, "
                f"but this optimizer was first used with {len(self._state)}; use a "
                "new optimizer for a different model")
        lr = self.current_learning_rate()
        for (grad, param), state in zip(pairs, self._state):
            grad = np.asarray(grad, dtype=param.dtype)
            self._update(param, grad, state, param.dtype.type(lr))
        self.iterations += 1

    def _new_state(self, param):
        return {}

    def _update(self, param, grad, state, lr):
        """Change `param` in place using `grad` and this weight's `state`."""
        param -= lr * grad

    def __repr__(self):
        return f"<{type(self).__name__} learning_rate={self.learning_rate!r}>"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = _fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)

    def _new_state(self, param):
        return {"velocity": np.zeros_like(param)} if self.momentum else {}

    def _update(self, param, grad, state, lr):
        if not self.momentum:
            param -= lr * grad
            return
        v = state["velocity"]
        v *= self.momentum
        v -= lr * grad                                  # v <- m v - lr g
        if self.nesterov:
            param += self.momentum * v - lr * grad      # p <- p + m v - lr g
        else:
            param += v                                  # p <- p + v


class Adam(Optimizer):
    """Adam with bias correction folded into the step size, as in Keras."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False):
        super().__init__(learning_rate)
        self.beta_1 = _fraction(beta_1, "beta_1")
        self.beta_2 = _fraction(beta_2, "beta_2")
        self.epsilon = _positive(epsilon, "epsilon", allow_zero=True)
        self.amsgrad = bool(amsgrad)

    def _new_state(self, param):
        state = {"m": np.zeros_like(param), "v": np.zeros_like(param)}
        if self.amsgrad:
            state["v_hat"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, lr):
        adam_update(param, grad, state["m"], state["v"], self.iterations + 1, lr,
                    self.beta_1, self.beta_2, self.epsilon, state.get("v_hat"))


def adam_update(param, grad, m, v, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                v_hat=None):
    """One Adam step on one weight, in place, as Keras computes it.

    param, grad, m, v (and v_hat): arrays of the weight's shape, e.g. a
    kernel (kh, kw, C_in, C_out); t = 1, 2, ... the step number; lr the
    learning rate of this step.

        m <- m + (1 - beta_1) (grad - m)          running mean of grad
        v <- v + (1 - beta_2) (grad^2 - v)        running mean of grad^2
        v_hat <- max(v_hat, v)                    (AMSGrad only, then used for v)
        alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
        param <- param - alpha m / (sqrt(v) + epsilon)

    m and v start at 0, so early on they are biased towards 0 by the
    factors 1 - beta_1^t and 1 - beta_2^t; alpha divides the bias out (the
    bias correction), folded into the step size as Keras does, so that
    epsilon is added to the uncorrected sqrt(v). At t = 1 the step is about
    lr * sign(grad) whatever the gradient's scale. Returns None: param, m, v
    and v_hat change in place (the optimizer keeps m, v and v_hat).
    """
    m += (1 - beta_1) * (grad - m)
    v += (1 - beta_2) * (grad * grad - v)
    if v_hat is not None:
        np.maximum(v_hat, v, out=v_hat)
        v = v_hat
    alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    param -= (m * alpha) / (np.sqrt(v) + epsilon)


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square of its recent values."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False):
        super().__init__(learning_rate)
        self.rho = _fraction(rho, "rho")
        self.momentum = _fraction(momentum, "momentum")
        self.epsilon = _positive(epsilon, "epsilon", allow_zero=True)
        self.centered = bool(centered)

    def _new_state(self, param):
        state = {"v": np.zeros_like(param)}
        if self.centered:
            state["average_grad"] = np.zeros_like(param)
        if self.momentum:
            state["momentum"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, lr):
        v = state["v"]
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        if self.centered:
            a = state["average_grad"]
            a *= self.rho
            a += (1 - self.rho) * grad
            denominator = v - a * a + self.epsilon
        else:
            denominator = v + self.epsilon
        step = lr * grad / np.sqrt(denominator)
        if self.momentum:
            u = state["momentum"]
            u *= self.momentum
            u += step
            param -= u
        else:
            param -= step


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier):
    """An optimizer from a Keras name ('adam', 'sgd', 'rmsprop') or an object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"optimizer must be one of {tuple(_BY_NAME)} or an Optimizer, "
                     f"got {identifier!r}")
