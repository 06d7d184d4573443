"""The exercises, in the course's order: what each asks a learner to write.

An exercise is one or two functions of the library, named as the library
names them and with the signature the library calls: the backend table's
(``minicnn.backend``), else the function the layer, loss or optimizer calls.
Its `kind` says which halves are the learner's:

    'forward'   the forward pass; the library's backward reads its cache
    'backward'  the backward pass of the library's forward (its cache)
    'pair'      both, so the cache is the learner's own
    'update'    an optimizer's step, which changes its arrays in place

`helpers` are what a stub may import from minicnn because they are not the
exercise (im2col, the cache classes); `reading` is library code a stub
shows as comments because the exercise depends on it (the forward whose
cache a backward reads). Everything a stub says about the math comes from
the library's own docstrings (``stubs``), so the two cannot drift.
"""
import os
from dataclasses import dataclass

from .errors import ExerciseError

KINDS = ("forward", "backward", "pair", "update")


@dataclass(frozen=True)
class Exercise:
    """One exercise (see the module docstring)."""
    name: str                       # the learner's file is NAME.py
    title: str
    module: str                     # the library module that holds the functions
    functions: tuple                # the functions the learner writes
    kind: str
    examples: tuple                 # the example scripts that teach it, the main one first
    concept: str                    # what to write, in a few sentences
    helpers: tuple = ()             # ((module, (name, ...)), ...): a stub may import them
    reading: tuple = ()             # ((module, name), ...): shown in the stub as comments
    doc_sections: tuple | None = None   # headings of the module docstring to quote; None: all

    @property
    def file_name(self):
        return f"{self.name}.py"


_CONV_HELPERS = (("minicnn.functional.im2col", ("col2im", "im2col", "pad_hw", "unpad_hw")),
                 ("minicnn.functional.conv", ("ConvCache",)))

EXERCISES = (
    Exercise(
        "conv2d_forward", "Conv2D's forward pass: stride, padding, dilation",
        "minicnn.functional.conv", ("conv2d_forward",), "forward",
        ("02_stride_and_padding.py", "01_kernels_and_parameters.py",
         "03_receptive_field_and_dilation.py"),
        "Compute y = conv(x, kernel) + bias, a cross-correlation as in every deep-"
        "learning library. The layer has computed the geometry already (output size, "
        "Keras's 'same' padding, in `geom`): use it, do not recompute it. Start with "
        "loops over the output pixels if you like; im2col makes it one matrix product. "
        "Return the library's cache, ConvCache(x, kernel, bias is not None, geom): in "
        "training the library's backward reads it.",
        helpers=_CONV_HELPERS, reading=(("minicnn.functional.conv", "ConvCache"),),
        doc_sections=("Shapes", "Forward")),
    Exercise(
        "conv2d_backward", "Conv2D's backward pass: dx, dkernel, dbias",
        "minicnn.functional.conv", ("conv2d_backward",), "backward",
        ("03_receptive_field_and_dilation.py", "01_kernels_and_parameters.py"),
        "Given dy = dL/dy and the cache of the library's conv2d_forward, return "
        "(dx, dkernel, dbias). The convolution is linear in x and in the kernel: dx "
        "spreads every dy back over the input pixels its window read (the adjoint, "
        "with the kernel's taps in mirror order), dkernel correlates the input with "
        "dy, dbias sums dy over every pixel of every image.",
        helpers=_CONV_HELPERS,
        reading=(("minicnn.functional.conv", "ConvCache"),
                 ("minicnn.functional.conv", "conv2d_forward")),
        doc_sections=("Shapes", "Forward", "Backward")),
    Exercise(
        "max_pool2d", "Max pooling, forward and backward (ties as the library breaks them)",
        "minicnn.functional.pooling", ("max_pool2d_forward", "max_pool2d_backward"), "pair",
        ("04_downsampling_and_upsampling.py",),
        "The forward takes each window's maximum (padding never wins: pad with -inf) "
        "and remembers which input won; the backward sends each dy to that one input. "
        "Among equal values the first in row-major order wins, as in TensorFlow. The "
        "cache is yours: whatever your backward needs.",
        helpers=(("minicnn.functional.im2col", ("unpad_hw",)),
                 ("minicnn.functional.pooling", ("MaxPoolCache",))),
        reading=(("minicnn.functional.pooling", "MaxPoolCache"),),
        doc_sections=("Shapes", "Output size", "Max pooling")),
    Exercise(
        "upsample_nearest2d_backward", "Nearest-neighbour upsampling's backward pass",
        "minicnn.functional.upsampling", ("upsample_nearest2d_backward",), "backward",
        ("04_downsampling_and_upsampling.py",),
        "The forward copies every pixel into an sh x sw block; its backward is the "
        "adjoint: each input pixel receives the sum of dy over its block.",
        reading=(("minicnn.functional.upsampling", "upsample_nearest2d_forward"),),
        doc_sections=("Shapes", "Nearest")),
    Exercise(
        "conv2d_transpose", "Transpose convolution as the convolution's adjoint",
        "minicnn.functional.conv", ("conv2d_transpose_forward", "conv2d_transpose_backward"),
        "pair", ("04_downsampling_and_upsampling.py",),
        "A transpose convolution is the adjoint A^T of the convolution A whose geometry "
        "`geom` describes (A maps this layer's output back to its input): every input "
        "pixel stamps a copy of the kernel, weighted by its value, into the larger "
        "output. Its backward: dx = A dy, a plain convolution, and dkernel correlates "
        "dy with x. Keras's kernel layout here is (kh, kw, C_out, C_in).",
        helpers=_CONV_HELPERS, reading=(("minicnn.functional.conv", "ConvCache"),),
        doc_sections=("Shapes", "Forward", "Transpose")),
    Exercise(
        "relu_backward", "ReLU's backward pass, with Keras's max_value, slope and threshold",
        "minicnn.functional.activations", ("relu_backward",), "backward",
        ("05_activations_and_losses.py",),
        "dx = dy * f'(x), f' being the slope of the piece x belongs to: a below or at "
        "the threshold, 1 between it and max_value, 0 at or above max_value.",
        reading=(("minicnn.functional.activations", "ReluCache"),
                 ("minicnn.functional.activations", "relu_forward"))),
    Exercise(
        "sigmoid_backward", "The sigmoid's backward pass, from its output",
        "minicnn.functional.activations", ("sigmoid_backward",), "backward",
        ("05_activations_and_losses.py",),
        "The cache is the sigmoid's output y, not its input: write the derivative in "
        "terms of y.",
        reading=(("minicnn.functional.activations", "sigmoid_forward"),)),
    Exercise(
        "softmax_backward", "The softmax's backward pass, along any axis",
        "minicnn.functional.activations", ("softmax_backward",), "backward",
        ("05_activations_and_losses.py",),
        "Every output y_i depends on every input x_j of its slice along the axis, so "
        "dx_j sums dy_i times the Jacobian y_i (delta_ij - y_j) over i. Never build the "
        "Jacobian: the sum has a closed form.",
        reading=(("minicnn.functional.activations", "SoftmaxCache"),
                 ("minicnn.functional.activations", "softmax_forward"))),
    Exercise(
        "categorical_crossentropy", "Softmax cross-entropy from logits, forward and backward",
        "minicnn.functional.losses",
        ("categorical_crossentropy_forward", "categorical_crossentropy_backward"), "pair",
        ("05_activations_and_losses.py",),
        "The exercise is the from_logits=True path, with the classes on the last "
        "axis (the checker and the training call it so; the probabilities path may "
        "raise NotImplementedError). Compute log softmax(z) without overflow (shift "
        "by the max), average over every pixel of every image, and return the "
        "gradient with respect to the logits, dy times (softmax(z) - y) divided by "
        "the count you averaged over. The cache is yours.",
        helpers=(("minicnn.functional.losses", ("EPSILON",)),)),
    Exercise(
        "dice_loss_backward", "The soft Dice loss's backward pass",
        "minicnn.functional.losses", ("dice_loss_backward",), "backward",
        ("06_metrics.py",),
        "Each image n and class c has its own score dice = (2 I + smooth) / D; the "
        "loss is 1 minus their mean. A prediction p appears in I and in D, so both "
        "the numerator's and the denominator's derivatives enter.",
        reading=(("minicnn.functional.losses", "dice_loss_forward"),)),
    Exercise(
        "adam_update", "Adam's update, with bias correction",
        "minicnn.optimizers", ("adam_update",), "update",
        ("09_simple_networks.py", "07_cross_validation.py", "10_unet.py"),
        "Update the running means m and v, then the weight, all in place (param -= "
        "..., m += ...: the optimizer keeps these arrays). The bias correction is "
        "folded into the step size, as in Keras.", doc_sections=()),
    Exercise(
        "batchnorm_train_backward", "Batch normalisation's backward pass in training mode",
        "minicnn.functional.normalization", ("batchnorm_train_backward",), "backward",
        ("10_unet.py",),
        "In training the mean and variance are the batch's own, so every x of a "
        "channel moves every output of that channel: dx has the terms from the mean "
        "and the variance besides gamma * s * dy.",
        reading=(("minicnn.functional.normalization", "BatchNormCache"),
                 ("minicnn.functional.normalization", "batchnorm_train_forward"))),
)

BY_NAME = {exercise.name: exercise for exercise in EXERCISES}


def names():
    """The exercise names, in the course's order."""
    return [exercise.name for exercise in EXERCISES]


def get(name):
    """The exercise `name`; an ExerciseError lists the names otherwise."""
    if name not in BY_NAME:
        raise ExerciseError(f"no exercise {name!r}; the exercises are {', '.join(names())}")
    return BY_NAME[name]


def from_file_name(path):
    """The exercise a learner's file is for, from its name: NAME.py, or a name
    that starts with NAME and a separator (conv2d_forward_v2.py)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in BY_NAME:
        return BY_NAME[stem]
    matches = [e for e in EXERCISES if stem.startswith(e.name) and stem[len(e.name)] in "_-."]
    if len(matches) == 1:
        return matches[0]
    raise ExerciseError(f"cannot tell the exercise from the file name {os.path.basename(path)!r}: "
                        f"name it NAME.py or pass --exercise NAME (one of {', '.join(names())})")


def for_example(script):
    """The exercises that `script` (an example's file name) teaches."""
    return [e for e in EXERCISES if script in e.examples]
