"""A learner's starting file, generated from the library's own code.

``stub_text(exercise)`` is the exercise's functions with the library's exact
signature and docstring and a body that raises NotImplementedError, under a
module docstring that quotes the library module's own explanation (the
equations, the shapes with named dimensions) and the code the exercise
depends on (the cache class, the forward a backward follows) as comments.
``solution_text(exercise)`` is the library's implementation itself: the
exercise's functions and the functions of the same module they call, with
everything else imported from minicnn. Both are read from the library's
source when they are asked for, so neither can drift from it
(tests/test_exercises_stubs.py also proves it).
"""
import ast
import builtins
import importlib
import inspect
import os
import re
import textwrap
import types

from .. import files
from .errors import ExerciseError
from .training import PLACEMENTS

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def library_function(exercise, name):
    """The library's function `name` of `exercise`."""
    return getattr(importlib.import_module(exercise.module), name)


def where(exercise):
    """[(function name, its file, its first line), ...]."""
    return [(name, inspect.getsourcefile(library_function(exercise, name)),
             inspect.getsourcelines(library_function(exercise, name))[1])
            for name in exercise.functions]


def _module_path(module_name):
    module = importlib.import_module(module_name)
    return os.path.relpath(module.__file__, PACKAGE_ROOT)


def _definition(function):
    """(source of `function` dedented, its FunctionDef node)."""
    source = textwrap.dedent(inspect.getsource(function))
    return source, ast.parse(source).body[0]


def stub_function(function, exercise_name):
    """`function`'s def line(s) and docstring, its body a NotImplementedError."""
    source, node = _definition(function)
    lines = source.splitlines()
    head = "\n".join(lines[:node.body[0].end_lineno])     # the def and the docstring
    message = f"{node.name}: not written yet (exercise {exercise_name})"
    return f"{head}\n    raise NotImplementedError({message!r})\n"


# ------------------------------------------------------------ the module doc
def doc_sections(doc, wanted):
    """The preamble of a docstring and its sections whose underlined heading
    starts with one of `wanted` (None: the whole docstring; (): nothing)."""
    if wanted is None:
        return doc.strip()
    if not wanted:
        return ""
    lines = doc.strip().splitlines()
    starts = [i for i in range(len(lines) - 1)
              if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip())]
    parts = ["\n".join(lines[:starts[0] if starts else len(lines)]).strip()]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        if lines[start].strip().startswith(tuple(wanted)):
            parts.append("\n".join(lines[start:end]).strip())
    return "\n\n".join(part for part in parts if part)


def _reading(module_name, name):
    """Library code shown in a stub, as comment lines."""
    obj = getattr(importlib.import_module(module_name), name)
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):      # a namedtuple made by a call: its fields and doc
        source = f"{name}{tuple(obj._fields)}: {inspect.getdoc(obj)}"
    return "\n".join(("#     " + line).rstrip() for line in source.splitlines())


def _wrap(text, indent=""):
    return textwrap.fill(text, 76, initial_indent=indent, subsequent_indent=indent)


def _header(exercise, what):
    example = exercise.examples[0]
    return (f"Exercise {exercise.name}: {exercise.title}.\n\n"
            f"{_wrap(exercise.concept)}\n\n{what}\n\n"
            + _wrap(f"Level 4 trains a U-Net with it, as {PLACEMENTS[exercise.name].how}.")
            + "\n\n"
            + _wrap(f"The example that teaches it: examples/{example}. Check this file with "
                    f"`minicnn exercise check {exercise.file_name}` (all four levels; "
                    "--quick: the first three), or from Python with "
                    f"minicnn.exercises.check('{exercise.file_name}')."))


def stub_text(exercise):
    """The starting file of `exercise` (see the module docstring)."""
    module = importlib.import_module(exercise.module)
    helper_names = [n for _, names in exercise.helpers for n in names]
    what = _wrap(
        "Write the function(s) below. Their signatures and docstrings are the "
        f"library's own ({_module_path(exercise.module)}), the ones it calls: keep them. "
        + (f"This file may import from minicnn what is not the exercise: "
           f"{', '.join(helper_names)} (imported below). " if helper_names else "")
        + f"The library's version: `minicnn exercise solution {exercise.name}`.")
    math = doc_sections(module.__doc__ or "", exercise.doc_sections)
    doc = _header(exercise, what)
    if math:
        doc += (f"\n\nFrom the docstring of {_module_path(exercise.module)}:\n\n"
                + textwrap.indent(math, "    "))
    parts = [f'"""{doc}\n"""', _imports_block(
        {"np": "import numpy as np"},
        {(m, n) for m, names in exercise.helpers for n in names})]
    for module_name, name in exercise.reading:
        parts.append(f"# For reading: the library's {name}, which this exercise depends on\n"
                     f"# ({_module_path(module_name)}).\n#\n" + _reading(module_name, name))
    for name in exercise.functions:
        parts.append(stub_function(library_function(exercise, name), exercise.name))
    return _join(parts)


# -------------------------------------------------------------- the solution
def _free_names(node):
    """Names a function reads that it does not bind itself (its globals)."""
    bound = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
    bound |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and n.id not in bound}


def solution_parts(exercise):
    """(functions copied from the library module in its order, {import lines})."""
    module = importlib.import_module(exercise.module)
    copied, modules, imports = {}, {}, set()
    pending = list(exercise.functions)
    while pending:
        name = pending.pop()
        if name in copied:
            continue
        copied[name] = getattr(module, name)
        for free in _free_names(_definition(copied[name])[1]):
            if free in copied or hasattr(builtins, free) or free not in vars(module):
                continue
            obj = vars(module)[free]
            if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
                pending.append(free)
            elif isinstance(obj, types.ModuleType):
                modules[free] = (f"import {obj.__name__}" if free == obj.__name__
                                 else f"import {obj.__name__} as {free}")
            else:
                imports.add((getattr(obj, "__module__", None) or module.__name__, free))
    order = sorted(copied.values(), key=lambda f: inspect.getsourcelines(f)[1])
    return order, _imports_block(modules, imports)


def _imports_block(modules, from_imports):
    """import lines: plain modules, then one `from minicnn... import` per module."""
    lines = sorted(modules.values())
    grouped = {}
    for module_name, name in from_imports:
        grouped.setdefault(module_name, []).append(name)
    froms = [f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(grouped.items())]
    return "\n".join(lines + ([""] if lines and froms else []) + froms)


def solution_text(exercise):
    """The library's own implementation as a learner's file (see the module docstring)."""
    functions, imports = solution_parts(exercise)
    names = ", ".join(f.__name__ for f in functions)
    what = _wrap(f"This is the library's own implementation, copied from "
                 f"{_module_path(exercise.module)} ({names}), with what it uses from the "
                 "rest of minicnn imported: a working start to change and break. "
                 "`minicnn exercise start` without --solution writes the exercise itself.")
    parts = [f'"""{_header(exercise, what)}\n"""', imports]
    parts += [textwrap.dedent(inspect.getsource(f)) for f in functions]
    return _join(parts)


def _join(parts):
    """The docstring, the imports under it, then each part two blank lines apart."""
    doc, imports, *rest = [part.rstrip("\n") for part in parts]
    return "\n\n\n".join([f"{doc}\n{imports}"] + rest) + "\n"


# ------------------------------------------------------------------ writing
def write(exercise, directory, solution=False, force=False):
    """Write DIRECTORY/NAME.py (the stub, or the solution); return its path.

    An existing file is kept: an ExerciseError says so, unless `force`, which
    first renames it to NAME.py.bak (replacing an older .bak)."""
    path = os.path.join(directory, exercise.file_name)
    if os.path.isdir(path):
        raise ExerciseError(f"{path} is a folder")
    if os.path.exists(path):
        if not force:
            raise ExerciseError(f"{path} exists already and is kept; pass --force to "
                                f"replace it (it is renamed to {exercise.file_name}.bak)")
        os.replace(path, path + ".bak")
    os.makedirs(directory, exist_ok=True)
    files.write_text(path, solution_text(exercise) if solution else stub_text(exercise))
    return path
