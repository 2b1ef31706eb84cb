"""course_lib's import graph: no circles, and every module imports on its own.

The graph is read with ``ast`` from the source (nothing is imported to draw it): an edge
A -> B for every ``import`` of a course_lib module B anywhere in A, at the top or inside a
function (an import deferred into a function to dodge a circle is still a circle). A
module that imports another that imports it back, directly or around a longer loop, is a
cycle. Imports that name a module in a string (``importlib.import_module``) are not seen.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_lib"

# Circles that exist today and are being removed elsewhere. This set may only shrink: a new
# circle fails the first test below, a circle that is gone fails the second until its entry
# is deleted here. check <-> progress: check records a pass in progress, progress asks check
# which exercises exist (being fixed with the check/ restructuring).
KNOWN_CYCLES: set = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _existing(name: str) -> str:
    """The deepest course_lib module that ``name`` names (``course_lib.check.check`` -> ``course_lib.check``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_in(source: str, name: str, is_package: bool = False) -> set[str]:
    """The course_lib modules that ``source`` (the code of module ``name``) imports, anywhere in it."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from ..pkg import y
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names]  # a submodule, or a name in base
        else:
            continue
        found.update(t for t in map(_existing, targets) if t and t != name)
    return found


def imports_of(name: str) -> set[str]:
    path = MODULES[name]
    return imports_in(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> set[tuple]:
    """Each set of modules that import each other around a loop (a strongly connected component), sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), set()

    def visit(v):  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_sees_imports_of_every_form():
    graph = import_graph()
    assert "course_lib.segments" in graph["course_lib.models"]          # from course_lib.segments import ...
    assert "course_lib.validate" in graph["course_lib.models"]          # from course_lib import validate
    assert "course_lib.models" in graph["course_lib.timeline"]
    assert graph["course_lib.segments"] == set()                        # the data imports nothing of ours
    source = ("import os\nimport course_lib.loop\nfrom .. import models\nfrom . import base\n"
              "from ..check import check\ndef later():\n    from course_lib.timeline import plot_timeline\n")
    assert imports_in(source, "course_lib.pollers.epoll_poller") == {
        "course_lib.loop", "course_lib.models", "course_lib.pollers.base", "course_lib.check", "course_lib.timeline"}
    assert imports_in("from . import base", "course_lib.pollers", is_package=True) == {"course_lib.pollers.base"}
    assert imports_in("from . import models", "course_lib.timeline") == {"course_lib.models"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {("a", "b", "c")}
    assert cycles({"a": {"b"}, "b": set()}) == set()


def test_no_new_import_circles():
    new = cycles(import_graph()) - KNOWN_CYCLES
    assert not new, "modules that import each other (break the circle: move what both need into a third module): " + \
        "; ".join(" <-> ".join(c) for c in sorted(new))


def test_known_circles_are_still_there_or_removed_from_the_list():
    gone = KNOWN_CYCLES - cycles(import_graph())
    assert not gone, f"these circles are gone: delete them from KNOWN_CYCLES in {Path(__file__).name}: {sorted(gone)}"


def test_drawing_is_apart_from_the_data():
    """Whoever makes timelines imports the data module, never the drawing one."""
    graph = import_graph()
    for name in ["course_lib.models", "course_lib.tracer", "course_lib.threadsim", "course_lib.triggers",
                 "course_lib.loop"]:
        assert "course_lib.timeline" not in graph[name], f"{name} imports the drawing module"
        assert "course_lib.widgets" not in graph[name], f"{name} imports the Stepper"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.endswith("__main__")))
def test_each_module_imports_alone_in_a_fresh_interpreter(name):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
