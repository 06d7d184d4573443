"""Levels 1 to 3 of the checker, each saying what it tried.

1. Contract: the functions exist with the library's parameters; on a tiny
   case, outputs of the right shapes, float32 from float32 and float64 from
   float64, no argument changed in place (but an optimizer's arrays), the
   cache the library's other half reads.
2. Values against the library, in float64: the hand-picked cases, then
   random configurations. The first wrong output is localised: its case is
   shrunk to the smallest configuration that still fails, its wrong entries
   are counted and drawn, and ``diagnosis`` names their pattern.
3. Gradients: the learner's backward against float64 central differences
   of the learner's own forward (of the library's, for an exercise that is
   a backward only), so it tells whether the two halves agree, whatever the
   library says. It does not apply to a forward alone or to Adam.

Each level returns a ``Level``; ``Checker`` runs them on a ``Sandbox``.
"""
import inspect
from dataclasses import dataclass

import numpy as np

from ..gradcheck import rel_error
from . import cases_conv, cases_layers, cases_losses
from .diagnosis import diagnose, measured, shape_finding, wrong_entries, wrong_map
from .errors import LearnerError
from .harness import Case, ContractError

HARNESSES = {
    "conv2d_forward": cases_conv.ConvForward, "conv2d_backward": cases_conv.ConvBackward,
    "max_pool2d": cases_layers.MaxPool, "upsample_nearest2d_backward":
    cases_layers.UpsampleBackward, "conv2d_transpose": cases_conv.ConvTranspose,
    "relu_backward": cases_layers.ReluBackward, "sigmoid_backward": cases_layers.SigmoidBackward,
    "softmax_backward": cases_layers.SoftmaxBackward,
    "categorical_crossentropy": cases_losses.CrossEntropy,
    "dice_loss_backward": cases_losses.DiceBackward, "adam_update": cases_losses.AdamUpdate,
    "batchnorm_train_backward": cases_losses.BatchNormBackward,
}
GRADIENT_BOUND = 1e-6          # level 3: the largest relative error allowed
SHRINK_BUDGET = 150            # level 2: configurations tried while shrinking


@dataclass
class Level:
    """One level's outcome: passed True, False, or None (does not apply)."""
    number: int
    passed: bool | None
    key: str | None = None         # the diagnosis's pattern when it failed
    text: str = ""                 # its one-line reason


def numeric(value):
    """`value` as a float64 array, or None when it is not numbers."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return None
    return array.astype(np.float64) if array.dtype.kind in "iufb" else None


def described(value):
    """What a value that is not an array of numbers is, for a message: 'a dict',
    'an array of objects' (which the learner's process keeps)."""
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    name = getattr(value, "type_name", type(value).__name__)     # an Opaque's, or its own
    return "an array of objects" if name == "ndarray" else f"a value of type {name}"


def parameters(function):
    return list(inspect.signature(function).parameters.values())


def signature_text(name, function):
    return f"{name}({', '.join(str(p) for p in parameters(function))})"


class Checker:
    """The levels of one exercise, run on the learner's functions in `box`."""

    def __init__(self, exercise, box, say, random_cases=True):
        self.exercise, self.box, self.say = exercise, box, say
        self.harness = HARNESSES[exercise.name]()
        self.random_cases = random_cases
        self.library = dict(self.harness.library)
        self.mine = {**self.library, **{n: box.function(n) for n in exercise.functions}}

    def _fail(self, number, text, key=None, detail=()):
        self.say(f"level {number}  FAIL: {text}")
        for line in detail:
            self.say(f"  {line}")
        return Level(number, False, key, text)

    def _learner_text(self, err):
        if err.raised == "NotImplementedError":
            where = f" ({err.where})" if err.where else ""
            return f"it raises NotImplementedError{where}: still the stub; write it"
        return err.text

    # ---------------------------------------------------------------- level 1
    def level1(self):
        self.say("level 1  contract: the functions, their parameters, shapes, dtypes, the cache")
        for name in self.exercise.functions:
            want = [(p.name, p.kind.name, None if p.default is p.empty else repr(p.default))
                    for p in parameters(self.library[name])]
            got = self.box.signatures[name]
            expected = signature_text(name, self.library[name])
            if got is None:
                return self._fail(1, f"the file has no function {name}; expected {expected}",
                                  "contract")
            if got != want:
                have = ", ".join(p + ("" if d is None else f"={d}") for p, _, d in got)
                return self._fail(1, f"{name} takes ({have}); expected {expected}: the "
                                  "library calls it with these", "contract")
        case, shapes = self.harness.contract_case, []
        for dtype in (np.float32, np.float64):
            args = self.harness.arrays(case, dtype)
            library = self.harness.run(self.library, args)
            self.box.changes.clear()
            try:
                mine = self.harness.run(self.mine, args)
            except (LearnerError, ContractError) as err:
                return self._fail(1, f"on a tiny case ({self.harness.describe(case.config)}), "
                                  f"{self._learner_text(err)}", "raised")
            finally:
                self.box.forget()
            problem = self._form(mine, library, dtype) or self._changed()
            problem = problem or "; ".join(self.harness.contract(args, mine))
            if problem:
                return self._fail(1, f"on a tiny case ({self.harness.describe(case.config)}), "
                                  f"{problem}", "contract")
            shapes = [f"{k} {tuple(np.shape(v))}" for k, v in mine.items()
                      if not k.startswith("_") and v is not None]
        signatures = ", ".join(signature_text(n, self.library[n]) for n in self.exercise.functions)
        self.say(f"  {signatures}: present; on a tiny case ({self.harness.describe(case.config)}): "
                 f"{', '.join(shapes)}, float32 from float32 and float64 from float64; "
                 "no argument changed in place")
        self.say("level 1  pass")
        return Level(1, True)

    def _form(self, mine, library, dtype):
        """What is wrong with the outputs' presence, type, shape or dtype, or None."""
        for name in self.harness.outputs:
            want, got = library[name], mine[name]
            if want is None:
                if got is not None:
                    return f"{name} is {described(got)}, expected None (as the library " \
                           "gives here)"
                continue
            if np.ndim(want) == 0:
                continue                                 # a loss value: checked as a number
            if not isinstance(got, np.ndarray):
                return f"{name} is {described(got)}, expected a NumPy array"
            if got.shape != want.shape:
                finding = shape_finding(name, got.shape, want.shape,
                                        self.harness.axes(name, {}))
                return (f"{name} has shape {got.shape}, expected {want.shape}"
                        + (f" ({finding.text})" if finding else ""))
            if got.dtype != dtype:
                given = np.dtype(dtype).name
                return (f"{name} is {got.dtype} for {given} inputs: {given} in, {got.dtype} "
                        f"out, where the library keeps {given} (an array made without "
                        "dtype=, such as np.zeros(shape), is float64)")
        return None

    def _changed(self):
        if self.exercise.kind == "update" or not self.box.changes:
            return None
        function, positions = self.box.changes[0]
        names = [p.name for p in parameters(self.library[function])]
        changed = ", ".join(names[i] if i < len(names) else f"argument {i}" for i in positions)
        return (f"{function} changed its argument {changed} in place; it must only read it "
                "(the layer keeps and reuses it)")

    # ---------------------------------------------------------------- level 2
    def level2(self):
        hand = self.harness.hand_picked()
        cases = hand + (self.harness.random_cases_list() if self.random_cases else [])
        extra = (f", then {len(cases) - len(hand)} random configurations"
                 if self.random_cases else " (no random configurations: --quick cases)")
        self.say(f"level 2  values against the library, in float64: {len(hand)} hand-picked "
                 f"cases ({'; '.join(c.label for c in hand)}){extra}")
        worst = 0.0
        for case in cases:
            args = self.harness.arrays(case, np.float64)
            library = self.harness.run(self.library, args)
            try:
                mine = self.harness.run(self.mine, args)
            except (LearnerError, ContractError) as err:
                return self._fail(2, f"on {case.label} ({self.harness.describe(case.config)}), "
                                  f"{self._learner_text(err)}", "raised")
            finally:
                self.box.forget()
            wrong = self._first_wrong(mine, library)
            if wrong is not None:
                return self._localise(case, wrong)
            for name in self.harness.outputs:
                if library[name] is not None and np.size(library[name]):
                    worst = max(worst, rel_error(mine[name], library[name]))
        self.say(f"  all agree: the largest difference is {worst:.1e} of an output's scale")
        self.say("level 2  pass")
        return Level(2, True)

    def _first_wrong(self, mine, library):
        """The name of the first output that differs from the library's, or None."""
        for name in self.harness.outputs:
            want, got = library[name], mine[name]
            if (want is None) != (got is None):
                return name
            if want is None:
                continue
            got = numeric(got)
            if got is None or got.shape != np.shape(want) or wrong_entries(got, want).any():
                return name
        return None

    def _outputs(self, case):
        args = self.harness.arrays(case, np.float64)
        try:
            return args, self.harness.run(self.library, args), self.harness.run(self.mine, args)
        finally:
            self.box.forget()

    def _shrink(self, case, name):
        """The smallest configuration whose `name` output is still wrong."""
        current, tries, improved = case, 0, True
        while improved and tries < SHRINK_BUDGET:
            improved = False
            for config in self.harness.smaller(current.config):
                tries += 1
                candidate = Case("the smallest failing configuration", config, case.draw)
                try:
                    _, library, mine = self._outputs(candidate)
                except (LearnerError, ContractError):
                    continue                        # another failure, not this one
                if self._first_wrong(mine, library) == name:
                    current, improved = candidate, True
                    break
                if tries >= SHRINK_BUDGET:
                    break
        return current

    def _finding(self, case, name):
        """(the Finding or None, measured sentence, map lines) of output `name` on `case`."""
        args, library, mine = self._outputs(case)
        want, got = library[name], mine[name]
        axes = self.harness.axes(name, case.config)
        if (want is None) != (got is None):
            return None, f"{name} is {'None' if got is None else 'given'}, the library's " \
                         f"{'None' if want is None else 'an array'}", []
        if numeric(got) is None:
            return None, f"{name} is {described(got)}, not numbers", []
        got = numeric(got)
        if got.shape != np.shape(want):
            return (shape_finding(name, got.shape, np.shape(want), axes),
                    f"{name} has shape {got.shape}, the library's {np.shape(want)}", [])
        what_ifs = []
        for condition, conclusion, other in self.harness.what_ifs(args):
            try:
                what_ifs.append((condition, conclusion, self.harness.run(self.library, other)[name]))
            except (ValueError, IndexError):
                continue                            # that change cannot be computed here
        finding = diagnose(name, got, want, axes, self.harness.quantities(case.config), what_ifs)
        return finding, measured(name, got, want), wrong_map(got, want, axes)

    def _localise(self, case, name):
        """Level 2's report of a wrong output: the first failing case and the
        smallest one, each measured, a map, and the diagnosis of the first
        (more entries, more evidence) or else of the smallest."""
        finding, facts, picture = self._finding(case, name)
        lines = [f"first wrong on {case.label}: {self.harness.describe(case.config)}",
                 f"  {facts}"]
        small = self._shrink(case, name)
        if small is not case:
            small_finding, small_facts, small_picture = self._finding(small, name)
            lines += [f"the smallest configuration still wrong: "
                      f"{self.harness.describe(small.config)}", f"  {small_facts}"]
            if not picture or picture[0].startswith("(a map"):
                picture = small_picture
            if finding is None or (finding.ambiguity > 1 and small_finding is not None
                                   and small_finding.ambiguity < finding.ambiguity):
                finding = small_finding
        lines += [f"  {line}" for line in picture]
        lines.append(f"diagnosis: {finding.text}" if finding else
                     "diagnosis: no pattern fits; what was measured is above")
        return self._fail(2, f"{name} differs from the library's", finding.key if finding
                          else None, lines)

    # ---------------------------------------------------------------- level 3
    def level3(self):
        name, kind = self.exercise.name, self.exercise.kind
        if kind == "forward":
            self.say(f"level 3  gradients: does not apply: {name} is a forward pass only "
                     "(its backward is the library's; conv2d_backward is that exercise)")
            return Level(3, None)
        if kind == "update":
            self.say(f"level 3  gradients: does not apply: {name} is an optimizer's step, "
                     "which has no backward to check")
            return Level(3, None)
        forward = "your own forward" if kind == "pair" else "the library's forward"
        self.say(f"level 3  gradients: your backward against central differences of {forward}, "
                 f"in float64 (bound {GRADIENT_BOUND:g})")
        errors = []
        for case in self.harness.gradient_cases():
            args = self.harness.arrays(case, np.float64)
            try:
                found = self.harness.gradients(self.mine, args)
            except (LearnerError, ContractError) as err:
                return self._fail(3, f"on {case.label}, {self._learner_text(err)}", "raised")
            finally:
                self.box.forget()
            for input_name, analytic, central in found:
                label = f"d{input_name}"
                if analytic is None or np.shape(analytic) != np.shape(central):
                    return self._fail(3, f"{label} has shape {np.shape(analytic)}, expected "
                                      f"{np.shape(central)}", "contract")
                error = rel_error(analytic, central)
                errors.append(f"{label} {error:.1e}")
                if not error <= GRADIENT_BOUND:
                    axes = self._gradient_axes(label, case.config, np.ndim(central))
                    finding = diagnose(label, analytic, central, axes,
                                       self.harness.quantities(case.config))
                    detail = [f"on {case.label}: {self.harness.describe(case.config)}",
                              measured(label, np.asarray(analytic, np.float64), central)
                              .replace("the library's", "central differences'")]
                    detail += wrong_map(analytic, central, axes)
                    if finding:
                        detail.append(f"diagnosis: {finding.text}".replace(
                            "the library's", "the central differences'"))
                    return self._fail(3, f"{label}: relative error {error:.1e} against central "
                                      f"differences of {forward}: the two halves disagree",
                                      finding.key if finding else None, detail)
        self.say(f"  relative errors {', '.join(errors)}")
        self.say("level 3  pass")
        return Level(3, True)

    def _gradient_axes(self, label, config, ndim):
        """The axes' names of a gradient: its output's (dx, or a loss's gradient)."""
        for output in (label, "gradient"):
            if output in self.harness.outputs:
                return self.harness.axes(output, config)
        return tuple(f"axis {i}" for i in range(ndim))
