"""A function from a notebook, written into a file the child process can load.

``check(my_function, "conv2d_forward")`` cannot hand a live function to
another process, so it takes the function's source (``inspect.getsource``)
and writes NAME.py with what the source needs from the notebook:

- the modules it uses under their notebook names (``import numpy as np``);
- the functions and classes of the notebook it calls, as source, in turn;
- what it uses from minicnn or NumPy, imported from where it lives.

Anything else (a notebook variable, a lambda, a function made at run time,
one that reads variables of an enclosing function) cannot be taken along:
an ExerciseError says which and what to do. A function named otherwise than
the exercise's is assigned to the expected name (``conv2d_forward =
my_conv``); an exercise of two functions takes them as a list, in the
exercise's order.
"""
import inspect
import os
import textwrap
import types

from .. import files
from .errors import ExerciseError

OWN_MODULES = ("minicnn", "numpy")


def _source(obj):
    name = getattr(obj, "__name__", repr(obj))
    if name == "<lambda>":
        raise ExerciseError("a lambda has no source of its own to take into the checker's "
                            "process; write it with def")
    if getattr(getattr(obj, "__code__", None), "co_freevars", ()):
        raise ExerciseError(f"{name} reads variables of the function it was defined in "
                            f"({', '.join(obj.__code__.co_freevars)}), which cannot go into "
                            "the checker's process; define it at the top level")
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        raise ExerciseError(f"the source of {name} cannot be found (a function made at run "
                            "time, or with exec?); write it in a cell or a file, and check "
                            "that") from None


def _globals_used(function):
    """The names `function` reads from its module (its notebook)."""
    code, names = function.__code__, set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return [n for n in sorted(names) if n in function.__globals__]


def source_file(target, exercise, directory):
    """Write DIRECTORY/NAME.py from a function (or a list of them); return its path."""
    functions = list(target) if isinstance(target, (list, tuple)) else [target]
    if len(functions) != len(exercise.functions) or not all(callable(f) for f in functions):
        raise ExerciseError(f"exercise {exercise.name} needs {len(exercise.functions)} "
                            f"function(s), {', '.join(exercise.functions)}, in this order; "
                            f"got {len(functions)}")
    imports, sources, pending, done = set(), [], list(functions), set()
    while pending:
        function = pending.pop(0)
        if id(function) in done:
            continue
        done.add(id(function))
        sources.append(_source(function))
        if not isinstance(function, types.FunctionType):
            continue
        for name in _globals_used(function):
            value = function.__globals__[name]
            if isinstance(value, types.ModuleType):
                imports.add(f"import {value.__name__}" if name == value.__name__
                            else f"import {value.__name__} as {name}")
            elif getattr(value, "__module__", None) == function.__module__ and \
                    isinstance(value, (types.FunctionType, type)):
                pending.append(value)
            elif str(getattr(value, "__module__", "")).split(".")[0] in OWN_MODULES:
                imports.add(f"from {value.__module__} import {value.__name__}"
                            + ("" if value.__name__ == name else f" as {name}"))
            elif not isinstance(value, (types.BuiltinFunctionType, type)):
                raise ExerciseError(f"{function.__name__} reads {name!r} from the notebook, "
                                    "which cannot go into the checker's process; pass it "
                                    "as an argument or define it inside the function")
    aliases = [f"{want} = {f.__name__}" for want, f in zip(exercise.functions, functions)
               if f.__name__ != want]
    text = "\n".join(sorted(imports)) + "\n\n\n" + "\n\n".join(sources) + "\n" + \
        "".join(f"\n{line}\n" for line in aliases)
    path = os.path.join(directory, exercise.file_name)
    files.write_text(path, text)
    return path
