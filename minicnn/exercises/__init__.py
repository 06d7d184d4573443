"""Exercises: write a kernel of minicnn yourself, check it, train the U-Net with it.

From the shell (``minicnn exercise --help``) or from Python, a notebook too::

    from minicnn import exercises
    exercises.catalogue.names()                      # the exercises, in the course's order
    exercises.start("conv2d_forward")                # writes minicnn-exercises/conv2d_forward.py
    exercises.check("minicnn-exercises/conv2d_forward.py")
    exercises.check(my_conv2d_forward, "conv2d_forward", quick=True)   # a function

``check`` runs four levels and stops at the first that fails:

    1  contract     the functions, their parameters, shapes, dtypes, the cache
    2  values       against the library, with the wrong entries localised
                    and their pattern named (``diagnosis``)
    3  gradients    your backward against central differences of the forward
    4  training     the U-Net trained with your function in place of that one
                    operation, beside the library's run (``level4``)

The learner's code always runs in a child process (``sandbox``), so an
endless loop or a crash cannot hang or end the checker; a function passed
from a notebook goes there as its source (``inspect.getsource``), with the
notebook's imports and helper functions it uses. ``run_zoo`` runs the checker
on deliberately wrong kernels (``minicnn/exercises/zoo``). docs/exercises.md
is the guide.
"""
import inspect
import os
import tempfile
import time
import types
from dataclasses import dataclass, field

from . import catalogue, level4, progress, stubs, training, zoo as bug_zoo
from .errors import ExerciseError, LearnerError
from .levels import Checker, Level
from .notebook import source_file
from .sandbox import Sandbox

DEFAULT_DIR = "minicnn-exercises"


@dataclass
class Report:
    """What ``check`` found: the levels run, in order."""
    exercise: str
    levels: list = field(default_factory=list)

    @property
    def failed(self):
        """The level that failed, or None."""
        return next((level for level in self.levels if level.passed is False), None)

    @property
    def passed(self):
        return self.failed is None

    def __bool__(self):
        return self.passed


def start(name, directory=DEFAULT_DIR, solution=False, force=False):
    """Write DIRECTORY/NAME.py, the exercise's stub (or, with `solution`, the
    library's own code); return its path. An existing file is kept unless
    `force`, which renames it to NAME.py.bak first."""
    return stubs.write(catalogue.get(name), directory, solution=solution, force=force)


def solution(name):
    """[(function, file, line, source)]: where the library implements `name`."""
    exercise = catalogue.get(name)
    return [(function, path, line,
             inspect.getsource(stubs.library_function(exercise, function)))
            for function, path, line in stubs.where(exercise)]


def check(target, exercise=None, quick=False, level=None, say=print, random_cases=True,
          network="small", record=True):
    """Check a learner's file (a path), function, list of functions or module.

    exercise: the exercise's name; from a file's name when not given (NAME.py).
    quick: levels 1-3 only. level: that level alone. random_cases: False runs
    level 2 on the hand-picked cases only. network: level 4's, 'small' or
    'tiny' (for a slow kernel). record: note the outcome beside a file, for
    ``minicnn exercise list --dir`` (``progress``). Prints as it goes through
    `say`; returns a Report (true when every level run passed).
    """
    exercise, path, temporary = _resolve(target, exercise)
    run = [level] if level else ([1, 2, 3] if quick else [1, 2, 3, 4])
    if any(k not in (1, 2, 3, 4) for k in run):
        raise ExerciseError(f"level must be 1, 2, 3 or 4, got {level!r}")
    if network not in training.NETWORKS:
        raise ExerciseError(f"network must be one of {', '.join(training.NETWORKS)}, "
                            f"got {network!r}")
    report = Report(exercise.name)
    say(f"checking {path if not temporary else _described(target)} as exercise "
        f"{exercise.name}: {exercise.title}")
    try:
        _levels_1_to_3(exercise, path, run, report, say, random_cases)
        if 4 in run and report.passed:
            started = time.perf_counter()
            folder = os.path.abspath(DEFAULT_DIR) if temporary else None
            report.levels.append(level4.run(exercise, path, say, network, folder))
            say(f"  ({time.perf_counter() - started:.0f} s)")
    finally:
        if temporary:
            temporary.cleanup()
    if record and not temporary:
        progress.record(path, exercise.name, report.levels)
    failed = report.failed
    say(f"{exercise.name}: " + (f"FAILS level {failed.number}: {failed.text}" if failed else
                                f"passes level{'s' * (len(run) > 1)} "
                                f"{', '.join(map(str, run))}"))
    return report


def run_zoo(name=None, say=print):
    """Run levels 1-3 on the bug zoo's entries (all, those of exercise `name`,
    or the entry `name`); returns [(entry, Report)]."""
    chosen = bug_zoo.entries(name)
    if not chosen:
        raise ExerciseError(f"no zoo entry or exercise {name!r} in the zoo; it has "
                            f"{', '.join(e.name for e in bug_zoo.ENTRIES)}")
    found = []
    for entry in chosen:
        say(f"\n== {entry.name}: {entry.mistake}")
        found.append((entry, check(entry.path, quick=True, record=False,
                                   say=lambda line: say("   " + line))))
    return found


def _levels_1_to_3(exercise, path, run, report, say, random_cases):
    started = time.perf_counter()
    try:
        box = Sandbox(path, exercise.functions)
    except LearnerError as err:
        say(f"level 1  FAIL: {err.text}")
        report.levels.append(Level(1, False, "import", err.text))
        return
    with box:
        checker = Checker(exercise, box, say, random_cases)
        missing = [n for n in exercise.functions if box.signatures[n] is None]
        if 1 not in run and missing:
            report.levels.append(checker.level1())        # says which function is missing
            return
        for k in (1, 2, 3):
            if k not in run:
                continue
            report.levels.append(getattr(checker, f"level{k}")())
            if report.levels[-1].passed is False:
                break
    ran = [level.number for level in report.levels]
    if ran:
        say(f"  (level{'s' * (len(ran) > 1)} {', '.join(map(str, ran))}: "
            f"{time.perf_counter() - started:.1f} s)")


def _described(target):
    if isinstance(target, types.ModuleType):
        return f"module {target.__name__}"
    functions = target if isinstance(target, (list, tuple)) else [target]
    return ", ".join(getattr(f, "__name__", repr(f)) for f in functions)


def _resolve(target, name):
    """(exercise, path of a file to check, TemporaryDirectory or None)."""
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        if not os.path.isfile(path):
            raise ExerciseError(f"no file {path!r}" + (" (it is a folder)" if os.path.isdir(path)
                                                       else ""))
        return (catalogue.get(name) if name else catalogue.from_file_name(path)), path, None
    if isinstance(target, types.ModuleType):
        if not getattr(target, "__file__", None):
            raise ExerciseError(f"module {target.__name__} has no file to check")
        return _resolve(target.__file__, name)
    if name is None:
        raise ExerciseError("say which exercise these functions are for: "
                            "check(function, 'conv2d_forward')")
    exercise = catalogue.get(name)
    folder = tempfile.TemporaryDirectory(prefix="minicnn-exercise-")
    try:
        path = source_file(target, exercise, folder.name)
    except BaseException:
        folder.cleanup()
        raise
    return exercise, path, folder


__all__ = ["catalogue", "check", "start", "solution", "run_zoo", "Report", "ExerciseError",
           "DEFAULT_DIR"]
