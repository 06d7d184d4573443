"""Compiled twins of the hot NumPy kernels, used under ``set_backend('numba')``.

Each public kernel listed below starts with one branch,
``if get_backend() == "numba": return <twin>(...)`` (with its scope as a
condition where the twin covers part of the cases), and its twin here takes
the same arguments and returns the same values *and the same cache*, so a
forward pass run on one backend can be differentiated on the other. The
NumPy kernels stay the readable reference: the twins are tested against them
on every op (``tests/test_backends.py``).

Accelerated kernels (``minicnn.functional.<module>.<kernel>`` has its twin in
``minicnn.numba_kernels.<module>``, same names):

| kernel                                              | twin's scope               |
|-----------------------------------------------------|----------------------------|
| conv.conv2d_forward / conv2d_backward               | all                        |
| conv.conv2d_transpose_forward / _backward           | all                        |
| pooling.max_pool2d_forward / _backward              | all                        |
| upsampling.upsample_nearest2d_forward / _backward   | all                        |
| activations.relu_forward / relu_backward            | all                        |
| activations.softmax_forward / _backward             | the last axis              |
| merging.concatenate_forward / _backward             | the last axis              |
| losses.categorical_crossentropy_forward / _backward | the last axis              |
| losses.sparse_categorical_crossentropy_forward / _b.| from_logits=True           |

Everything else runs its NumPy kernel on both backends, including what the
scope column leaves out (softmax, concatenation or cross-entropy along
another axis, sparse cross-entropy on probabilities): bilinear
upsampling (already two matmuls), padding and cropping (slice copies),
sigmoid and tanh, dropout, batch normalisation, Add, binary cross-entropy
and Dice. ``ACCELERATED`` lists the table's
functions by name; the tests check that it matches the code.

Compilation: every kernel is ``@njit(cache=True)``, compiled on first use for
float32 or float64 C-contiguous arrays (the wrappers make their inputs so, to
keep one specialisation per dtype) and cached on disk for the next process.
Threads: see ``minicnn._threads``.
"""
from .. import _threads

_threads.configure_numba()

ACCELERATED = {
    "conv": ("conv2d_forward", "conv2d_backward", "conv2d_transpose_forward",
             "conv2d_transpose_backward"),
    "pooling": ("max_pool2d_forward", "max_pool2d_backward"),
    "upsampling": ("upsample_nearest2d_forward", "upsample_nearest2d_backward"),
    "activations": ("relu_forward", "relu_backward", "softmax_forward",
                    "softmax_backward"),
    "merging": ("concatenate_forward", "concatenate_backward"),
    "losses": ("categorical_crossentropy_forward", "categorical_crossentropy_backward",
               "sparse_categorical_crossentropy_forward",
               "sparse_categorical_crossentropy_backward"),
}
