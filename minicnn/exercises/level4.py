"""Level 4: the U-Net trained with the learner's function, beside the library's run.

Two child processes train the same network from the same weights on the
same batches, on the checker's backend (``training``): one with the
learner's function in place of its operation, one with the library's
kernels only (made once per process for each network: it is the same for
every exercise that trains that network). The learner's run goes
first; after its first steps it reports the time per call of the learner's
function and projects the run's length, and it stops when that is beyond
BUDGET (``--network tiny`` is then the way on). It passes when

- the learner's function ran in every step (the count is printed),
- the loss of its last LAST_STEPS steps is within LOSS_TOLERANCE (relative)
  of the library's, and
- its held-out Dice is within DICE_TOLERANCE of the library's.

The tolerances: a correct kernel does not give the library's numbers to
the last bit, because float32 sums in another order round otherwise, and
training amplifies those differences over hundreds of steps. They were
measured as the spread between library runs whose summation orders differ
(docs/exercises.md, "How level 4's tolerance was chosen") and set at
several times it, well below what a wrong kernel does.

One figure, NAME-level4.png beside the learner's file, overlays the two
loss curves and gives both held-out Dice scores.
"""
import os

import numpy as np
from matplotlib.figure import Figure

from .. import backend
from ..files import atomic_path
from . import training
from .errors import LearnerError
from .levels import Level
from .sandbox import Sandbox

LAST_STEPS = 50
LOSS_TOLERANCE = 0.05            # relative, on the mean loss of the last LAST_STEPS steps
DICE_TOLERANCE = 0.03            # absolute, on the held-out mean Dice
BUDGET = 15 * 60                 # seconds the learner's run may be projected to take
SMOOTH = 20                      # steps in the figure's moving average
# The library's runs made in this process, by (network variant, size, backend):
# every exercise that trains the same network shares one.
_LIBRARY_RUNS = {}


def describe(exercise, network):
    """What level 4 does for `exercise`, in two lines."""
    placement, net = training.PLACEMENTS[exercise.name], training.NETWORKS[network]
    kind = {"course": "the course's U-Net", "transpose": "the U-Net with transpose "
            "convolutions", "batchnorm": "the U-Net with batch normalisation after every "
            "convolution", "sigmoid": "the U-Net with a one-class sigmoid head",
            "logits": "the U-Net with linear logits"}[placement.network]
    return (f"your {' and '.join(exercise.functions)} as {placement.how}",
            f"{kind}, {net.name} ({'/'.join(map(str, net.filters))} filters, bottleneck "
            f"{net.bottleneck}), on the main job's data: 2 mm axial slices of synthetic "
            f"subjects 0-{net.subjects * net.epochs - 1} ({net.subjects} new ones per epoch, "
            f"{training.SLICES} slices each), {net.steps} steps of {training.BATCH}, "
            f"seed {training.SEED}; held out: subject {training.HELD_OUT}")


def run(exercise, path, say, network="small", folder=None):
    """Level 4 of `exercise` for the learner's file at `path`; the figure goes
    to `folder` (default: the file's)."""
    how, setting = describe(exercise, network)
    say(f"level 4  training: {how}; every other operation is the library's")
    say(f"  {setting}")
    spec = {"exercise": exercise.name, "network": network, "budget": BUDGET,
            "functions": list(exercise.functions), "backend": backend.get_backend()}
    timeout = 2 * BUDGET + 600
    try:
        with Sandbox(path, exercise.functions, tasks=True) as box:
            mine = box.task("train", spec, timeout, progress=say)
    except LearnerError as err:
        return _fail(say, f"your run: {err.text}")
    if mine["stopped"]:
        return _fail(say, f"not run to the end: {mine['stopped']}")
    _say_run(say, "your run", mine)
    calls = {name: count / mine["steps"] for name, count in mine["calls"].items()}
    say("  your function ran " + "; ".join(
        f"{name} {per:g} times per step ({mine['calls'][name]:,} calls, "
        f"{1e3 * mine['call_seconds'][name] / max(mine['calls'][name], 1):.1f} ms each)"
        for name, per in calls.items()))
    key = (training.PLACEMENTS[exercise.name].network, network, spec["backend"])
    if key not in _LIBRARY_RUNS:
        with Sandbox(None, (), tasks=True) as box:
            _LIBRARY_RUNS[key] = box.task("train", spec, timeout)
    library = _LIBRARY_RUNS[key]
    _say_run(say, "the library's run", library)
    figure = _figure(exercise, folder or os.path.dirname(os.path.abspath(path)), mine, library)
    say(f"  figure: {figure}")
    return _verdict(say, mine, library, calls)


def _say_run(say, who, result):
    say(f"  {who}: {result['steps']} steps in {result['seconds']:.0f} s on the "
        f"{result['backend']} backend, held-out Dice {result['dice']:.3f}")


def _fail(say, text, key=None):
    say(f"level 4  FAIL: {text}")
    return Level(4, False, key, text)


def _verdict(say, mine, library, calls):
    never = [name for name, per in calls.items() if per < 1]
    if never:
        return _fail(say, f"{', '.join(never)} ran less than once per step: level 4 did not "
                     "train with it", "not-called")
    losses = np.asarray(mine["losses"])
    if not np.all(np.isfinite(losses)):
        step = int(np.argmin(np.isfinite(losses))) + 1
        return _fail(say, f"your run's loss is not finite from step {step} on: training "
                     "diverged", "diverged")
    ours = float(np.mean(losses[-LAST_STEPS:]))
    theirs = float(np.mean(library["losses"][-LAST_STEPS:]))
    loss_off = abs(ours - theirs) / theirs
    dice_off = abs(mine["dice"] - library["dice"])
    say(f"  loss over the last {LAST_STEPS} steps: yours {ours:.4f}, the library's "
        f"{theirs:.4f} ({100 * loss_off:.1f} %, tolerance {100 * LOSS_TOLERANCE:g} %); "
        f"held-out Dice: yours {mine['dice']:.3f}, the library's {library['dice']:.3f} "
        f"(difference {dice_off:.3f}, tolerance {DICE_TOLERANCE:g})")
    if loss_off > LOSS_TOLERANCE or dice_off > DICE_TOLERANCE:
        worse = "worse" if ours > theirs else "better"
        return _fail(say, f"your training ends {worse} than the library's beyond the "
                     "tolerance: your function computes something else in training",
                     "training")
    say("level 4  pass")
    return Level(4, True)


def _smooth(values):
    values = np.asarray(values, dtype=np.float64)
    width = min(SMOOTH, len(values))
    return np.convolve(values, np.ones(width) / width, mode="valid")


def _figure(exercise, folder, mine, library):
    """Overlay the two loss curves; return the figure's path."""
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for result, label, colour in ((library, "the library's", "0.35"), (mine, "yours", "C3")):
        steps = np.arange(1, len(result["losses"]) + 1)
        ax.plot(steps, result["losses"], color=colour, alpha=0.2, linewidth=0.8)
        smooth = _smooth(result["losses"])
        ax.plot(steps[len(steps) - len(smooth):], smooth, color=colour, linewidth=2,
                label=f"{label}: held-out Dice {result['dice']:.3f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (per step; lines: mean of %d steps)" % SMOOTH)
    ax.set_title(f"Level 4 of {exercise.name}: the U-Net trained with your function "
                 "and with the library's", fontsize=10)
    ax.legend()
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, f"{exercise.name}-level4.png")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return out
