"""Shrink a failing random case to a small one that still fails, before a hint quotes it.

What it is: the counterexample shrinker of the checks. A check that feeds random lists to a
student's code (workloads, programs of callbacks, bursts of arrivals) may find a failing
case of 17 steps; a student learns more from the 2 of them that matter. As property-testing
tools do (Hypothesis, QuickCheck), ``shrink`` tries smaller variants of the case and keeps
each one that still fails::

    case = shrink(case, lambda c: problem(c) is not None, simpler=simpler_task, minimum=1)
    raise CheckFailed(problem(case))

or, when a check tests one case with a function that raises ``CheckFailed``::

    for tasks in cases:
        smallest_failure(lambda ts: one_case(student_function, ts), tasks, simpler=simpler_task, minimum=1)

which returns if the case passes, and otherwise raises the failure of the smallest case found.

1. Remove items, in the manner of delta debugging: halves, then quarters, ... then single
   items, keeping every removal after which the case still fails (at least ``minimum``
   items are kept).
2. Simplify items one by one: ``simpler(item)`` yields simpler versions of an item (a task
   with one step fewer, a shorter delay); the first that still fails replaces it. Then
   step 1 again, until nothing changes.

``fails(case)`` must be deterministic (seed any randomness the case needs from the case
itself), and it may raise: an exception counts as a failure. At most ``budget`` variants are
tried, so a slow ``fails`` cannot make a check slow.

What it is not: a search for the smallest case of all (that can take exponential time). The
result is *locally* minimal: removing any one item, or simplifying any one item, passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["shrink", "smallest_failure"]


class _Budget:
    def __init__(self, fails: Callable, budget: int):
        self.fails, self.left = fails, budget

    def __call__(self, case: list) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        try:
            return bool(self.fails(case))
        except Exception:  # the student's code raised: that is a failure too
            return True


def _remove(case: list, fails: _Budget, minimum: int) -> list:
    size = max(1, len(case) // 2)
    while size >= 1 and fails.left > 0:
        start = 0
        while start < len(case) and len(case) - size >= minimum:
            candidate = case[:start] + case[start + size:]
            if fails(candidate):
                case = candidate  # keep the removal; try the same place again
            else:
                start += size
        size //= 2
    return case


def _simplify(case: list, fails: _Budget, simpler: Callable[[object], Iterable]) -> tuple[list, bool]:
    changed = False
    for i in range(len(case)):
        for variant in simpler(case[i]):
            if fails.left <= 0:
                return case, changed
            candidate = case[:i] + [variant] + case[i + 1:]
            if fails(candidate):
                case, changed = candidate, True
                break
    return case, changed


def shrink(case, fails: Callable[[list], bool], *, simpler: Callable | None = None, minimum: int = 0,
           budget: int = 300) -> list:
    """A smaller list than ``case`` on which ``fails`` is still true (``case`` itself if none is found)."""
    case = list(case)
    tries = _Budget(fails, budget)
    while True:
        case = _remove(case, tries, minimum)
        if simpler is None:
            return case
        case, changed = _simplify(case, tries, simpler)
        if not changed or tries.left <= 0:
            return case


def _raises(check_case: Callable, case: list) -> bool:
    try:
        check_case(case)
    except Exception:
        return True
    return False


def smallest_failure(check_case: Callable[[list], object], case, *, at_once: tuple = (), **options) -> None:
    """Run ``check_case(case)``; if it raises, raise what it raises on the smallest failing case found.

    ``NotImplementedError`` (a blank answer) and the exception types in ``at_once`` (say, a
    time-out: shrinking would wait for each one) are raised at once, unshrunk. ``options``
    are ``shrink``'s (``simpler``, ``minimum``, ``budget``)."""
    try:
        check_case(list(case))
        return
    except (NotImplementedError, *at_once):
        raise
    except Exception:
        pass
    small = shrink(case, lambda c: _raises(check_case, c), **options)
    check_case(small)  # raises the small case's failure
    check_case(list(case))  # only if the small case passed this time (a flaky answer): the original failure
