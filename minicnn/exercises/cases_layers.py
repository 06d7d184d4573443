"""Cases of the exercises on layers without weights: max pooling, nearest
upsampling's backward, and the backward passes of ReLU, sigmoid and softmax.
"""
import numpy as np

from ..functional import activations, pooling, upsampling
from .harness import Case, Harness, distinct, layer_gradients, normal, unpack


def _sizes(rng):
    return dict(n=int(rng.integers(1, 4)), h=int(rng.integers(1, 8)),
                w=int(rng.integers(1, 8)), c=int(rng.integers(1, 4)))


class MaxPool(Harness):
    """max_pool2d_forward(x, geom) -> (y, cache); max_pool2d_backward(dy, cache) -> dx."""

    outputs = ("y", "dx")
    gradient_inputs = ("x",)
    library = {"max_pool2d_forward": pooling.max_pool2d_forward,
               "max_pool2d_backward": pooling.max_pool2d_backward}

    def hand_picked(self):
        c = lambda **k: {**dict(n=1, h=4, w=4, c=1, ph=2, pw=2, sh=2, sw=2, pad="valid"), **k}  # noqa: E731,E501
        return [Case("a tiny case", c(n=2, h=4, w=6, c=3)),
                Case("2x2 on one channel", c()),
                Case("windows of equal values (ties: the first in row-major order wins)",
                     c(h=4, w=6), "ties"),
                Case("3x3 windows, stride 2, 'same' (they overlap; padding at the bottom "
                     "and right)", c(h=6, w=7, ph=3, pw=3, pad="same")),
                Case("negative values and 'same' padding (padding never wins)",
                     c(h=5, w=5, pad="same"), "negative"),
                Case("pool 2x3, strides (1, 2), 'valid', sizes the stride does not divide",
                     c(n=2, h=5, w=7, c=2, pw=3, sh=1))]

    def random_config(self, rng):
        ph, pw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        return {**_sizes(rng), "ph": ph, "pw": pw, "sh": int(rng.integers(1, ph + 2)),
                "sw": int(rng.integers(1, pw + 2)), "pad": ("same", "valid")[rng.integers(2)]}

    def geometry(self, c):
        return pooling.pool_geometry((c["h"], c["w"]), (c["ph"], c["pw"]), (c["sh"], c["sw"]),
                                     c["pad"])

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        shape = (c["n"], c["h"], c["w"], c["c"])
        x = distinct(rng, shape, dtype)
        if case.draw == "ties":
            x = rng.integers(0, 2, shape).astype(dtype)
        elif case.draw == "negative":
            x = -1 - np.abs(x)
        geom = self.geometry(c)
        return {"x": x, "geom": geom, "dy": normal(rng, (c["n"], *geom.out_hw, c["c"]), dtype)}

    def run(self, fns, a):
        y, cache = unpack(fns["max_pool2d_forward"](a["x"], a["geom"]), ("y", "cache"),
                          "max_pool2d_forward")
        return {"y": y, "dx": fns["max_pool2d_backward"](a["dy"], cache), "_cache": cache}

    def gradients(self, fns, a, seed=0):
        return layer_gradients(
            lambda args: fns["max_pool2d_forward"](args["x"], args["geom"]),
            lambda dy, cache: {"x": fns["max_pool2d_backward"](dy, cache)}, a, ("x",), seed)

    def axes(self, output, config):
        return {"y": ("N", "OH", "OW", "C"), "dx": ("N", "H", "W", "C")}[output]

    def quantities(self, c):
        return {"ph * pw": c["ph"] * c["pw"], "N": c["n"], "C": c["c"]}

    def what_ifs(self, args):
        geom = args["geom"]
        (top, bottom), (left, right) = geom.pads
        if (top, left) == (bottom, right):
            return []
        return [(f"with the padding {geom.pads} on the other sides",
                 "the extra row or column of 'same' padding is on the wrong side",
                 {**args, "geom": geom._replace(pads=((bottom, top), (right, left)))})]


class UpsampleBackward(Harness):
    """upsample_nearest2d_backward(dy, cache = (sh, sw)) -> dx."""

    outputs = ("dx",)
    gradient_inputs = ("x",)
    library = {"upsample_nearest2d_forward": upsampling.upsample_nearest2d_forward,
               "upsample_nearest2d_backward": upsampling.upsample_nearest2d_backward}

    def hand_picked(self):
        c = lambda **k: {**dict(n=1, h=3, w=4, c=1, sh=2, sw=2), **k}  # noqa: E731
        return [Case("a tiny case", c(n=2, c=3)), Case("factor 2 on one channel", c()),
                Case("factors (3, 2)", c(sh=3)), Case("factor 1 (dx = dy)", c(sh=1, sw=1))]

    def random_config(self, rng):
        return {**_sizes(rng), "sh": int(rng.integers(1, 4)), "sw": int(rng.integers(1, 4))}

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        x = normal(rng, (c["n"], c["h"], c["w"], c["c"]), dtype)
        dy = normal(rng, (c["n"], c["h"] * c["sh"], c["w"] * c["sw"], c["c"]), dtype)
        return {"x": x, "size": (c["sh"], c["sw"]), "dy": dy}

    def run(self, fns, a):
        _, cache = fns["upsample_nearest2d_forward"](a["x"], a["size"])
        return {"dx": fns["upsample_nearest2d_backward"](a["dy"], cache)}

    def gradients(self, fns, a, seed=0):
        return layer_gradients(
            lambda args: fns["upsample_nearest2d_forward"](args["x"], args["size"]),
            lambda dy, cache: {"x": fns["upsample_nearest2d_backward"](dy, cache)},
            a, ("x",), seed)

    def quantities(self, c):
        return {"sh": c["sh"], "sw": c["sw"], "sh * sw": c["sh"] * c["sw"]}


class _ActivationBackward(Harness):
    """An activation's backward, after the library's forward: dx only."""

    outputs = ("dx",)
    gradient_inputs = ("x",)
    name = None                     # 'relu', 'sigmoid', 'softmax'

    @property
    def library(self):
        return {f"{self.name}_forward": getattr(activations, f"{self.name}_forward"),
                f"{self.name}_backward": getattr(activations, f"{self.name}_backward")}

    def options(self, a):
        """The forward's arguments after x."""
        return ()

    def run(self, fns, a):
        _, cache = fns[f"{self.name}_forward"](a["x"], *self.options(a))
        return {"dx": fns[f"{self.name}_backward"](a["dy"], cache)}

    def gradients(self, fns, a, seed=0):
        return layer_gradients(
            lambda args: fns[f"{self.name}_forward"](args["x"], *self.options(args)),
            lambda dy, cache: {"x": fns[f"{self.name}_backward"](dy, cache)},
            a, ("x",), seed)

    def gradient_cases(self):
        return [Case("values away from the kinks", self.contract_case.config, "distinct")]

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        shape = (c["n"], c["h"], c["w"], c["c"])
        x = normal(rng, shape, dtype, c.get("scale", 1.0))
        if case.draw == "distinct":                # no value within 1e-5 of a kink
            x = (distinct(rng, shape, dtype) + 1.0 / x.size).astype(dtype) * c.get("scale", 1)
        elif case.draw == "zeros":
            x[rng.random(shape) < 0.3] = 0
        return {**{k: v for k, v in c.items()}, "x": x, "dy": normal(rng, shape, dtype)}

    def random_config(self, rng):
        return _sizes(rng)


class ReluBackward(_ActivationBackward):
    """relu_backward(dy, ReluCache) -> dx, with Keras's three options."""

    name = "relu"

    def hand_picked(self):
        c = lambda **k: {**dict(n=1, h=3, w=4, c=2, max_value=None, negative_slope=0.0,  # noqa
                                threshold=0.0, scale=1.0), **k}
        return [Case("a tiny case", c(n=2, c=3)), Case("plain max(x, 0)", c()),
                Case("zeros in x (at the kink the slope below it: 0)", c(), "zeros"),
                Case("negative_slope 0.1", c(negative_slope=0.1)),
                Case("max_value 1 (the slope is 0 at and above it)",
                     c(max_value=1.0, scale=2.0)),
                Case("threshold 0.5", c(threshold=0.5)),
                Case("all three", c(max_value=2.0, negative_slope=0.2, threshold=0.3,
                                    scale=2.0))]

    def random_config(self, rng):
        options = dict(max_value=None if rng.random() < 0.5 else float(rng.uniform(0.5, 2)),
                       negative_slope=0.0 if rng.random() < 0.5 else float(rng.uniform(0, 0.5)),
                       threshold=0.0 if rng.random() < 0.5 else float(rng.uniform(0, 0.5)))
        return {**_sizes(rng), **options, "scale": 2.0}

    def options(self, a):
        return (a["max_value"], a["negative_slope"], a["threshold"])

    def what_ifs(self, args):
        defaults = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}
        return [(f"with {k}={v!r} in place of {args[k]!r}", f"{k} is ignored", {**args, k: v})
                for k, v in defaults.items() if args[k] != v]


class SigmoidBackward(_ActivationBackward):
    """sigmoid_backward(dy, y) -> dx: the cache is the output."""

    name = "sigmoid"

    def hand_picked(self):
        c = lambda **k: {**dict(n=1, h=3, w=4, c=2, scale=2.0), **k}  # noqa: E731
        return [Case("a tiny case", c(n=2, c=3)), Case("one channel", c(c=1)),
                Case("saturated inputs (|x| up to 30)", c(scale=15.0))]


class SoftmaxBackward(_ActivationBackward):
    """softmax_backward(dy, SoftmaxCache) -> dx, along the cache's axis."""

    name = "softmax"

    def hand_picked(self):
        c = lambda **k: {**dict(n=1, h=3, w=4, c=3, axis=-1, scale=1.0), **k}  # noqa: E731
        return [Case("a tiny case", c(n=2, h=3, w=5, c=4)),
                Case("three classes", c()), Case("one class (dx = 0)", c(c=1)),
                Case("along axis 1 (not the channels)", c(axis=1)),
                Case("large logits (up to 50)", c(scale=25.0))]

    def random_config(self, rng):
        return {**_sizes(rng), "axis": int(rng.choice([-1, 1, 2, 3])),
                "scale": float(rng.uniform(0.5, 4))}

    def options(self, a):
        return (a["axis"],)

    def shrink_steps(self, config):
        return [(k, v) for k, v in super().shrink_steps(config) if k != "axis"]

    def axes(self, output, config):
        return ("N", "H", "W", "C")

    def quantities(self, c):
        return {"C": c["c"]}

    def what_ifs(self, args):
        if args["axis"] % 4 == 3:
            return []
        return [(f"along the last axis in place of axis {args['axis']}",
                 "the axis in the cache is ignored", {**args, "axis": -1})]
