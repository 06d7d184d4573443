"""The bug zoo and the diagnoser's honesty (the slow set).

- Every zoo entry fails at the level, and with the diagnosis, that
  minicnn/exercises/zoo/__init__.py states (the checker never reads that
  table: it sees only the arrays).
- Every library kernel passes levels 1-3 on the random configurations too.
- Mutations that are not in the zoo (a scale factor, axes read in another
  order, a sign flip, a shifted window) get their patterns named.
- Random source edits of the library's kernels (an operator swapped, a
  comparison flipped, a constant moved by one, an index shifted): every edit
  that changes an output fails at level 3 or earlier. An edit the checker
  passes is compared with the library on many more configurations; if it
  changes an output there too, the checker missed it and the test fails.
  The counts are printed (pytest -s shows them).
"""
import ast
import random
import shutil

import numpy as np
import pytest

from minicnn import exercises
from minicnn.exercises import catalogue, levels, sandbox, stubs, zoo
from minicnn.exercises.diagnosis import wrong_entries
from minicnn.exercises.errors import LearnerError
from minicnn.exercises.harness import ContractError

pytestmark = pytest.mark.slow


def _check(path, **options):
    lines = []
    report = exercises.check(path, quick=True, say=lines.append, record=False, **options)
    return report, "\n".join(lines)


@pytest.mark.parametrize("entry", zoo.ENTRIES, ids=[e.name for e in zoo.ENTRIES])
def test_every_zoo_entry_is_caught_at_its_level_with_its_diagnosis(entry):
    report, text = _check(entry.path)
    assert report.failed is not None, text
    assert (report.failed.number, report.failed.key) == (entry.level, entry.key), text
    assert entry.words in text, text


def test_level_3_alone_says_when_the_two_halves_disagree():
    entry = zoo.entries("conv2d_backward__kernel_not_flipped")[0]
    report, text = _check(entry.path, level=3)
    assert [level.number for level in report.levels] == [3] and report.failed, text
    assert "the two halves disagree" in text


def test_the_zoo_command_lists_every_entry_caught(capsys):
    from minicnn.cli import main
    assert main(["exercise", "zoo", "max_pool2d"]) == 0
    out = capsys.readouterr().out
    assert "max_pool2d__ties_credited_twice" in out and "caught at level 2 (extra)" in out


@pytest.mark.parametrize("name", catalogue.names())
def test_every_library_kernel_passes_levels_1_to_3_on_random_configurations(name, tmp_path):
    report, text = _check(exercises.start(name, tmp_path, solution=True))
    assert report.passed, text


# --------------------------------------------------- mutations not in the zoo
MUTATIONS = {
    "a scale factor": ("conv2d_forward", "conv2d_forward", """
def conv2d_forward(x, kernel, bias, geom):
    y, cache = library(x, kernel, bias, geom)
    return y * 1.5, cache
""", "factor"),
    "axes read in another order": ("conv2d_backward", "conv2d_backward", """
def conv2d_backward(dy, cache):
    dx, dkernel, dbias = library(dy, cache)
    return dx, np.ascontiguousarray(dkernel.transpose(0, 1, 3, 2)).reshape(dkernel.shape), dbias
""", "layout"),
    "a sign flip": ("softmax_backward", "softmax_backward", """
def softmax_backward(dy, cache):
    return -library(dy, cache)
""", "sign"),
    "a shifted window": ("conv2d_forward", "conv2d_forward", """
def conv2d_forward(x, kernel, bias, geom):
    shifted = np.zeros_like(x)
    shifted[:, 1:] = x[:, :-1]                 # every window reads one row too high
    y, cache = library(shifted, kernel, bias, geom)
    return y, cache._replace(x=x)
""", "shift"),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_mutations_not_in_the_zoo_get_their_pattern_named(mutation, tmp_path):
    name, function, body, key = MUTATIONS[mutation]
    module = catalogue.get(name).module
    path = tmp_path / f"{name}.py"
    path.write_text(f"import numpy as np\nfrom {module} import {function} as library\n{body}")
    report, text = _check(path)
    assert report.failed and report.failed.number == 2 and report.failed.key == key, text


# ---------------------------------------------------------- random source edits
SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
         ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt,
         ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
EDITS = 50


def _sites(tree):
    """(kind, node) of every place an edit can go, in the functions' bodies."""
    found = []
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(function):
            if isinstance(node, ast.BinOp) and type(node.op) in SWAPS:
                found.append(("an operator swapped", node))
            elif isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
                found.append(("a comparison flipped", node))
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and isinstance(node.slice.value, int):
                found.append(("an index shifted", node))
            elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
                found.append(("a constant moved by one", node))
    return found


def _edit(kind, node):
    if kind == "an operator swapped":
        node.op = SWAPS[type(node.op)]()
    elif kind == "a comparison flipped":
        node.ops[0] = SWAPS[type(node.ops[0])]()
    elif kind == "an index shifted":
        node.slice.value += 1
    else:
        node.value += 1


def _edits(seed=0):
    """EDITS random single edits of the library's kernels: (exercise, what, source)."""
    rng = random.Random(seed)
    pool = []
    for exercise in catalogue.EXERCISES:
        text = stubs.solution_text(exercise)
        for index, (kind, _) in enumerate(_sites(ast.parse(text))):
            pool.append((exercise, text, index, kind))
    chosen = []
    for exercise, text, index, kind in rng.sample(pool, EDITS):
        tree = ast.parse(text)
        site_kind, node = _sites(tree)[index]
        _edit(site_kind, node)
        where = f"{kind} at line {node.lineno}"
        chosen.append((exercise, where, ast.unparse(tree) + "\n"))
    return chosen


def _changes_an_output(exercise, path):
    """Whether the edited file differs from the library on many more cases."""
    harness = levels.HARNESSES[exercise.name]()
    cases = harness.hand_picked() + harness.random_cases_list(count=150, seed=1)
    try:
        with sandbox.Sandbox(path, exercise.functions, timeout=5.0) as box:
            mine_fns = {**harness.library, **{n: box.function(n) for n in exercise.functions}}
            for case in cases:
                for dtype in (np.float64, np.float32):
                    args = harness.arrays(case, dtype)
                    library = harness.run(harness.library, args)
                    mine = harness.run(mine_fns, args)
                    box.forget()
                    for name in harness.outputs:
                        if (library[name] is None) != (mine[name] is None):
                            return True
                        if library[name] is not None and (
                                np.shape(mine[name]) != np.shape(library[name])
                                or np.asarray(mine[name]).dtype != np.asarray(library[name]).dtype
                                and np.ndim(library[name])
                                or wrong_entries(np.asarray(mine[name], np.float64),
                                                 library[name]).any()):
                            return True
    except (LearnerError, ContractError):
        return True
    return False


def test_random_source_edits_are_caught_at_level_3_or_earlier(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "CALL_TIMEOUT", 5.0)
    caught, named, equivalent, missed, by_level, rows = 0, 0, 0, [], {}, []
    for k, (exercise, where, source) in enumerate(_edits()):
        folder = tmp_path / f"edit{k}"
        folder.mkdir()
        path = folder / exercise.file_name
        path.write_text(source)
        report, text = _check(path)
        if report.failed is None:
            if _changes_an_output(exercise, path):
                missed.append(f"{exercise.name}: {where}")
            else:
                equivalent += 1
                rows.append(f"  {exercise.name}, {where}: changes no output")
            continue
        rows.append(f"  {exercise.name}, {where}: level {report.failed.number}, "
                    f"{report.failed.key or 'no pattern'}")
        caught += 1
        by_level[report.failed.number] = by_level.get(report.failed.number, 0) + 1
        if report.failed.key not in (None, "contract", "raised", "import"):
            named += 1
        shutil.rmtree(folder)
    print("\n" + "\n".join(rows))
    print(f"random source edits: {EDITS}; {caught + len(missed)} changed an output, "
          f"{caught} of them failed at level 3 or earlier (by level: "
          f"{dict(sorted(by_level.items()))}), {named} of those with a named pattern "
          f"(the others raised, broke the contract or got only what was measured); "
          f"{equivalent} changed no output")
    assert not missed, f"edits that change an output but pass levels 1-3: {missed}"
    assert caught >= 30
