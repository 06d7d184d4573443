"""The package's structure, as docs/architecture.md states it.

- The command line only parses, calls the library and prints: no module of
  minicnn outside minicnn/cli (and minicnn/__main__.py, which runs it)
  imports minicnn.cli, and no example or Python code block of the docs does.
- No import inside a function to dodge an import circle: every import of
  minicnn/ is at the top of its module, except those of optional
  dependencies, listed below with the reason.
- ``import minicnn.pretrained`` loads no plotting library.

Imports are read from the source with ``ast``, so a test fails with the
file and line of the import that breaks the rule.
"""
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "minicnn"

# (file, imported module): imports deferred on purpose, each of an optional
# dependency, so that minicnn imports and runs where it is missing.
OPTIONAL_IMPORTS = {
    ("minicnn/_threads.py", "numba"),           # the numpy backend runs without Numba
    ("minicnn/backend.py", "numba"),
    ("minicnn/backend.py", "llvmlite"),         # comes with Numba
    ("minicnn/data/synth.py", "._synth_kernel"),  # a Numba kernel
    ("minicnn/models/saving.py", "h5py"),       # only for Keras's .weights.h5 files
}


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node, module):
    """The absolute names an Import / ImportFrom node of `module` brings in."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:                  # relative: the module's package, then up level - 1
        package = module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        prefix = ".".join(package + ([node.module] if node.module else []))
    else:
        prefix = node.module
    return [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]


def _imports(path):
    """(line, absolute imported names, inside a function) for each import."""
    module = _module_name(path)
    if path.name == "__init__.py":
        module += ".__init__"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for function in [tree] + [n for n in ast.walk(tree)
                              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append((node.lineno, _imported(node, module), function is not tree))
    return found


def _uses_cli(names):
    return any(name == "minicnn.cli" or name.startswith("minicnn.cli.") for name in names)


def test_no_library_module_imports_the_command_line():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("minicnn/cli/") or relative == "minicnn/__main__.py":
            continue
        offenders += [f"{relative}:{line}" for line, names, _ in _imports(path)
                      if _uses_cli(names)]
    assert not offenders, f"library modules importing minicnn.cli: {offenders}"


def _code_blocks():
    """(where, Python source) of every example and every ```python block."""
    for path in sorted((ROOT / "examples").glob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
                 ROOT / "examples" / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for k, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S)):
            yield f"{path.relative_to(ROOT).as_posix()} block {k + 1}", block


@pytest.mark.parametrize("where, source", list(_code_blocks()),
                         ids=[where for where, _ in _code_blocks()])
def test_examples_and_docs_use_the_library_not_the_command_line(where, source):
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
            names = _imported(node, "example")
            assert not _uses_cli(names), f"{where}:{node.lineno} imports {names[0]}"


def test_every_import_is_at_the_top_of_its_module():
    inside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for line, names, in_function in _imports(path):
            node_module = names[0]
            if in_function and not any(
                    relative == file and (node_module == name or node_module.endswith(name))
                    for file, name in OPTIONAL_IMPORTS):
                inside.append(f"{relative}:{line} imports {node_module}")
    assert not inside, f"imports inside functions: {inside}"


def test_the_checks_read_relative_imports_right():
    """The two checks above see what they are meant to (else they prove nothing)."""
    init, cli = PACKAGE / "segmentation" / "__init__.py", PACKAGE / "cli" / "train.py"
    assert any("minicnn.segmentation.card" in names for _, names, _ in _imports(init))
    assert any("minicnn.segmentation" in names for _, names, _ in _imports(cli))
    assert any(inside for _, names, inside in _imports(PACKAGE / "models" / "saving.py")
               if "h5py" in names)


def test_importing_the_pretrained_model_loads_no_plotting_and_no_command_line():
    code = ("import json, sys, minicnn.pretrained, minicnn.segmentation; "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] == 'matplotlib' or m.startswith('minicnn.cli'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
