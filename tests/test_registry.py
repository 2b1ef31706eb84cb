"""The registry of exercises: its public surface, and that it closes no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from course_lib import registry

ROOT = Path(__file__).resolve().parents[1]


def test_every_chapter_s_exercises_are_listed_sorted_and_titled():
    ids = registry.exercise_ids()
    assert ids == sorted(ids) and {"00.warmup", "04.timers", "05.echo"} <= set(ids)
    assert registry.exercise_ids("04") == ["04.chunks", "04.client", "04.predict", "04.timers"]
    assert registry.title("04.timers") == "Timers on a heap with a tie-break"
    entry = registry.lookup("05.echo")
    assert entry.exercise_id == "05.echo" and entry.function.__name__ == "check_echo"


def test_lookup_refuses_unknown_and_malformed_ids():
    with pytest.raises(LookupError, match="no exercise '04.nothing'"):
        registry.lookup("04.nothing")
    with pytest.raises(LookupError, match="not an exercise id"):
        registry.lookup("timers")
    assert registry.exercise_ids("98") == []
    assert registry.is_exercise_id("04.timers") and not registry.is_exercise_id("4.timers")
    assert not registry.is_exercise_id(4.1)


def test_register_checks_its_arguments():
    with pytest.raises(ValueError, match="exercise_id must look like"):
        registry.register("ninety-nine", "", print)
    with pytest.raises(TypeError, match="exercise_id must be a string"):
        registry.register(99, "", print)
    with pytest.raises(TypeError, match="function must be callable"):
        registry.register("99.bad", "", "not a function")


def test_entries_cannot_change_and_restore_undoes_any_change_to_the_registry():
    saved = registry.snapshot()
    entry = registry.lookup("00.warmup")
    with pytest.raises(AttributeError):
        object.__setattr__(entry, "function", print)  # a tuple: not even this way
    registry.register("00.warmup", "fake", lambda *a, **k: None)
    registry.register("99.extra", "", lambda *a, **k: None)
    registry.restore(saved)
    assert registry.lookup("00.warmup") is entry and "99.extra" not in registry.snapshot()


def _imports(path: Path) -> set[str]:
    """The course_lib modules a file imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_lib"):
            found |= {f"{node.module}.{a.name}" if node.module == "course_lib" else node.module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("course_lib")}
    return found


def test_check_progress_and_registry_import_in_one_direction():
    """check -> progress -> registry, check -> registry; nothing back (the old check <-> progress circle)."""
    registry_imports = _imports(ROOT / "course_lib" / "registry.py")
    progress_imports = _imports(ROOT / "course_lib" / "progress.py")
    assert registry_imports <= {"course_lib.validate"}
    assert progress_imports == {"course_lib.registry"}
    assert {"course_lib.progress", "course_lib.registry"} <= _imports(ROOT / "course_lib" / "check" / "__init__.py")
