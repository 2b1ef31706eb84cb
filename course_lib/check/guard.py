"""Notice when a student's answer runs code the exercise asks them to write themselves.

What it is: a context manager for checks::

    with Refuse(models, hint="write it yourself: don't call the course's run_* models"):
        got = sequential_time(tasks)          # CheckFailed(hint) on exit if models' code ran

While the block runs, a profile hook (``sys.setprofile``, and ``threading.setprofile`` for
threads started meanwhile) looks at every Python function called and notes one that is

- defined in a refused module or package: the test is the file its code came from, so it
  holds however the student reached it: under another name, after ``importlib.reload``,
  through a copied ``__code__``, or from a module loaded twice;
- named in ``names`` (``call_soon``: any loop at all, even one of the student's own).

On leaving the block, the check fails with ``hint`` if anything was noted. The student's
code is not interrupted: it runs to its end, and the check then answers with the hint.

For an exercise that asks for a class, ``own_work(answer, course_class, what, where)`` is the
plainer test: it fails if the answer is, extends or holds an instance of the course's own
``course_class`` (chapter 07's parser, keyspace and handler).

What it is not: a sandbox. Code the student pasted from the course's modules into a cell
has a file of its own, a subprocess is not watched, and a program can turn the hook off.
It catches the natural shortcuts, so the hint can teach.
"""

from __future__ import annotations

import os
import sys
import threading
import types

from course_lib.check import CheckFailed, expect

__all__ = ["Refuse", "own_work"]


def _where(module: types.ModuleType) -> str:
    """The file of a module, or the folder of a package (with a trailing separator)."""
    path = os.path.realpath(module.__file__)
    if os.path.basename(path) == "__init__.py":
        return os.path.dirname(path) + os.sep
    return path


class Refuse:
    """Fail the check (``CheckFailed(hint)``) if code of ``modules`` or a function in ``names`` runs."""

    def __init__(self, *modules: types.ModuleType, names=(), hint: str):
        places = [_where(m) for m in modules]
        self.files = {p for p in places if not p.endswith(os.sep)}
        self.folders = tuple(p for p in places if p.endswith(os.sep))
        self.names = frozenset(names)
        self.hint = hint
        self.seen: str | None = None  # "module.function" of the first refused call
        self._known: dict[str, bool] = {}  # filename -> refused? (the hook runs on every call)
        self._watching = False  # threads started in the block keep the hook; it is idle after the block

    def _refused(self, code: types.CodeType) -> bool:
        if code.co_name in self.names:
            return True
        filename = code.co_filename
        known = self._known.get(filename)
        if known is None:
            path = os.path.realpath(filename) if os.path.isabs(filename) else filename
            known = self._known[filename] = path in self.files or path.startswith(self.folders)
        return known

    def _hook(self, frame, event, arg):
        if event == "call" and self._watching and self.seen is None and self._refused(frame.f_code):
            self.seen = f"{os.path.basename(frame.f_code.co_filename)}: {frame.f_code.co_name}"

    def __enter__(self) -> "Refuse":
        self._saved = sys.getprofile(), threading.getprofile()
        sys.setprofile(self._hook)
        threading.setprofile(self._hook)
        self._watching = True
        return self

    def __exit__(self, kind, error, tb) -> bool:
        self._watching = False
        sys.setprofile(self._saved[0])
        threading.setprofile(self._saved[1])
        if self.seen is not None:
            raise CheckFailed(self.hint) from None
        return False


def own_work(cls_or_obj, course_class, what: str, where: str) -> None:
    """Fail if the answer is, extends or holds the course's own ``course_class``: the exercise asks for it."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    held = [] if isinstance(cls_or_obj, type) else list(getattr(cls_or_obj, "__dict__", {}).values())
    expect(not (issubclass(cls, course_class) or any(isinstance(v, course_class) for v in held)),
           f"this exercise asks you to write {what} yourself: don't reuse {where}")
