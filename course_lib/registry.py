"""The registry of exercises: which exist, what each is called, and the function that checks it.

What it is: one dictionary from exercise id (``"NN.name"``) to an ``Exercise`` record. The
chapter modules of ``course_lib.check`` fill it (``@exercise("04.timers", "...")`` calls
``register``), and three readers use it: ``check()``, ``progress.show()`` and the grader::

    registry.exercise_ids()         # every exercise of the course: ['00.warmup', '01.bounds', ...]
    registry.exercise_ids("04")     # those of chapter 04
    registry.lookup("04.timers")    # Exercise('04.timers', 'Timers on a heap ...', <function>)
    registry.title("04.timers")     # 'Timers on a heap with a tie-break'

The checks of chapter NN live in the module ``course_lib.check.chNN``, imported the first
time one of its exercises is looked up, the way ``codecs.lookup("utf-8")`` imports
``encodings.utf_8`` (a long chapter module imports its parts, ``chNN_<part>``, and so
registers their checks too). So the registry knows the chapter modules by name and imports none of
them (its one import from the course is ``validate``): whoever needs the list of exercises,
``progress`` included, can import it without making a circle with ``check``.
A course outside this package adds its own checks by importing a module that uses
``@exercise`` (the grader's test fixtures do).

What it is not: the runner. Calling a check, turning what it raises into a hint and printing
the pass line is ``check()``, in ``course_lib/check/__init__.py``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from course_lib import validate

__all__ = ["Exercise", "register", "is_exercise_id", "lookup", "exercise_ids", "title", "snapshot", "restore"]

CHECKS_PACKAGE = "course_lib.check"  # chapter NN's checks: the module course_lib.check.chNN
_CHECKS_DIR = Path(__file__).with_name("check")
_ID = re.compile(r"^(\d\d)\.[a-z0-9_]+$")


class Exercise(NamedTuple):
    """One registered exercise. A tuple, so nobody can change it after it is registered."""

    exercise_id: str
    title: str
    function: Callable  # function(*student_objects, rng, extra) -> summary or None


_exercises: dict[str, Exercise] = {}


def is_exercise_id(value: object) -> bool:
    """True for a string of the form ``"NN.name"`` (two digits, a dot, lower-case letters, digits, _)."""
    return isinstance(value, str) and _ID.match(value) is not None


def register(exercise_id: str, title: str, function: Callable) -> Exercise:
    """Make ``function`` the check of ``exercise_id`` (replacing any earlier one)."""
    if not is_exercise_id(validate.text(exercise_id, "exercise_id")):
        raise ValueError(f"exercise_id must look like '01.makespan', got {exercise_id!r}")
    entry = _exercises[exercise_id] = Exercise(exercise_id, str(title), validate.callback(function, "function"))
    return entry


def _load_chapter(chapter: str) -> None:
    """Import the chapter's check module, if the course has one (its ``@exercise``s register)."""
    name = f"{CHECKS_PACKAGE}.ch{chapter}"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:  # the module exists but something it imports does not
            raise


def lookup(exercise_id: str) -> Exercise:
    """The exercise ``exercise_id``, loading its chapter's checks if needed; ``LookupError`` if none."""
    if not is_exercise_id(exercise_id):
        raise LookupError(f"{exercise_id!r} is not an exercise id like '01.makespan'")
    if exercise_id not in _exercises:
        _load_chapter(exercise_id[:2])
    if exercise_id not in _exercises:
        raise LookupError(f"there is no exercise {exercise_id!r}")
    return _exercises[exercise_id]


def exercise_ids(chapter: str | None = None) -> list[str]:
    """Every exercise id, sorted: of the whole course, or of one chapter (``"04"``)."""
    if chapter is None:
        for path in sorted(_CHECKS_DIR.glob("ch[0-9][0-9].py")):
            _load_chapter(path.stem[2:])
        return sorted(_exercises)
    _load_chapter(chapter)
    return sorted(e for e in _exercises if e[:2] == chapter)


def title(exercise_id: str) -> str:
    """The exercise's title ("" if it was registered without one)."""
    return lookup(exercise_id).title


def snapshot() -> dict[str, Exercise]:
    """A copy of what is registered now (imports nothing): the grader keeps it before student code runs."""
    return dict(_exercises)


def restore(saved: dict[str, Exercise]) -> None:
    """Register exactly the exercises of ``saved`` again: the grader's undo of a student's changes."""
    _exercises.clear()
    _exercises.update(saved)
