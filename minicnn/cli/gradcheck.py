"""``minicnn gradcheck``: every hand-written gradient against finite differences.

Runs ``minicnn.gradcheck.main``: each layer and loss of minicnn, in float64,
with a random upstream gradient, compared element by element with central
differences; one row per case with its worst relative error, and a failure
(exit status 1) for any error at or above the tolerance. ``minicnn gradcheck
conv2d maxpooling2d`` checks the rows of those classes only.
"""
from .. import gradcheck
from .arguments import fail


def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="check only the rows of these layer or loss classes "
                             "(Conv2D, conv2d_transpose, dice, ...: case, '_' and '-' "
                             "ignored); default: every row")
    parser.add_argument("--tolerance", type=float, default=1e-7,
                        help="largest relative error that passes (default 1e-7)")


def run(args):
    try:
        return gradcheck.main(args.names, tolerance=args.tolerance)
    except gradcheck.UnknownName as error:           # bad usage
        return fail("minicnn gradcheck", str(error).removeprefix("gradcheck: "), code=2)
