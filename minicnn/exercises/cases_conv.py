"""The convolution exercises' cases: conv2d_forward, conv2d_backward, conv2d_transpose.

A configuration is the whole parameter space of a Conv2D (or
Conv2DTranspose) call: N images of H x W with C_in channels, C_out filters
of kh x kw, strides (sh, sw), dilation (dh, dw), 'same' or 'valid', with
or without a bias (and output_padding `op` for the transpose). The random
ones reach sizes the stride does not divide, dilated and non-square
kernels and images, batch 1 and one channel.
"""
import numpy as np

from ..functional import conv
from ..functional.conv import ConvCache, conv_geometry, transpose_geometry
from .harness import Case, Harness, layer_gradients, normal, unpack


def _config(n=1, h=5, w=6, ci=1, co=1, kh=3, kw=3, sh=1, sw=1, dh=1, dw=1, pad="same",
            bias=True, **extra):
    return dict(n=n, h=h, w=w, ci=ci, co=co, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw,
                pad=pad, bias=bias, **extra)


class _Conv(Harness):
    """What the three convolution exercises share."""

    def random_config(self, rng):
        pick = lambda low, high: int(rng.integers(low, high + 1))    # noqa: E731
        return _config(n=pick(1, 3), h=pick(1, 9), w=pick(1, 9), ci=pick(1, 3),
                       co=pick(1, 3), kh=pick(1, 4), kw=pick(1, 4), sh=pick(1, 3),
                       sw=pick(1, 3), dh=pick(1, 3), dw=pick(1, 3),
                       pad=("same", "valid")[pick(0, 1)], bias=bool(pick(0, 1)))

    def geometry(self, c):
        return conv_geometry((c["h"], c["w"]), (c["kh"], c["kw"]), (c["sh"], c["sw"]),
                             (c["dh"], c["dw"]), c["pad"])

    def describe(self, c):
        text = (f"N={c['n']} H={c['h']} W={c['w']} C_in={c['ci']} C_out={c['co']} "
                f"kernel {c['kh']}x{c['kw']} strides ({c['sh']}, {c['sw']}) dilation "
                f"({c['dh']}, {c['dw']}) padding '{c['pad']}'")
        if "op" in c:
            text += f" output_padding {c['op']}"
        return text + (" with bias" if c["bias"] else " no bias")

    def _kernel_shape(self, c):
        return (c["kh"], c["kw"], c["ci"], c["co"])

    def arrays(self, case, dtype):
        c, rng = case.config, self.rng(case)
        geom = self.geometry(c)
        x = normal(rng, (c["n"], c["h"], c["w"], c["ci"]), dtype)
        kernel = normal(rng, self._kernel_shape(c), dtype)
        bias = normal(rng, (c["co"],), dtype) if c["bias"] else None
        if case.draw == "one pixel":                 # a single 1 in the middle
            x = np.zeros_like(x)
            x[0, c["h"] // 2, c["w"] // 2, 0] = 1
        elif case.draw == "identity kernel":         # the centre tap passes each channel
            kernel = np.zeros_like(kernel)
            kernel[c["kh"] // 2, c["kw"] // 2] = np.eye(c["ci"], c["co"], dtype=dtype)
        out_shape = self._output_shape(c, geom)
        dy = normal(rng, out_shape, dtype)
        if case.draw == "one pixel upstream":        # a single 1 in dy's middle
            dy = np.zeros_like(dy)
            dy[0, out_shape[1] // 2, out_shape[2] // 2, 0] = 1
        return {"x": x, "kernel": kernel, "bias": bias, "geom": geom, "dy": dy}

    def _output_shape(self, c, geom):
        return (c["n"], *geom.out_hw, c["co"])

    def axes(self, output, config):
        return {"y": ("N", "OH", "OW", "C_out"), "dx": ("N", "H", "W", "C_in"),
                "dkernel": ("kh", "kw", "C_in", "C_out"), "dbias": ("C_out",)}[output]

    def quantities(self, c):
        return {"N": c["n"], "C_in": c["ci"], "C_out": c["co"], "kh * kw": c["kh"] * c["kw"],
                "kh * kw * C_in": c["kh"] * c["kw"] * c["ci"], "H * W": c["h"] * c["w"],
                "N * H * W": c["n"] * c["h"] * c["w"]}

    def what_ifs(self, args):
        geom, found = args["geom"], []
        for field, name in (("strides", "the stride"), ("dilation", "the dilation")):
            if getattr(geom, field) != (1, 1):
                found.append((f"with {field} (1, 1) in place of {getattr(geom, field)}",
                              f"{name} is ignored", {**args, "geom": geom._replace(
                                  **{field: (1, 1)})}))
        (top, bottom), (left, right) = geom.pads
        if (top, left) != (bottom, right):
            found.append((f"with the padding {geom.pads} on the other sides, "
                          f"{((bottom, top), (right, left))}",
                          "the extra row or column of 'same' padding (or output_padding) "
                          "is on the wrong side",
                          {**args, "geom": geom._replace(pads=((bottom, top), (right, left)))}))
        found.append(("with the kernel mirrored (flipped along kh and kw)",
                      "the kernel's taps are used in mirror order (a true convolution where "
                      "a cross-correlation is wanted; in a backward written as a gather, "
                      "the flip missing or one too many)",
                      {**args, "kernel": args["kernel"][::-1, ::-1]}))
        if args["bias"] is not None:
            found.append(("without the bias", "the bias is not added",
                          {**args, "bias": None}))
        return found


class ConvForward(_Conv):
    """conv2d_forward(x, kernel, bias, geom) -> (y, ConvCache)."""

    outputs = ("y",)
    library = {"conv2d_forward": conv.conv2d_forward}

    def hand_picked(self):
        return [Case("a tiny case", _config(n=2, h=5, w=7, ci=3, co=4)),
                Case("one channel", _config()),
                Case("an identity kernel (y = x + bias)", _config(ci=2, co=2),
                     "identity kernel"),
                Case("one pixel (y is the kernel, mirrored)", _config(bias=False),
                     "one pixel"),
                Case("stride 2, 'same' on an even size (the extra padding at the "
                     "bottom and right)", _config(h=6, w=6, sh=2, sw=2)),
                Case("dilation 2", _config(h=7, w=7, dh=2, dw=2)),
                Case("a non-square kernel and image, 'valid', strides (1, 2)",
                     _config(h=5, w=8, kh=2, kw=3, sw=2, pad="valid"))]

    def run(self, fns, a):
        y, cache = unpack(fns["conv2d_forward"](a["x"], a["kernel"], a["bias"], a["geom"]),
                          ("y", "cache"), "conv2d_forward")
        return {"y": y, "_cache": cache}

    def contract(self, a, out):
        cache = out["_cache"]
        if type(cache) is not ConvCache:
            return [f"its cache is {cache!r}, not minicnn's ConvCache(x, kernel, has_bias, "
                    "geom): the library's backward reads it in training (from "
                    "minicnn.functional.conv import ConvCache)"]
        problems = []
        if cache.has_bias is not (a["bias"] is not None):
            problems.append(f"its cache says has_bias={cache.has_bias!r} for bias "
                            f"{'None' if a['bias'] is None else 'given'}")
        if cache.geom != a["geom"]:
            problems.append("its cache holds another geometry than the geom it was given")
        for name in ("x", "kernel"):
            if not isinstance(getattr(cache, name), np.ndarray) or \
                    not np.array_equal(getattr(cache, name), a[name]):
                problems.append(f"its cache's {name} is not the {name} it was given")
        return problems


class ConvBackward(_Conv):
    """conv2d_backward(dy, cache of the library's forward) -> (dx, dkernel, dbias)."""

    outputs = ("dx", "dkernel", "dbias")
    gradient_inputs = ("x", "kernel", "bias")
    library = {"conv2d_forward": conv.conv2d_forward, "conv2d_backward": conv.conv2d_backward}

    def hand_picked(self):
        return [Case("a tiny case", _config(n=2, h=5, w=7, ci=3, co=4)),
                Case("one channel", _config()),
                Case("one pixel of dy (dx is the kernel)", _config(bias=False),
                     "one pixel upstream"),
                Case("a batch of 3 (dbias and dkernel sum over it)", _config(n=3, co=2)),
                Case("stride 2, 'same' on an even size", _config(h=6, w=6, sh=2, sw=2)),
                Case("dilation 2", _config(h=7, w=7, dh=2, dw=2)),
                Case("a non-square kernel and image, 'valid', strides (1, 2)",
                     _config(h=5, w=8, kh=2, kw=3, sw=2, pad="valid"))]

    def run(self, fns, a):
        _, cache = fns["conv2d_forward"](a["x"], a["kernel"], a["bias"], a["geom"])
        dx, dkernel, dbias = unpack(fns["conv2d_backward"](a["dy"], cache),
                                    ("dx", "dkernel", "dbias"), "conv2d_backward")
        return {"dx": dx, "dkernel": dkernel, "dbias": dbias}

    def gradients(self, fns, a, seed=0):
        def forward(args):
            return fns["conv2d_forward"](args["x"], args["kernel"], args["bias"], args["geom"])

        def backward(dy, cache):
            return dict(zip(("x", "kernel", "bias"), fns["conv2d_backward"](dy, cache)))
        return layer_gradients(forward, backward, a, self.gradient_inputs, seed)

    def quantities(self, c):
        oh, ow = self.geometry(c).out_hw
        return {**super().quantities(c), "OH * OW": oh * ow, "N * OH * OW": c["n"] * oh * ow}


class ConvTranspose(_Conv):
    """conv2d_transpose_forward(x, kernel, bias, geom) -> (y, cache) and its backward."""

    outputs = ("y", "dx", "dkernel", "dbias")
    gradient_inputs = ("x", "kernel", "bias")
    library = {"conv2d_transpose_forward": conv.conv2d_transpose_forward,
               "conv2d_transpose_backward": conv.conv2d_transpose_backward}

    def hand_picked(self):
        return [Case("a tiny case", _config(n=2, h=3, w=4, ci=3, co=2, sh=2, sw=2, op=None)),
                Case("one channel, stride 1", _config(op=None)),
                Case("one pixel (y is the kernel, stamped)", _config(bias=False, op=None),
                     "one pixel"),
                Case("kernel 2, stride 2 (the U-Net's upsampling)",
                     _config(h=3, w=4, kh=2, kw=2, sh=2, sw=2, op=None)),
                Case("output_padding (1, 0), 'valid'",
                     _config(h=3, w=3, sh=2, sw=2, pad="valid", op=(1, 0))),
                Case("output_padding (1, 1), 'same' (the extra row at the bottom)",
                     _config(h=3, w=3, sh=2, sw=2, op=(1, 1))),
                Case("dilation 2, non-square", _config(h=3, w=5, kh=2, kw=3, dh=2, dw=2,
                                                       op=None))]

    def random_config(self, rng):
        config = super().random_config(rng)
        if rng.random() < 0.5:
            config["op"] = None
        else:
            config["op"] = (int(rng.integers(0, config["sh"])), int(rng.integers(0, config["sw"])))
        return config

    def shrink_steps(self, config):
        # Strides may not drop below output_padding + 1.
        op = config["op"] or (0, 0)
        return [(k, v) for k, v in super().shrink_steps(config)
                if not (k == "sh" and v <= op[0]) and not (k == "sw" and v <= op[1])]

    def geometry(self, c):
        return transpose_geometry((c["h"], c["w"]), (c["kh"], c["kw"]), (c["sh"], c["sw"]),
                                  (c["dh"], c["dw"]), c["pad"], c["op"])

    def _kernel_shape(self, c):
        return (c["kh"], c["kw"], c["co"], c["ci"])

    def _output_shape(self, c, geom):
        return (c["n"], *geom.in_hw, c["co"])

    def axes(self, output, config):
        return {"y": ("N", "OH", "OW", "C_out"), "dx": ("N", "H", "W", "C_in"),
                "dkernel": ("kh", "kw", "C_out", "C_in"), "dbias": ("C_out",)}[output]

    def run(self, fns, a):
        y, cache = unpack(fns["conv2d_transpose_forward"](a["x"], a["kernel"], a["bias"],
                                                          a["geom"]),
                          ("y", "cache"), "conv2d_transpose_forward")
        dx, dkernel, dbias = unpack(fns["conv2d_transpose_backward"](a["dy"], cache),
                                    ("dx", "dkernel", "dbias"), "conv2d_transpose_backward")
        return {"y": y, "dx": dx, "dkernel": dkernel, "dbias": dbias, "_cache": cache}

    def gradients(self, fns, a, seed=0):
        def forward(args):
            return fns["conv2d_transpose_forward"](args["x"], args["kernel"], args["bias"],
                                                   args["geom"])

        def backward(dy, cache):
            return dict(zip(("x", "kernel", "bias"),
                            fns["conv2d_transpose_backward"](dy, cache)))
        return layer_gradients(forward, backward, a, self.gradient_inputs, seed)

    def quantities(self, c):
        oh, ow = self.geometry(c).in_hw
        return {**super().quantities(c), "OH * OW": oh * ow, "N * OH * OW": c["n"] * oh * ow}
