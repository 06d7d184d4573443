"""``minicnn exercise``: write a kernel yourself, check it, train the U-Net with it.

    minicnn exercise list [--dir DIR]                 the exercises, in the course's order
    minicnn exercise start NAME [--dir DIR] [--solution] [--force]
    minicnn exercise check FILE [--exercise NAME] [--quick] [--level K] [--network tiny]
    minicnn exercise solution NAME                    where the library does it, and how
    minicnn exercise zoo [NAME]                       the checker on deliberately wrong kernels

The work is ``minicnn.exercises``'s (docs/exercises.md); this module parses,
calls it and prints. ``check`` exits with 0 when every level it ran passed,
1 when one failed, 2 for a usage error (an unknown exercise, a missing file).
MINICNN_DEBUG=1 shows tracebacks: a usage error's, and the learner's code's
(printed by the child process on stderr).
"""
from .. import exercises
from ..exercises import catalogue, progress
from ..exercises.errors import debugging
from .arguments import fail


def add_arguments(parser):
    actions = parser.add_subparsers(dest="action", metavar="action", parser_class=type(parser))
    actions.required = True
    listing = actions.add_parser("list", help="the exercises, in the course's order",
                                 description="One row per exercise: its name, the example "
                                 "that teaches it, what to write.")
    listing.add_argument("--dir", help="also say how far the files in DIR have got, from "
                         "their last check")
    start = actions.add_parser("start", help="write an exercise's file to fill in",
                               description="Write DIR/NAME.py: the function(s) to write, with "
                               "the library's signature and docstring.")
    start.add_argument("name", metavar="NAME")
    start.add_argument("--dir", default=exercises.DEFAULT_DIR,
                       help=f"where to write it (default ./{exercises.DEFAULT_DIR})")
    start.add_argument("--solution", action="store_true",
                       help="write the library's own implementation instead, to change and break")
    start.add_argument("--force", action="store_true",
                       help="replace an existing file (kept as NAME.py.bak)")
    check = actions.add_parser("check", help="check a file, level by level",
                               description="Run the levels (1 contract, 2 values, 3 gradients, "
                               "4 training) and stop at the first that fails.")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--exercise", metavar="NAME",
                       help="the exercise (default: from the file's name, NAME.py)")
    check.add_argument("--quick", action="store_true", help="levels 1-3 only (no training)")
    check.add_argument("--level", type=int, choices=(1, 2, 3, 4), help="run this level alone")
    check.add_argument("--network", choices=("small", "tiny"), default="small",
                       help="level 4's U-Net: small (default) or tiny, for a slow kernel")
    solution = actions.add_parser("solution", help="where and how the library does it",
                                  description="The file and line of the library's "
                                  "implementation, and its text.")
    solution.add_argument("name", metavar="NAME")
    zoo = actions.add_parser("zoo", help="the checker on deliberately wrong kernels",
                             description="Run levels 1-3 on the bug zoo: one mistake per "
                             "file, the ones learners make.")
    zoo.add_argument("name", metavar="NAME", nargs="?",
                     help="an exercise or a zoo entry (default: all of them)")


def run(args):
    prog = f"minicnn exercise {args.action}"
    try:
        return ACTIONS[args.action](args)
    except exercises.ExerciseError as err:
        if debugging():
            raise
        return fail(prog, err, code=2)


def _list(args):
    rows = []
    for exercise in catalogue.EXERCISES:
        row = [exercise.name]
        if args.dir:
            row.append(progress.status(args.dir, exercise))
        rows.append(row + [exercise.examples[0], exercise.title])
    header = ["NAME"] + (["STATUS"] if args.dir else []) + ["EXAMPLE", "WHAT"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header) - 1)]
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _start(args):
    path = exercises.start(args.name, args.dir, solution=args.solution, force=args.force)
    what = "the library's solution" if args.solution else "the exercise"
    print(f"wrote {path} ({what}); check it with: minicnn exercise check {path}")
    return 0


def _check(args):
    report = exercises.check(args.file, exercise=args.exercise, quick=args.quick,
                             level=args.level, network=args.network)
    return 0 if report.passed else 1


def _solution(args):
    for function, path, line, source in exercises.solution(args.name):
        print(f"# {function}: {path}:{line}\n")
        print(source)
    return 0


def _zoo(args):
    found = exercises.run_zoo(args.name)
    print("\nthe zoo, level by level:")
    for entry, report in found:
        failed = report.failed
        caught = f"caught at level {failed.number}" if failed else "NOT caught"
        pattern = f" ({failed.key})" if failed and failed.key else ""
        print(f"  {entry.name:<50} {caught}{pattern}")
    return 0


ACTIONS = {"list": _list, "start": _start, "check": _check, "solution": _solution, "zoo": _zoo}
