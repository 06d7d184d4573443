"""The bug zoo: deliberately wrong kernels, one mistake each, the ones learners make.

Each file here is a learner's file for one exercise (its name starts with
the exercise's) with one mistake, marked ``# THE MISTAKE`` and explained in
its docstring. ``minicnn exercise zoo [NAME]`` runs the checker (levels 1
to 3) on them, so a learner sees what each mistake looks like from the
outside. ``ENTRIES`` says at which level each is caught and which pattern
the diagnosis names, and tests/test_exercises_zoo.py holds the checker to
it; the checker itself never reads this table: it sees only the arrays.
"""
import ast
import os
from dataclasses import dataclass

FOLDER = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Entry:
    name: str              # the file is NAME.py; the exercise is the part before "__"
    level: int             # the level that catches it
    key: str | None        # the diagnosis's pattern (None: no pattern, only what was measured)
    words: str             # words the diagnosis or the failure says

    @property
    def exercise(self):
        return self.name.split("__")[0]

    @property
    def path(self):
        return os.path.join(FOLDER, f"{self.name}.py")

    @property
    def mistake(self):
        """The first paragraph of the file's docstring, on one line."""
        with open(self.path, encoding="utf-8") as f:
            return " ".join(ast.get_docstring(ast.parse(f.read())).split("\n\n")[0].split())


ENTRIES = (
    Entry("conv2d_forward__float64_accumulator", 1, "contract", "float32 in, float64 out"),
    Entry("conv2d_forward__flipped_kernel", 2, "what-if", "kernel mirrored"),
    Entry("conv2d_forward__padding_off_by_one", 2, "what-if", "on the wrong side"),
    Entry("conv2d_backward__kernel_not_flipped", 2, "what-if", "kernel mirrored"),
    Entry("conv2d_backward__stride_ignored", 2, "what-if", "the stride is ignored"),
    Entry("conv2d_backward__dilation_dropped_from_dkernel", 2, "what-if",
          "the dilation is ignored"),
    Entry("conv2d_backward__bias_averaged_over_batch", 2, "factor", "1 / (N)"),
    Entry("max_pool2d__ties_credited_twice", 2, "extra", "where the library's is exactly 0"),
    Entry("upsample_nearest2d_backward__mean_not_sum", 2, "factor", "1 / (sh * sw)"),
    Entry("conv2d_transpose__output_padding_wrong_side", 2, "shift", "shifted along OH by 1"),
    Entry("relu_backward__mask_from_dy", 2, None, "no pattern fits"),
    Entry("sigmoid_backward__from_the_input", 2, None, "no pattern fits"),
    Entry("softmax_backward__missing_sum_term", 2, "mean-term", "sums to 0 over C"),
    Entry("categorical_crossentropy__no_max_shift", 2, "overflow", "NaN or inf"),
    Entry("categorical_crossentropy__divided_by_batch", 2, "factor", "H * W"),
    Entry("dice_loss_backward__missing_denominator_term", 2, "constant",
          "the same along H and W"),
    Entry("adam_update__no_bias_correction", 2, "factor", "the bias correction"),
    Entry("batchnorm_train_backward__no_mean_terms", 2, "mean-term", "sums to 0 over N and H and W"),
)


def entries(name=None):
    """The entries of exercise `name`, or the entry `name`, or all of them."""
    if name is None:
        return list(ENTRIES)
    return [e for e in ENTRIES if name in (e.name, e.exercise)]
