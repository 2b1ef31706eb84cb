"""Exercise checks: ``check("NN.name", *objects)`` drives a student's code and answers.

What it is: the runner of the exercise checks. ``check`` looks the exercise up in the
registry (``course_lib.registry``), calls its check function with the student's objects, and

- on success prints one line (``✔ 01.makespan passed: ...``), notes the pass in the
  student's progress (``course_lib.progress``; not from a notebook of ``solutions/``) and
  returns ``None``;
- on failure raises ``CheckFailed`` whose message is one short hint. Jupyter shows
  only that hint (no traceback), while nbclient, nbval and nbgrader still see an
  error, so an automatic grader counts it as a failed test.

Writing a check. The checks of chapter NN live in ``course_lib/check/chNN.py``, one
function per exercise, named after it: the check of ``"04.timers"`` is ``check_timers``,
registered with ``@exercise("04.timers", "Title")``; a long chapter keeps its checks in
parts, ``chNN_<part>.py``, that ``chNN.py`` imports (``ch07_protocol``, ``ch07_server``).
Nothing else in ``course_lib`` is called ``check_...``: argument checks are
``course_lib.validate``'s, and a check's helpers are private (``_name``). A check
function receives the student's objects as positional arguments and two keyword
arguments: ``rng`` (a seeded ``random.Random``, so a failing case can be reproduced) and
``extra`` (``True`` when the grader asks for the hidden extra cases). It fails with
``expect(condition, hint)`` or ``raise CheckFailed(hint)``, and may return a short
summary string for the pass line. To call student code that might never return, use
``course_lib.check.timeout.run_in_thread``.

What it is not: a comparison of printed text. Checks call the student's functions,
feed them random inputs and test properties of what comes back.
"""

from __future__ import annotations

import random
import traceback
import zlib
from dataclasses import dataclass
from typing import Callable

from course_lib import progress, registry

__all__ = ["check", "CheckFailed", "exercise", "expect", "results", "CheckResult"]


class CheckFailed(Exception):
    """A check did not pass. ``str(error)`` is the hint for the student."""

    def __init__(self, hint: str, exercise_id: str | None = None):
        super().__init__(hint)
        self.hint = hint
        self.exercise_id = exercise_id

    def __str__(self) -> str:
        prefix = f"{self.exercise_id}: " if self.exercise_id else ""
        return prefix + self.hint

    def _render_traceback_(self):
        # IPython calls this instead of printing a traceback: the student sees the hint only.
        return [f"\x1b[1;31m✘ CheckFailed\x1b[0m {self}"]


@dataclass(frozen=True)
class CheckResult:
    exercise_id: str
    passed: bool
    message: str


results: list[CheckResult] = []  # every check run in this process, in order


def exercise(exercise_id: str, title: str = ""):
    """Register the decorated function as the check of ``exercise_id`` (``"NN.name"``)."""

    def register(function: Callable) -> Callable:
        registry.register(exercise_id, title, function)
        return function

    return register


def expect(condition: object, hint: str) -> None:
    """Fail the running check with ``hint`` unless ``condition`` is true."""
    if not condition:
        raise CheckFailed(hint)


def _find(exercise_id: object) -> registry.Exercise:
    """The exercise, or ``CheckFailed`` with a hint when there is none of that name."""
    if not registry.is_exercise_id(exercise_id):
        raise CheckFailed(f"the first argument of check() is an exercise id like '01.makespan', got {exercise_id!r}")
    try:
        return registry.lookup(exercise_id)
    except LookupError:
        same_chapter = registry.exercise_ids(exercise_id[:2])
        known = ", ".join(same_chapter) or "none"
        raise CheckFailed(f"there is no exercise {exercise_id!r}; this chapter has {known}") from None


def _seed(exercise_id: str) -> int:
    return zlib.crc32(exercise_id.encode())


def _where(tb) -> str:
    """Point at the innermost frame of the student's code (outside course_lib)."""
    package_dir = __file__.rsplit("course_lib", 1)[0] + "course_lib"
    frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(package_dir)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (in {frame.name}, line {frame.lineno})"


def check(exercise_id: str, *objects, extra: bool = False, seed: int | None = None) -> None:
    """Run the checks of ``exercise_id`` against the student's ``objects``."""
    try:
        entry = _find(exercise_id)
    except CheckFailed as failure:
        results.append(CheckResult(str(exercise_id), False, failure.hint))
        raise CheckFailed(failure.hint) from None
    rng = random.Random(_seed(exercise_id) if seed is None else seed)
    try:
        summary = entry.function(*objects, rng=rng, extra=extra)
    except CheckFailed as failure:
        hint = failure.hint
    except NotImplementedError:
        hint = "not written yet: replace `raise NotImplementedError()` with your code, run that cell, then this one."
    except RecursionError:
        hint = ("your code recursed without end (RecursionError): look for a function that calls itself "
                "or a callback that reschedules itself at once.")
    except Exception as error:  # the student's code raised: name it, don't dump a traceback
        message = str(error).splitlines()[0][:200] if str(error) else ""
        said = f": {message}" if message else ""
        hint = f"your code raised {type(error).__name__}{said}{_where(error.__traceback__)}"
    else:
        results.append(CheckResult(exercise_id, True, summary or ""))
        note = _note_pass(exercise_id)
        print(f"✔ {exercise_id} passed" + (f": {summary}" if summary else "") + note)
        return None
    results.append(CheckResult(exercise_id, False, hint))
    raise CheckFailed(hint, exercise_id) from None


def _note_pass(exercise_id: str) -> str:
    """Record the pass in the student's progress; what to add to the pass line ("" mostly)."""
    try:
        if progress.solution_notebook():
            return " (a solution notebook: not counted in your progress)"
        progress.record(exercise_id)
    except Exception:  # progress is a convenience; never let it fail a check
        pass
    return ""
