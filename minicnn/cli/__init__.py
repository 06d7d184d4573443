"""The ``minicnn`` command: train, predict, summary, gradcheck, exercise.

    minicnn train                       # the course's U-Net on the embedded brain data
    minicnn predict --weights minicnn-train/model.npz --input t1.nii.gz --output labels.nii.gz
    minicnn summary --model unet        # Keras's table of layers and parameters
    minicnn gradcheck [conv2d ...]      # every gradient (or one class) against finite differences
    minicnn exercise start conv2d_forward  # write a kernel yourself; 'exercise check' tests it

``python -m minicnn ...`` is the same command. One module per subcommand
(``train``, ``predict``, ``summary``, ``gradcheck``, ``exercise``), each with
``add_arguments(parser)`` and ``run(args) -> exit status``; ``report``
draws the figures. The commands parse arguments, call the library (the
model card, whole-volume segmentation and scoring, and the main job's data
are ``minicnn.segmentation``) and print.

Errors a user can cause (a missing file, a file that is not a 3D NIfTI,
weights that do not fit the model, an unknown model name, a bad number) end
the command with ONE line on stderr, ``minicnn <command>: error: <what is
wrong>``, and a non-zero exit status: 2 for bad usage, 1 for the rest.
Set MINICNN_DEBUG=1 to see the full traceback instead.
"""
import os
import sys

from ..data.nifti import NiftiError
from . import exercise, gradcheck, predict, summary, train
from .arguments import Parser, fail

COMMANDS = {
    "train": (train, "train a segmentation network on the embedded brain data"),
    "predict": (predict, "segment a skull-stripped T1 NIfTI with trained weights"),
    "summary": (summary, "print a model's layers and parameter counts"),
    "gradcheck": (gradcheck, "check every hand-written gradient numerically"),
    "exercise": (exercise, "write a kernel yourself, check it, train the U-Net with it"),
}
# What a user can cause; anything else is a bug and keeps its traceback.
USER_ERRORS = (NiftiError, FileNotFoundError, PermissionError, IsADirectoryError,
               ValueError, TypeError, ImportError, OSError)


def build_parser():
    parser = Parser(prog="minicnn", description="minicnn: convolutional networks in "
                    "NumPy with hand-written gradients, for brain MRI segmentation.",
                    epilog="Run 'minicnn <command> --help' for a command's options. "
                    "Set MINICNN_DEBUG=1 to see tracebacks.")
    commands = parser.add_subparsers(dest="command", metavar="command",
                                     parser_class=Parser)
    commands.required = True
    for name, (module, text) in COMMANDS.items():
        first_line = module.__doc__.split("\n")[0].replace("``", "")
        sub = commands.add_parser(name, help=text, description=first_line)
        module.add_arguments(sub)
    return parser


def main(argv=None):
    """Run the command line `argv` (default sys.argv[1:]); return the exit status."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:            # --help, or a usage error already printed
        return int(done.code or 0)
    args.argv = argv
    args.load_average = os.getloadavg() if hasattr(os, "getloadavg") else ()
    module, _ = COMMANDS[args.command]
    try:
        return module.run(args)
    except KeyboardInterrupt:
        return fail(f"minicnn {args.command}", "interrupted", code=130)
    except USER_ERRORS as err:
        if os.environ.get("MINICNN_DEBUG", "0") not in ("", "0"):
            raise
        return fail(f"minicnn {args.command}", err)
