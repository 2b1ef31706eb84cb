"""Programs of callbacks for chapter 04's checks, written once and run on any loop.

What it is: a *program* is a function ``program(loop, log)`` that schedules callbacks with
asyncio's names (``call_soon``, ``call_later``) and calls ``log(name)`` when each one runs.
The same program runs on the student's minimal loop, on the course's ``Loop()`` and on
asyncio itself (``course_lib.virtualclock``), so their orders and times can be compared.

- ``random_program(rng, size)`` a random plan: which callback schedules which, how, and
  when; many timers share a deadline, to test the tie-break. ``program_from_plan(plan)``
  turns the plan into a program, ``describe(plan, name)`` says in words where a callback
  came from, and ``show_plan(plan)`` writes a (shrunk) plan in one line, for a hint.
- ``predict_program`` the fixed program of exercise 04.predict (the notebook shows it).

What it is not: a loop. It only schedules; whichever loop it is given runs it.
"""

from __future__ import annotations

__all__ = ["random_program", "program_from_plan", "describe", "show_plan", "predict_program"]

DELAYS = [0, 0.5, 1, 1, 1, 1.5, 2]  # dyadic numbers: sums are exact floats, so ties stay ties


def random_program(rng, size: int) -> list:
    """A random plan ``[(parent, kind, delay, name), ...]``: ``name`` is scheduled by ``parent``
    (``None``: before the run) with ``call_soon`` (``kind == "soon"``) or ``call_later(delay)``."""
    names = [chr(ord("a") + i) for i in range(size)]
    plan = []
    for i, name in enumerate(names):
        parent = None if i < 3 or rng.random() < 0.15 else names[rng.randrange(i)]
        kind = "soon" if rng.random() < 0.3 else "later"
        plan.append((parent, kind, rng.choice(DELAYS) if kind == "later" else None, name))
    return plan


def describe(plan, name: str) -> str:
    """``'d' (scheduled with call_later(1) by 'c')``: where a callback of the plan came from."""
    for parent, kind, delay, child in plan:
        if child == name:
            how = "call_soon" if kind == "soon" else f"call_later({delay:g})"
            return f"{name!r} (scheduled with {how} {'before the run' if parent is None else f'by {parent!r}'})"
    return repr(name)


def show_plan(plan) -> str:
    """``a: soon; b: later(1); c: later(0) by a``: a plan in one line."""
    parts = []
    for parent, kind, delay, child in plan:
        how = "soon" if kind == "soon" else f"later({delay:g})"
        parts.append(f"{child}: {how}" + (f" by {parent}" if parent is not None else ""))
    return "; ".join(parts)


def program_from_plan(plan):
    """``program(loop, log)`` that schedules callbacks as ``plan`` says."""

    def program(loop, log):
        def make(name):
            def callback():
                log(name)
                for parent, kind, delay, child in plan:
                    if parent == name:
                        schedule(child, kind, delay)

            callback.__name__ = callback.__qualname__ = name
            return callback

        def schedule(child, kind, delay):
            if kind == "soon":
                loop.call_soon(make(child))
            else:
                loop.call_later(delay, make(child))

        for parent, kind, delay, child in plan:
            if parent is None:
                schedule(child, kind, delay)

    return program


def predict_program(loop, log):
    """The program of exercise 04.predict (the notebook shows the same code)."""

    def A():
        log("A")
        loop.call_soon(C)
        loop.call_later(0, D)

    def B():
        log("B")
        loop.call_later(1, E)

    def C():
        log("C")
        loop.call_soon(F)

    def D():
        log("D")

    def E():
        log("E")

    def F():
        log("F")

    def G():
        log("G")

    loop.call_later(1, G)
    loop.call_soon(A)
    loop.call_soon(B)
