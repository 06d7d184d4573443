"""Cases of the exercises on what a training step computes last: the softmax
cross-entropy from logits, the soft Dice loss's backward, batch
normalisation's backward in training mode, and Adam's update.
"""
import math

import numpy as np

from .. import optimizers
from ..functional import losses, normalization
from .harness import (Case, ContractError, Harness, layer_gradients, loss_gradients, normal,
                      unpack)


def _pixels(rng):
    return dict(n=int(rng.integers(1, 4)), h=int(rng.integers(1, 6)),
                w=int(rng.integers(1, 6)), c=int(rng.integers(1, 5)))


def _one_hot(rng, shape, dtype):
    return np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], shape[:-1])]


def _number(value, function):
    """A loss value as a float; a ContractError if it is not one number."""
    if np.ndim(value) != 0 or not np.isrealobj(value):
        raise ContractError(f"{function} returned a value of shape {np.shape(value)}; "
                            "the loss's value is one number (the mean)")
    return np.asarray(value, dtype=np.float64)


class _Loss(Harness):
    def axes(self, output, config):
        return () if output == "value" else ("N", "H", "W", "C")

    def quantities(self, c):
        return {"N": c["n"], "H * W": c["h"] * c["w"], "N * H * W": c["n"] * c["h"] * c["w"],
                "C": c["c"], "N * C": c["n"] * c["c"],
                "N * H * W * C": c["n"] * c["h"] * c["w"] * c["c"]}


class CrossEntropy(_Loss):
    """categorical_crossentropy_forward(y_true, logits, True, -1) -> (value, cache),
    and its backward(dy, cache) -> dL/dlogits."""

    outputs = ("value", "gradient")
    library = {"categorical_crossentropy_forward": losses.categorical_crossentropy_forward,
               "categorical_crossentropy_backward": losses.categorical_crossentropy_backward}

    def hand_picked(self):
        c = lambda **k: {**dict(n=2, h=3, w=5, c=4, scale=2.0, soft=False), **k}  # noqa: E731
        return [Case("a tiny case", c()), Case("two classes, one image", c(n=1, c=2)),
                Case("large logits (up to about 1000: exp overflows without the max shift)",
                     c(scale=500.0)),
                Case("soft labels (rows of y_true not one-hot)", c(soft=True)),
                Case("one pixel per image, a batch of 3", c(n=3, h=1, w=1))]

    def random_config(self, rng):
        return {**_pixels(rng), "scale": float(rng.uniform(0.5, 5)), "soft": bool(rng.random() < 0.3)}

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        shape = (c["n"], c["h"], c["w"], c["c"])
        y = rng.dirichlet(np.ones(c["c"]), shape[:-1]).astype(dtype) if c["soft"] \
            else _one_hot(rng, shape, dtype)
        return {"y_true": y, "y_pred": normal(rng, shape, dtype, c["scale"]),
                "dy": float(rng.uniform(0.5, 2.0))}

    def run(self, fns, a):
        value, cache = unpack(fns["categorical_crossentropy_forward"](
            a["y_true"], a["y_pred"], True, -1), ("value", "cache"),
            "categorical_crossentropy_forward")
        gradient = fns["categorical_crossentropy_backward"](a["dy"], cache)
        return {"value": _number(value, "categorical_crossentropy_forward"),
                "gradient": gradient, "_cache": cache}

    def gradients(self, fns, a, seed=0):
        return [("y_pred", analytic, numeric) for _, analytic, numeric in loss_gradients(
            lambda args: fns["categorical_crossentropy_forward"](args["y_true"], args["y_pred"],
                                                                 True, -1),
            fns["categorical_crossentropy_backward"], a, "y_pred", seed)]


class DiceBackward(_Loss):
    """dice_loss_backward(dy, cache of the library's dice_loss_forward) -> dL/dp."""

    outputs = ("gradient",)
    library = {"dice_loss_forward": losses.dice_loss_forward,
               "dice_loss_backward": losses.dice_loss_backward}

    def hand_picked(self):
        c = lambda **k: {**dict(n=2, h=3, w=5, c=4, smooth=1.0), **k}  # noqa: E731
        return [Case("a tiny case", c()), Case("one image, two classes", c(n=1, c=2)),
                Case("a class absent from every image (only smooth keeps it finite)",
                     c(c=3), "absent class"),
                Case("smooth 0.5, a batch of 3", c(n=3, smooth=0.5))]

    def random_config(self, rng):
        return {**_pixels(rng), "smooth": float(rng.choice([1.0, 0.5, 2.0]))}

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        shape = (c["n"], c["h"], c["w"], c["c"])
        y = _one_hot(rng, shape, dtype)
        if case.draw == "absent class":
            y = np.eye(c["c"], dtype=dtype)[rng.integers(0, c["c"] - 1, shape[:-1])]
        logits = rng.standard_normal(shape)
        p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        return {"y_true": y, "y_pred": p.astype(dtype), "smooth": c["smooth"],
                "dy": float(rng.uniform(0.5, 2.0))}

    def run(self, fns, a):
        _, cache = fns["dice_loss_forward"](a["y_true"], a["y_pred"], a["smooth"])
        return {"gradient": fns["dice_loss_backward"](a["dy"], cache)}

    def gradients(self, fns, a, seed=0):
        return loss_gradients(
            lambda args: fns["dice_loss_forward"](args["y_true"], args["y_pred"], args["smooth"]),
            fns["dice_loss_backward"], a, "y_pred", seed)


class BatchNormBackward(Harness):
    """batchnorm_train_backward(dy, BatchNormCache) -> (dx, dgamma, dbeta)."""

    outputs = ("dx", "dgamma", "dbeta")
    gradient_inputs = ("x", "gamma", "beta")
    library = {"batchnorm_train_forward": normalization.batchnorm_train_forward,
               "batchnorm_train_backward": normalization.batchnorm_train_backward}

    def hand_picked(self):
        c = lambda **k: {**dict(n=2, h=3, w=4, c=3, gamma=True, beta=True, axis=-1,  # noqa
                                epsilon=1e-3), **k}
        return [Case("a tiny case", c(w=5, c=2)), Case("one channel", c(c=1)),
                Case("without gamma and beta (scale=False, center=False)",
                     c(gamma=False, beta=False)),
                Case("channels along axis 1", c(axis=1)),
                Case("one image of one row (M = W)", c(n=1, h=1, w=6))]

    def random_config(self, rng):
        return {**_pixels(rng), "gamma": bool(rng.random() < 0.8), "beta": bool(rng.random() < 0.8),
                "axis": int(rng.choice([-1, 1, 2])), "epsilon": float(rng.choice([1e-3, 1e-5]))}

    def valid(self, config):
        # Batch statistics need two entries per channel, or the variance is 0.
        sizes = [config[k] for k in ("n", "h", "w", "c")]
        return int(np.prod(sizes)) // sizes[config["axis"] % 4] >= 2

    def shrink_steps(self, config):
        return [(k, v) for k, v in super().shrink_steps(config) if k != "axis"]

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        shape = (c["n"], c["h"], c["w"], c["c"])
        channels = shape[c["axis"] % 4]
        return {"x": normal(rng, shape, dtype, 2.0) + dtype(1),
                "gamma": normal(rng, (channels,), dtype) if c["gamma"] else None,
                "beta": normal(rng, (channels,), dtype) if c["beta"] else None,
                "epsilon": c["epsilon"], "axis": c["axis"], "dy": normal(rng, shape, dtype)}

    def _forward(self, fns, a):
        return fns["batchnorm_train_forward"](a["x"], a["gamma"], a["beta"], a["epsilon"],
                                              a["axis"])

    def run(self, fns, a):
        _, cache = self._forward(fns, a)
        dx, dgamma, dbeta = unpack(fns["batchnorm_train_backward"](a["dy"], cache),
                                   ("dx", "dgamma", "dbeta"), "batchnorm_train_backward")
        return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}

    def gradients(self, fns, a, seed=0):
        return layer_gradients(
            lambda args: self._forward(fns, args),
            lambda dy, cache: dict(zip(("x", "gamma", "beta"),
                                       fns["batchnorm_train_backward"](dy, cache))),
            a, self.gradient_inputs, seed)

    def axes(self, output, config):
        return ("N", "H", "W", "C") if output == "dx" else ("C",)

    def quantities(self, c):
        m = c["n"] * c["h"] * c["w"] * c["c"] // (c["n"], c["h"], c["w"], c["c"])[c["axis"] % 4]
        return {"M (entries per channel)": m, "N": c["n"]}

    def what_ifs(self, args):
        if args["gamma"] is None:
            return []
        return [("without gamma", "gamma is left out of dx", {**args, "gamma": None})]


class AdamUpdate(Harness):
    """adam_update(param, grad, m, v, t, lr, beta_1, beta_2, epsilon, v_hat), in place.

    Outputs: the change of param (the update), and m, v (and v_hat) after it."""

    outputs = ("update", "m", "v", "v_hat")
    library = {"adam_update": optimizers.adam_update}

    def hand_picked(self):
        c = lambda **k: {**dict(rows=3, cols=4, t=1, lr=1e-3, beta_1=0.9, beta_2=0.999,  # noqa
                                epsilon=1e-7, amsgrad=False), **k}
        return [Case("a tiny case: the first step (m and v start at 0)", c()),
                Case("step 5, m and v carried from earlier steps", c(t=5)),
                Case("AMSGrad (v_hat)", c(t=3, amsgrad=True)),
                Case("other rates: lr 0.01, beta_1 0.5, beta_2 0.9, epsilon 1e-3",
                     c(t=2, lr=0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-3))]

    def random_config(self, rng):
        return dict(rows=int(rng.integers(1, 5)), cols=int(rng.integers(1, 5)),
                    t=int(rng.integers(1, 20)), lr=float(10 ** rng.uniform(-4, -1)),
                    beta_1=float(rng.uniform(0.5, 0.95)), beta_2=float(rng.uniform(0.9, 0.9999)),
                    epsilon=float(10 ** rng.uniform(-8, -3)), amsgrad=bool(rng.random() < 0.3))

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        shape = (c["rows"], c["cols"])
        first = c["t"] == 1
        v = np.zeros(shape, dtype) if first else (rng.random(shape) * 0.01).astype(dtype)
        return {"param": normal(rng, shape, dtype), "grad": normal(rng, shape, dtype, 0.1),
                "m": np.zeros(shape, dtype) if first else normal(rng, shape, dtype, 0.05),
                "v": v, "v_hat": (v + rng.random(shape).astype(dtype) * 0.01) if c["amsgrad"]
                else None, **{k: c[k] for k in ("t", "lr", "beta_1", "beta_2", "epsilon")}}

    def run(self, fns, a):
        param, m, v = a["param"].copy(), a["m"].copy(), a["v"].copy()
        v_hat = None if a["v_hat"] is None else a["v_hat"].copy()
        fns["adam_update"](param, a["grad"], m, v, a["t"], a["lr"], a["beta_1"], a["beta_2"],
                           a["epsilon"], v_hat)
        return {"update": param - a["param"], "m": m, "v": v, "v_hat": v_hat}

    def contract(self, a, out):
        unchanged = [name for name, same in (("param", not np.any(out["update"])),
                                             ("m", np.array_equal(out["m"], a["m"])),
                                             ("v", np.array_equal(out["v"], a["v"]))) if same]
        if unchanged:
            return [f"it left {', '.join(unchanged)} unchanged: the optimizer keeps these "
                    "arrays, so they must change in place (param -= ..., m += ...; "
                    "param = param - ... makes a new array the optimizer never sees)"]
        return []

    def axes(self, output, config):
        return ("rows", "cols")

    def quantities(self, c):
        t, b1, b2 = c["t"], c["beta_1"], c["beta_2"]
        return {"sqrt(1 - beta_2^t) / (1 - beta_1^t) (the bias correction)":
                math.sqrt(1 - b2 ** t) / (1 - b1 ** t),
                "1 - beta_1^t": 1 - b1 ** t, "sqrt(1 - beta_2^t)": math.sqrt(1 - b2 ** t),
                "1 - beta_1": 1 - b1, "1 - beta_2": 1 - b2, "lr": c["lr"]}

    def what_ifs(self, args):
        if args["v_hat"] is None:
            return []
        return [("without v_hat (amsgrad=False)", "v_hat is ignored", {**args, "v_hat": None})]
