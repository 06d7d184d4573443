"""minicnn.exercises, the fast part: stubs, levels 1-3 of every library kernel, bad input.

Every library kernel, written out as a learner's file by ``start
--solution``, passes levels 1-3 on the hand-picked cases (the random
configurations and the zoo are in tests/test_exercises_zoo.py, level 4 in
tests/test_exercises_level4.py). A stub keeps the library's signature and
docstring, so the two cannot drift. A learner's file that does not compile,
lacks a function, takes other parameters, returns the wrong shape, raises,
loops forever or ends its process fails level 1 with one line, and the
command's exit status is 1 for a failed level, 2 for a usage error.
"""
import ast
import inspect
import json
import os
import textwrap

import numpy as np
import pytest

from minicnn import exercises
from minicnn.cli import main
from minicnn.exercises import catalogue, levels, progress, sandbox, stubs, training, zoo

NAMES = catalogue.names()


def _lines():
    found = []
    return found, found.append


# -------------------------------------------------------------- the catalogue
def test_every_exercise_has_a_harness_a_placement_and_existing_examples():
    assert list(levels.HARNESSES) == NAMES
    assert list(training.PLACEMENTS) == NAMES
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for exercise in catalogue.EXERCISES:
        assert exercise.kind in catalogue.KINDS
        for script in exercise.examples:
            assert os.path.isfile(os.path.join(here, "examples", script)), script


def test_every_example_ends_by_naming_its_exercises():
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    for script in sorted(f for f in os.listdir(here) if f[:2].isdigit() and f.endswith(".py")):
        with open(os.path.join(here, script), encoding="utf-8") as f:
            last = ast.parse(f.read()).body[-1]
        assert ast.unparse(last) == f"_common.exercises({script[:-3]!r})", script


def test_the_file_name_tells_the_exercise():
    assert catalogue.from_file_name("x/conv2d_forward.py").name == "conv2d_forward"
    assert catalogue.from_file_name("conv2d_forward_v2.py").name == "conv2d_forward"
    with pytest.raises(exercises.ExerciseError, match="--exercise NAME"):
        catalogue.from_file_name("my_kernel.py")


# ------------------------------------------------------- stubs and solutions
@pytest.mark.parametrize("name", NAMES)
def test_a_stub_keeps_the_library_signature_and_docstring(name):
    exercise = catalogue.get(name)
    tree = ast.parse(stubs.stub_text(exercise))
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert list(defined) == list(exercise.functions)
    for function in exercise.functions:
        library = ast.parse(textwrap.dedent(inspect.getsource(
            stubs.library_function(exercise, function)))).body[0]
        assert ast.dump(defined[function].args) == ast.dump(library.args)
        assert ast.get_docstring(defined[function]) == ast.get_docstring(library)
        assert isinstance(defined[function].body[-1], ast.Raise)


@pytest.mark.parametrize("name", NAMES)
def test_a_solution_is_the_library_source(name):
    exercise = catalogue.get(name)
    text = stubs.solution_text(exercise)
    for function in exercise.functions:
        assert textwrap.dedent(inspect.getsource(
            stubs.library_function(exercise, function))) in text


def test_start_keeps_an_existing_file_unless_forced(tmp_path):
    path = exercises.start("relu_backward", tmp_path)
    with open(path, "a", encoding="utf-8") as f:
        f.write("# my work\n")
    with pytest.raises(exercises.ExerciseError, match="exists already and is kept"):
        exercises.start("relu_backward", tmp_path)
    exercises.start("relu_backward", tmp_path, solution=True, force=True)
    with open(path + ".bak", encoding="utf-8") as f:
        assert f.read().endswith("# my work\n")


# ------------------------------------------- levels 1-3 of every library kernel
@pytest.mark.parametrize("name", NAMES)
def test_every_library_kernel_passes_levels_1_to_3(name, tmp_path):
    path = exercises.start(name, tmp_path, solution=True)
    lines, say = _lines()
    report = exercises.check(path, quick=True, random_cases=False, say=say)
    assert report.passed, "\n".join(lines)
    expected = [True, True, None if catalogue.get(name).kind in ("forward", "update") else True]
    assert [level.passed for level in report.levels] == expected


def test_a_stub_fails_level_1_saying_it_is_still_the_stub(tmp_path):
    lines, say = _lines()
    report = exercises.check(exercises.start("conv2d_forward", tmp_path), quick=True, say=say)
    assert report.failed.number == 1
    assert "still the stub; write it" in report.failed.text


# ---------------------------------------------------------------- bad input
BAD = {
    "does not compile": ("def relu_backward(dy, cache)\n    return dy\n",
                         "does not compile: SyntaxError"),
    "no function": ("def relu_back(dy, cache):\n    return dy\n",
                    "the file has no function relu_backward; expected relu_backward(dy, cache)"),
    "other parameters": ("def relu_backward(dy):\n    return dy\n",
                         "relu_backward takes (dy); expected relu_backward(dy, cache)"),
    "wrong shape": ("def relu_backward(dy, cache):\n    return dy[0]\n",
                    "dx has shape (3, 4, 3), expected (2, 3, 4, 3)"),
    "raises": ("def relu_backward(dy, cache):\n    return dy[9, 9, 9, 9]\n",
               "relu_backward raised IndexError: index 9 is out of bounds"),
    "changes dy": ("def relu_backward(dy, cache):\n    dy *= cache.x > 0\n    return dy\n",
                   "relu_backward changed its argument dy in place"),
    "loops forever": ("def relu_backward(dy, cache):\n    while True:\n        pass\n",
                      "relu_backward did not end within 1 s (an endless loop?)"),
    "ends its process": ("import os\ndef relu_backward(dy, cache):\n    os._exit(3)\n",
                         "the learner's process ended during relu_backward (exit status 3"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_fails_level_1_in_one_line(case, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "CALL_TIMEOUT", 1.0)
    source, expected = BAD[case]
    path = tmp_path / "relu_backward.py"
    path.write_text(source)
    assert main(["exercise", "check", str(path), "--quick"]) == 1
    out = capsys.readouterr()
    failing = [line for line in out.out.splitlines() if line.startswith("level 1  FAIL")]
    assert len(failing) == 1 and expected in failing[0], out.out
    assert "Traceback" not in out.out + out.err


def test_exercise_names_the_exercise_of_a_file_named_otherwise(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text(stubs.solution_text(catalogue.get("relu_backward")))
    assert main(["exercise", "check", str(path), "--exercise", "relu_backward",
                 "--level", "1"]) == 0
    assert "as exercise relu_backward" in capsys.readouterr().out
    assert main(["exercise", "check", str(path), "--exercise", "relu", "--level", "1"]) == 2


def test_minicnn_debug_shows_the_tracebacks(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINICNN_DEBUG", "1")
    path = tmp_path / "relu_backward.py"
    path.write_text(BAD["raises"][0])
    assert main(["exercise", "check", str(path), "--level", "1"]) == 1
    out = capsys.readouterr()
    assert 'relu_backward.py", line 2, in relu_backward' in out.err, out.err
    assert BAD["raises"][1] in out.out
    with pytest.raises(exercises.ExerciseError, match="no file"):
        main(["exercise", "check", str(tmp_path / "sigmoid_backward.py")])


def test_an_output_that_is_not_numbers_fails_level_2_saying_so(tmp_path):
    path = tmp_path / "relu_backward.py"
    path.write_text("import numpy as np\n\n\ndef relu_backward(dy, cache):\n"
                    "    dx = dy * (cache.x > 0)\n"
                    "    return dx if len(dy) > 1 else np.full(dy.shape, None)\n")
    lines, say = _lines()
    report = exercises.check(str(path), quick=True, random_cases=False, say=say)
    assert report.failed.number == 2, "\n".join(lines)
    assert "dx is an array of objects, not numbers" in "\n".join(lines)


def test_an_unknown_network_is_a_usage_error(tmp_path):
    path = exercises.start("relu_backward", tmp_path, solution=True)
    with pytest.raises(exercises.ExerciseError, match="network must be one of small, tiny, "
                       "got 'huge'"):
        exercises.check(path, network="huge")


def test_usage_errors_exit_2_in_one_line(tmp_path, capsys):
    assert main(["exercise", "check", str(tmp_path / "relu_backward.py")]) == 2
    assert main(["exercise", "start", "conv3d", "--dir", str(tmp_path)]) == 2
    (tmp_path / "mine.py").write_text("x = 1\n")
    assert main(["exercise", "check", str(tmp_path / "mine.py")]) == 2
    assert main(["exercise", "check", str(tmp_path / "mine.py"), "--level", "5"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 4 and all(e.startswith("minicnn exercise") for e in errors), errors
    assert "no file" in errors[0] and "no exercise 'conv3d'" in errors[1]
    assert "cannot tell the exercise" in errors[2] and "invalid choice: 5" in errors[3]


# ------------------------------------------------------ the command's output
def test_list_start_check_and_list_dir_record_the_progress(tmp_path, capsys):
    assert main(["exercise", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == NAMES
    assert main(["exercise", "start", "sigmoid_backward", "--dir", str(tmp_path),
                 "--solution"]) == 0
    assert main(["exercise", "start", "relu_backward", "--dir", str(tmp_path)]) == 0
    assert main(["exercise", "check", str(tmp_path / "sigmoid_backward.py"), "--quick"]) == 0
    assert main(["exercise", "check", str(tmp_path / "relu_backward.py"), "--quick"]) == 1
    capsys.readouterr()
    assert main(["exercise", "list", "--dir", str(tmp_path)]) == 0
    status = {row.split()[0]: row for row in capsys.readouterr().out.splitlines()[1:]}
    assert "passes level 3" in status["sigmoid_backward"]
    assert "fails level 1" in status["relu_backward"]
    assert "not started" in status["conv2d_forward"]
    with open(tmp_path / "sigmoid_backward.py", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    assert progress.status(tmp_path, catalogue.get("sigmoid_backward")) == \
        "changed since (passes level 3)"
    with open(tmp_path / progress.RECORD, encoding="utf-8") as f:
        assert json.load(f)["sigmoid_backward"]["levels"] == {"1": "pass", "2": "pass",
                                                              "3": "pass"}


def test_solution_names_the_file_and_line(capsys):
    assert main(["exercise", "solution", "softmax_backward"]) == 0
    out = capsys.readouterr().out
    function = stubs.library_function(catalogue.get("softmax_backward"), "softmax_backward")
    where = f"{inspect.getsourcefile(function)}:{inspect.getsourcelines(function)[1]}"
    assert where in out and inspect.getsource(function) in out


# ---------------------------------------------------------- from a notebook
def _helper_scale():
    return 1.0


def sigmoid_grad(dy, cache):
    """A learner's sigmoid backward with a helper and a module alias."""
    return np.asarray(dy) * cache * (_helper_scale() - cache)


def test_a_function_goes_into_the_child_with_its_helpers_and_imports():
    lines, say = _lines()
    assert exercises.check(sigmoid_grad, "sigmoid_backward", quick=True, random_cases=False,
                           say=say), "\n".join(lines)


def test_a_function_that_cannot_go_into_the_child_is_refused_clearly():
    with pytest.raises(exercises.ExerciseError, match="a lambda has no source"):
        exercises.check(lambda dy, cache: dy, "sigmoid_backward")
    scale = 2.0

    def closure(dy, cache):
        return dy * scale
    with pytest.raises(exercises.ExerciseError, match="reads variables of the function"):
        exercises.check(closure, "sigmoid_backward")
    with pytest.raises(exercises.ExerciseError, match="say which exercise"):
        exercises.check(sigmoid_grad)


def test_the_zoo_table_names_real_files_of_real_exercises():
    assert len(zoo.ENTRIES) >= 12
    for entry in zoo.ENTRIES:
        assert os.path.isfile(entry.path) and entry.exercise in NAMES and entry.mistake
