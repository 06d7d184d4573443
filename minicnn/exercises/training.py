"""Level 4's training run, in the child process: a U-Net trained on the main
job's data with the learner's function in place of one operation.

The data are ``minicnn train``'s (``segmentation.job``): 2 mm axial slices
(80 x 96) of synthetic subjects, new ones every epoch, 74 slices each,
half of them mirrored left-right, batches of 4; the recipe is its recipe
too (Adam from 1e-3, cosine-decayed to 2 % of it; cross-entropy + soft
Dice), on a smaller U-Net so that two runs take minutes (``NETWORKS``).
Held out: the 74 slices of subject 2000, scored with the Dice of CSF, GM
and WM (their mean).

``PLACEMENTS`` says, for each exercise, how its function is put in place
and in which network, so that it really runs in training:

- through the backend table (``backend.override``) for the operations in
  it, on either backend; a Conv2D with a ReLU runs the fused 'conv2d_relu',
  so a learner's convolution or ReLU is composed into it;
- through the loss, the optimizer or the layer that calls it (Dice, Adam,
  BatchNormalization), by a subclass that calls the learner's function;
- in a network where the operation runs: transpose convolutions for
  conv2d_transpose, batch normalisation after every convolution for its
  backward, a one-class sigmoid head for the sigmoid, linear logits for
  the cross-entropy from logits (fit would otherwise take its gradient at
  the logits and never call it), cross-entropy + Dice for the softmax's
  backward (the Dice term differentiates through the softmax).

Every call of the learner's function is counted and timed (``Counted``).
"""
import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from .. import backend, data, datasets, layers, losses, models, optimizers
from ..functional.activations import relu_backward, relu_cache_of_output, relu_forward
from ..functional.conv import ConvReluCache
from ..rng import set_random_seed
from ..segmentation import VIEWS, job, new_card

SEED, BATCH, SLICES, LEARNING_RATE, FINAL_RATE = 0, 4, 74, 1e-3, 0.02
HELD_OUT = job.TEST_FIRST          # subject 2000
TIMING_STEPS = 3                   # steps timed, after the first, for the projection


@dataclass(frozen=True)
class Network:
    name: str
    filters: tuple
    bottleneck: int
    subjects: int                  # new subjects per epoch
    epochs: int

    @property
    def steps(self):
        return self.epochs * -(-self.subjects * SLICES // BATCH)


NETWORKS = {"small": Network("small", (8, 16, 32), 48, subjects=4, epochs=4),
            "tiny": Network("tiny", (4, 8), 16, subjects=2, epochs=2)}


class Counted:
    """A function that counts its calls and the seconds spent in them."""

    def __init__(self, function):
        self.function, self.calls, self.seconds = function, 0, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - start


@dataclass
class Setup:
    """What one run trains with: backend overrides (operation, forward,
    backward), the loss, the optimizer's class and the BatchNormalization class."""
    overrides: list = field(default_factory=list)
    loss: object = None
    optimizer: type = optimizers.Adam
    batch_norm: type = layers.BatchNormalization


def main_job_loss():
    return losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()])


# --------------------------------------------------------------- placements
def _conv_backward_of(cache):
    """The library's convolution backward for a ConvCache, as the table would choose it."""
    conv = cache
    return backend.choose("conv2d", conv.x, conv.kernel, None, conv.geom).backward


def _conv2d_forward(fns, setup):
    mine = fns["conv2d_forward"]

    def fused(x, kernel, bias, geom):
        z, conv_cache = mine(x, kernel, bias, geom)
        y, _ = relu_forward(z)
        return y, ConvReluCache(conv_cache, relu_cache_of_output(y))
    setup.overrides += [("conv2d", mine, None), ("conv2d_relu", fused, None)]


def _conv2d_backward(fns, setup):
    mine = fns["conv2d_backward"]
    setup.overrides += [("conv2d", None, mine), ("conv2d_relu", None, lambda dy, cache: mine(
        relu_backward(dy, cache.relu), cache.conv))]


def _relu_backward(fns, setup):
    mine = fns["relu_backward"]
    setup.overrides += [("relu", None, mine), ("conv2d_relu", None, lambda dy, cache: (
        _conv_backward_of(cache.conv)(mine(dy, cache.relu), cache.conv)))]


def _pair(operation, forward=None, backward=None):
    def install(fns, setup):
        setup.overrides.append((operation, fns.get(forward), fns.get(backward)))
    return install


def _dice_backward(fns, setup):
    class LearnersDice(losses.Dice):
        """The soft Dice loss with the learner's backward."""
        def _backward(self, dy, cache):
            return fns["dice_loss_backward"](dy, cache)
    setup.loss = losses.WeightedSum([losses.CategoricalCrossentropy(), LearnersDice()])


def _adam_update(fns, setup):
    class LearnersAdam(optimizers.Adam):
        """Adam whose step of each weight is the learner's adam_update."""
        def _update(self, param, grad, state, lr):
            fns["adam_update"](param, grad, state["m"], state["v"], self.iterations + 1, lr,
                               self.beta_1, self.beta_2, self.epsilon, state.get("v_hat"))
    setup.optimizer = LearnersAdam


def _batchnorm_backward(fns, setup):
    class LearnersBatchNormalization(layers.BatchNormalization):
        """BatchNormalization whose training-mode backward is the learner's."""
        def _backward(self, dy, cache):
            batch_stats, bn_cache = cache
            if not batch_stats:
                return super()._backward(dy, cache)
            dx, dgamma, dbeta = fns["batchnorm_train_backward"](dy, bn_cache)
            found = {"gamma": dgamma, "beta": dbeta}
            return dx, {name: found[name] for name in ("gamma", "beta") if name in self.params}
    setup.batch_norm = LearnersBatchNormalization


@dataclass(frozen=True)
class Placement:
    network: str          # 'course', 'transpose', 'batchnorm', 'sigmoid' or 'logits'
    how: str              # how the function is put in place, in words
    install: object       # install(fns, setup): puts the learner's functions in `setup`


PLACEMENTS = {
    "conv2d_forward": Placement("course", "the forward of every convolution: the 'conv2d' "
                                "operation (the 1x1 output layer) and, followed by the "
                                "library's ReLU, the fused 'conv2d_relu' (every 3x3 layer); "
                                "their backward stays the library's", _conv2d_forward),
    "conv2d_backward": Placement("course", "the backward of every convolution: 'conv2d' and, "
                                 "after the library's ReLU backward, the fused 'conv2d_relu'",
                                 _conv2d_backward),
    "max_pool2d": Placement("course", "both halves of 'max_pool2d' (the encoder's three "
                            "poolings)", _pair("max_pool2d", "max_pool2d_forward",
                                              "max_pool2d_backward")),
    "upsample_nearest2d_backward": Placement(
        "course", "the backward of 'upsample_nearest2d' (the decoder's three upsamplings)",
        _pair("upsample_nearest2d", backward="upsample_nearest2d_backward")),
    "conv2d_transpose": Placement(
        "transpose", "both halves of 'conv2d_transpose', in the U-Net variant that upsamples "
        "with Conv2DTranspose(f, 2, strides=2) (the course's U-Net has none)",
        _pair("conv2d_transpose", "conv2d_transpose_forward", "conv2d_transpose_backward")),
    "relu_backward": Placement("course", "the ReLU's backward inside every fused "
                               "'conv2d_relu' (every 3x3 layer), before the library's "
                               "convolution backward, and of 'relu'", _relu_backward),
    "sigmoid_backward": Placement(
        "sigmoid", "the backward of 'sigmoid', in a U-Net with a one-class sigmoid head "
        "(white matter against the rest) trained with binary cross-entropy + Dice: the "
        "cross-entropy takes its gradient at the logits, the Dice term's goes through the "
        "sigmoid", _pair("sigmoid", backward="sigmoid_backward")),
    "softmax_backward": Placement(
        "course", "the backward of 'softmax' (the output layer's); fit takes the "
        "cross-entropy's gradient at the logits, so it runs for the Dice term of the "
        "main job's cross-entropy + Dice", _pair("softmax", backward="softmax_backward")),
    "categorical_crossentropy": Placement(
        "logits", "both halves of 'categorical_crossentropy', as the loss of a U-Net whose "
        "output is its logits (no softmax layer; CategoricalCrossentropy(from_logits=True), "
        "no Dice), so that the loss itself computes the softmax",
        _pair("categorical_crossentropy", "categorical_crossentropy_forward",
              "categorical_crossentropy_backward")),
    "dice_loss_backward": Placement("course", "the backward of the Dice term of the main "
                                    "job's loss (cross-entropy + Dice)", _dice_backward),
    "adam_update": Placement("course", "the step of every weight: an Adam whose update "
                             "calls your adam_update", _adam_update),
    "batchnorm_train_backward": Placement(
        "batchnorm", "the training-mode backward of every BatchNormalization, in a U-Net "
        "with one after every 3x3 convolution (Conv2D, BatchNormalization, ReLU; the "
        "course's U-Net normalises only its input, whose gradient is discarded)",
        _batchnorm_backward),
}


# ------------------------------------------------------------------ networks
def build(variant, network, batch_norm):
    """The U-Net of `variant` for 80 x 96 x 1 slices (see ``Placement.network``)."""
    shape = (80, 96, 1)
    if variant == "batchnorm":
        return _unet_with_batchnorm(shape, network, batch_norm)
    options = {"filters": network.filters, "bottleneck": network.bottleneck}
    if variant == "transpose":
        options["upsampling"] = "transpose"
    if variant == "logits":
        options["final_activation"] = None
    if variant == "sigmoid":
        return models.unet(shape, 1, final_activation="sigmoid", **options)
    return models.unet(shape, 4, **options)


def _unet_with_batchnorm(shape, network, batch_norm):
    """The course's U-Net with Conv2D, BatchNormalization, ReLU for every 3x3 convolution."""
    def block(x, f):
        for _ in range(2):
            x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
            x = layers.Activation("relu")(batch_norm()(x))
        return x
    inputs = x = layers.Input(shape)
    skips = []
    for f in network.filters:
        skips.append(block(x, f))
        x = layers.MaxPooling2D(2)(skips[-1])
    x = block(x, network.bottleneck)
    for f, skip in zip(reversed(network.filters), reversed(skips)):
        x = block(layers.Concatenate(axis=3)([layers.UpSampling2D(2)(x), skip]), f)
    return models.Model(inputs, layers.Conv2D(4, 1, activation="softmax")(x))


def _job_data(network, foreground):
    """(training batches, held-out x, held-out labels): the main job's data."""
    template = datasets.icbm152(resolution=2)
    generator = data.SynthGenerator(template, seed=SEED)
    voxel_mm = float(data.voxel_sizes(template.affine)[0])
    card = new_card("unet-small", template.class_names, VIEWS["axial"], voxel_mm)
    sampler = job.Sampler(generator, card, SLICES, 0, template.affine, SEED)
    ids = [list(range(e * network.subjects, (e + 1) * network.subjects))
           for e in range(network.epochs)]
    blocks = job.EpochBlocks(sampler, ids, BATCH, 4, SEED)
    x_test, y_test = sampler.subjects([HELD_OUT])
    return blocks, x_test, (y_test == 3) if foreground else y_test


def _dice(truth, prediction, classes):
    """Mean Dice over `classes` of label maps, from pixel totals."""
    scores = [2 * np.sum((truth == c) & (prediction == c))
              / max(np.sum(truth == c) + np.sum(prediction == c), 1) for c in classes]
    return float(np.mean(scores))


# ---------------------------------------------------------------------- run
def run_in_child(module, spec, progress):
    """Train as `spec` says ({"exercise", "network", "budget", "functions",
    "backend"}), with the
    learner's `module` in place (None: the library alone); returns the losses,
    the held-out Dice, the times and the learner's calls."""
    placement, network = PLACEMENTS[spec["exercise"]], NETWORKS[spec["network"]]
    backend.set_backend(spec["backend"])
    setup, fns = Setup(), {}
    if module is not None:
        fns = {name: Counted(getattr(module, name)) for name in spec["functions"]}
        placement.install(fns, setup)
    sigmoid = placement.network == "sigmoid"
    blocks, x_test, y_test = _job_data(network, sigmoid)
    set_random_seed(SEED)
    model = build(placement.network, network, setup.batch_norm)
    loss = setup.loss or (losses.WeightedSum([losses.BinaryCrossentropy(), losses.Dice()])
                          if sigmoid else losses.CategoricalCrossentropy(from_logits=True)
                          if placement.network == "logits" else main_job_loss())
    schedule = optimizers.CosineDecay(LEARNING_RATE, network.steps, alpha=FINAL_RATE)
    model.compile(optimizer=setup.optimizer(schedule), loss=loss)
    result = {"losses": [], "parameters": model.count_params(), "backend": backend.get_backend(),
              "steps": network.steps, "stopped": None, "calls": {}, "call_seconds": {}}
    with contextlib.ExitStack() as stack:
        for operation, forward, backward in setup.overrides:
            stack.enter_context(backend.override(operation, forward, backward))
        started = time.perf_counter()
        for _ in range(network.epochs):
            for x, y in blocks:
                result["losses"].append(float(model.train_on_batch(
                    x, y[..., 3:4] if sigmoid else y)))
                if len(result["losses"]) == 1:     # the first step loads compiled kernels
                    timing = (time.perf_counter(), {n: (f.calls, f.seconds) for n, f in fns.items()})
                if len(result["losses"]) == 1 + TIMING_STEPS and module is not None:
                    result["stopped"] = _projection(fns, timing, network, spec, progress)
                    if result["stopped"]:
                        return result
        result["seconds"] = time.perf_counter() - started
        result["calls"] = {name: f.calls for name, f in fns.items()}
        result["call_seconds"] = {name: f.seconds for name, f in fns.items()}
        output = model.predict(x_test, batch_size=16, verbose=0)
    prediction = (output[..., 0] > 0.5) if sigmoid else output.argmax(axis=-1)
    result["dice"] = _dice(y_test, prediction, (1,) if sigmoid else (1, 2, 3))
    return result


def _projection(fns, timing, network, spec, progress):
    """Say how long the run will take from the steps after the first; the
    reason to stop when that is beyond the budget, else None."""
    start, before = timing
    per_step = (time.perf_counter() - start) / TIMING_STEPS
    total = per_step * network.steps
    parts = []
    for name, f in fns.items():
        calls, seconds = f.calls - before[name][0], f.seconds - before[name][1]
        parts.append(f"{name} {1e3 * seconds / max(calls, 1):.1f} ms per call, "
                     f"{calls / TIMING_STEPS:g} per step")
    progress(f"  your kernel's speed: {'; '.join(parts)}; a step takes {per_step:.2f} s, "
             f"so {network.steps} steps take about {_duration(total)}")
    if total > spec["budget"]:
        return (f"{network.steps} steps would take about {_duration(total)}, more than the "
                f"{_duration(spec['budget'])} allowed"
                + (": rerun with --network tiny (a smaller U-Net, fewer steps)"
                   if network.name != "tiny" else ": make the kernel faster (vectorise "
                   "the loops over pixels: im2col, slices)"))
    return None


def _duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours} h {minutes:02d} min" if hours else
            f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s")
