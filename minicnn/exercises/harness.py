"""How the checker calls an exercise's functions, and on what.

A ``Harness`` knows one exercise's parameter space and its calls:

- cases: a configuration (a dict of small integers and choices, such as
  ``{"n": 1, "h": 5, ..., "pad": "same"}``) with a label and a way to draw
  the arrays (``draw``: random normal values, or a hand-picked pattern such
  as one pixel or an identity kernel). ``contract_case`` is the tiny case
  of level 1; ``hand_picked()`` the named small cases that open level 2;
  ``random_config(rng)`` draws from the whole space; ``smaller(config)``
  the configurations one step smaller (to shrink a failing one).
- ``arrays(case, dtype)``: the arguments, the same every time for a case.
- ``run(fns, args)``: calls the functions (the learner's or the library's,
  by name in `fns`) and returns the named outputs that level 2 compares;
  names starting with "_" (the cache) are for the contract only.
- ``gradients(fns, args, seed)``: for level 3, [(name, analytic, numeric)]:
  the backward's gradient against central differences of the forward.
- what the diagnoser may use: the axes of each output, the case's named
  quantities (N, H * W, ...) to name a factor, and ``what_ifs(args)``:
  the same call with one argument changed (a stride of 1, the kernel
  mirrored), whose library outputs a wrong output may equal.
"""
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck import numerical_gradient


class ContractError(Exception):
    """A learner's function returned something of the wrong form; `text` says what."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text


def unpack(value, names, function):
    """`value` as the tuple `names` a function must return, or a ContractError."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = (f"a {type(value).__name__} of {len(value)}" if isinstance(value, (tuple, list))
               else f"a {type(value).__name__}")
        raise ContractError(f"{function} returned {got}; it must return a tuple "
                            f"({', '.join(names)})")
    return value


@dataclass(frozen=True)
class Case:
    label: str
    config: dict = field(hash=False)
    draw: str = "normal"


class Harness:
    """The base: the shared machinery; subclasses fill in the exercise's calls."""

    outputs = ()
    random_cases = 30

    def __init__(self):
        self.contract_case = self.hand_picked()[0]

    # -------------------------------------------------------------- cases
    def hand_picked(self):
        raise NotImplementedError

    def random_config(self, rng):
        raise NotImplementedError

    def valid(self, config):
        """True if `config` can be computed: the library accepts its geometry."""
        try:
            self.geometry(config)
        except ValueError:
            return False
        return True

    def geometry(self, config):
        """The library's geometry of `config` (a convolution's or a pooling's),
        raising ValueError where the library refuses it; None for exercises
        without one."""
        return None

    def shrink_steps(self, config):
        """Candidate changes, (key, smaller value): every size down to 1 or by
        one, a True (a bias) to False."""
        steps = [(k, False) for k, value in config.items() if value is True]
        return steps + [(k, v) for k, value in config.items()
                        if isinstance(value, int) and not isinstance(value, bool)
                        for v in (1, value - 1) if 1 <= v < value]

    def smaller(self, config):
        """Valid configurations one step smaller than `config`."""
        seen = set()
        for key, value in self.shrink_steps(config):
            candidate = {**config, key: value}
            marker = repr(sorted(candidate.items()))
            if marker not in seen and self.valid(candidate):
                seen.add(marker)
                yield candidate

    def random_cases_list(self, count=None, seed=0):
        rng = np.random.default_rng(seed)
        cases = []
        while len(cases) < (self.random_cases if count is None else count):
            config = self.random_config(rng)
            if self.valid(config):
                cases.append(Case(f"random configuration {len(cases) + 1}", config))
        return cases

    def describe(self, config):
        return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                        for k, v in config.items())

    @staticmethod
    def rng(case, salt=""):
        """A generator seeded by the case, so its arrays are always the same."""
        key = f"{case.label}|{sorted(case.config.items())}|{case.draw}|{salt}"
        return np.random.default_rng(zlib.crc32(key.encode()))

    # ------------------------------------------------------------ calling
    def arrays(self, case, dtype):
        raise NotImplementedError

    def run(self, fns, args):
        raise NotImplementedError

    def contract(self, args, outputs):
        """Problems with what the learner returned beyond shapes and dtypes
        (level 1), as sentences; none by default."""
        return []

    # ---------------------------------------------------------- diagnosis
    def axes(self, output, config):
        """The names of `output`'s axes."""
        return ("N", "H", "W", "C")

    def quantities(self, config):
        """{name: value} of the case's sizes, to name a factor by."""
        return {}

    def what_ifs(self, args):
        """[(text, arguments)]: the call with one argument changed."""
        return []

    # -------------------------------------------------------- gradients
    gradient_inputs = ()           # level 3 differentiates these arguments

    def gradient_cases(self):
        return [self.contract_case]

    def gradients(self, fns, args, seed=0):
        raise NotImplementedError


# ----------------------------------------------------------------- helpers
def layer_gradients(forward, backward, args, inputs, seed):
    """[(name, analytic, numeric)] for a layer-like pair.

    forward(args) -> (y, cache); backward(dy, cache) -> {input name: gradient}.
    With a random upstream gradient G, L = sum(G * y) has the gradients the
    backward returns; each is compared with central differences of L.
    """
    y, cache = forward(args)
    upstream = np.random.default_rng(seed).standard_normal(np.shape(y))
    analytic = backward(upstream, cache)
    found = []
    for name in inputs:
        if args.get(name) is None:
            continue
        numeric = numerical_gradient(lambda: forward(args)[0], args[name], upstream)
        found.append((name, analytic[name], numeric))
    return found


def loss_gradients(forward, backward, args, name, seed):
    """[(name, analytic, numeric)] for a loss: value = forward(args)[0], a
    number; backward(dy, cache) its gradient with respect to args[name]."""
    value, cache = forward(args)
    dy = float(np.random.default_rng(seed).uniform(0.5, 2.0))
    analytic = backward(dy, cache)
    numeric = numerical_gradient(lambda: np.asarray(forward(args)[0]), args[name]) * dy
    return [(name, analytic, numeric)]


def normal(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def distinct(rng, shape, dtype):
    """Values in random order, no two alike (max pooling, ReLU away from kinks)."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) * (2.0 / max(size, 1))).reshape(shape).astype(dtype)
