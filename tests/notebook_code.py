"""Run a notebook's own cells in a test: the given code and the answers, never a copy of them.

    from notebook_code import definitions
    sol = definitions("solutions/04_event_loop_callbacks", "setup", "ready_loop", "timers_answer")
    sol.TimerLoop        # the solution's class, on the ReadyLoop the notebook gives
    blank = definitions("exercises/04_event_loop_callbacks", "setup", "ready_loop", "timers_answer")
    blank.TimerLoop      # the student's stub of it: raises NotImplementedError

A cell is named by its nbgrader ``grade_id`` (every cell of a solution or an exercise has one)
or by a function or class that it alone defines (``"Loop1"``: a lecture's cells have no
grade_id); ``"setup"`` is a lecture's first code cell, its imports. ``cells`` runs the named
cells whole, in the order given, in one fresh module; ``definitions`` runs only their imports,
functions and classes, and leaves out the statements that demonstrate them (a server started,
a measurement printed). Both return that module.
Line magics (``%matplotlib inline``) are skipped: they only set up the notebook's front end.

It reads the stored notebooks; tests/test_sources.py proves they equal their sources. It is
not a kernel: display(), widgets and magics are not there (tests that need a kernel use nbclient).
"""

from __future__ import annotations

import ast
import functools
import itertools
import linecache
import re
import sys
import types
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DEFINES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
KEPT_BY_DEFINITIONS = (ast.Import, ast.ImportFrom, *DEFINES)
_runs = itertools.count()


@functools.lru_cache(maxsize=None)
def _read(notebook: str) -> nbformat.NotebookNode:
    path = ROOT / (notebook if notebook.endswith(".ipynb") else f"{notebook}.ipynb")
    return nbformat.read(path, as_version=4)


def _code(cell) -> str:
    return "\n".join("" if line.startswith("%") else line for line in cell.source.splitlines())


def _defines(cell) -> set[str]:
    tree = ast.parse(_code(cell))
    return {node.name for node in tree.body if isinstance(node, DEFINES)}


def find(notebook: str, name: str):
    """The code cell of ``notebook`` whose grade_id is ``name``, or the one cell that defines ``name``.
    The setup cell is the first code cell."""
    code = [c for c in _read(notebook).cells if c.cell_type == "code"]
    graded = [c for c in code if c.metadata.get("nbgrader", {}).get("grade_id") == name]
    if graded:
        return graded[0]
    if name == "setup":  # a lecture's setup is its first code cell (docs/DEVELOPING.md)
        return code[0]
    defining = [c for c in code if name in _defines(c)]
    if len(defining) == 1:
        return defining[0]
    if defining:
        raise LookupError(
            f"{name!r} is defined in cells {[c.id for c in defining]} of {notebook}; name the cell by grade_id"
        )
    raise LookupError(f"no cell of {notebook} has grade_id {name!r} or defines {name!r}")


def _run(notebook: str, names: tuple[str, ...], whole: bool) -> types.ModuleType:
    if not names:
        raise ValueError("name at least one cell")
    module_name = "notebook_" + re.sub(r"\W", "_", notebook) + f"_{next(_runs)}"
    module = types.ModuleType(module_name, f"cells {', '.join(names)} of {notebook}")
    sys.modules[module_name] = module  # for code that looks its module up (dataclasses, pickle)
    for name in names:
        cell = find(notebook, name)
        source = _code(cell)
        tree = ast.parse(source)
        if not whole:
            tree.body = [node for node in tree.body if isinstance(node, KEPT_BY_DEFINITIONS)]
        filename = f"<{notebook} cell {cell.id}: {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # tracebacks show the lines
        exec(compile(tree, filename, "exec"), module.__dict__)
    return module


def cells(notebook: str, *names: str) -> types.ModuleType:
    """Run the named cells of ``notebook`` (e.g. "solutions/03_threads") whole, in one fresh module."""
    return _run(notebook, names, whole=True)


def definitions(notebook: str, *names: str) -> types.ModuleType:
    """Run only the imports, functions and classes of the named cells, in one fresh module."""
    return _run(notebook, names, whole=False)
