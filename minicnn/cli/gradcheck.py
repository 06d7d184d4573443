"""``minicnn gradcheck``: every hand-written gradient against finite differences.

Runs ``minicnn.gradcheck.main``: each layer and loss of minicnn, in float64,
with a random upstream gradient, compared element by element with central
differences; one row per case with its worst relative error, and a failure
(exit status 1) for any error at or above the tolerance.
"""
from .. import gradcheck


def add_arguments(parser):
    parser.add_argument("--tolerance", type=float, default=1e-7,
                        help="largest relative error that passes (default 1e-7)")


def run(args):
    try:
        gradcheck.main(tolerance=args.tolerance)
    except SystemExit as done:        # main() ends with sys.exit(0 or 1)
        return int(done.code or 0)
    return 0
