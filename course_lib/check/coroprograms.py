"""Programs of coroutines for chapter 06's checks, written once and run on any loop.

What it is: a *program* is a small plan of tasks, ``(("sleep", 0.5), ("sleep0",)), (("await", 0),)``:
one tuple of actions per task. ``run(plan, ...)`` turns it into coroutines and runs them,
either on the course ``Loop()`` with the student's piece (their ``Task`` class, their
``sleep``) or on asyncio itself on a virtual clock (``course_lib.virtualclock``), and returns
the log: ``[(event, time), ...]``. Equal logs mean the same order at the same times.

The actions of a task, each logged when it is over:

- ``("sleep", d)``: ``await sleep(d, k)`` (``k`` is the action's number, returned by sleep);
- ``("sleep0",)``: ``await sleep(0)``, which lets every other ready task run once;
- ``("await", j)``: await task ``j`` (always a later one: no task waits for itself);
- ``("future", d)``: await a future that a timer sets ``d`` seconds later;
- ``("cancel", j)``: cancel task ``j`` (which logs that it was cancelled, and ends);
- ``("raise",)``: raise ``ValueError``; whoever awaits the task logs it.

``random_plan(rng, size, kinds)`` makes one, ``describe(plan)`` says it in one short line for
a hint (``T0: sleep(0.5), sleep(0) · T1: await T0``). Delays are quarters of a second, exact
floats, so many deadlines tie and test the order of equal deadlines. A check shrinks a failing
plan (``course_lib.check.shrink``: fewer tasks, ``simpler_task``: fewer actions); ``tidy(plan)``
then drops the actions whose task is gone, so every shrunk plan is a program that can run.

``compare(program, got, want, topic)`` fails (``CheckFailed``) at the first event where a log
differs from asyncio's, naming the program, both events and a hint; ``compare_in_time`` does
the same where the events of one moment may come in any order.

How a check runs the student's program: ``run_student(run, *args, what=...)`` calls ``run`` in a
helper thread and raises ``Hung`` (a ``CheckFailed``) when it has not finished within 5 s;
``shrunk(one_case, case, ...)`` is ``shrink.smallest_failure`` that never retries a ``Hung``
(each try would wait as long); ``escaped(loop)`` says in a few words which exception a callback
let escape into the loop.

What it is not: a check. ``course_lib.check.ch06`` (its parts ``ch06_tasks`` and ``ch06_sockets``)
decides which difference gets which hint.
"""

from __future__ import annotations

import asyncio

from course_lib import virtualclock
from course_lib.check import CheckFailed
from course_lib.check.shrink import smallest_failure
from course_lib.check.timeout import run_in_thread
from course_lib.loop import Loop

__all__ = ["quiet_loop", "random_plan", "tidy", "simpler_task", "describe", "run", "run_on_asyncio",
           "first_difference", "show", "close", "short",
           "compare", "compare_in_time", "Hung", "run_student", "shrunk", "escaped"]

DELAYS = (0.25, 0.5, 0.5, 1.0, 1.0, 1.5)


def random_plan(rng, size: int, kinds=("sleep", "sleep0", "await", "future", "raise")) -> tuple:
    """``size`` tasks of 0 to 3 actions each, drawn from ``kinds``."""
    plan = []
    for i in range(size):
        actions = []
        for _ in range(rng.randint(0 if i else 1, 3)):
            possible = [k for k in kinds if k not in ("await", "cancel")  # a task awaits a later one, cancels another
                        or size > 1 and (k == "cancel" or i < size - 1)]
            kind = rng.choice(possible)
            if kind in ("sleep", "future"):
                actions.append((kind, rng.choice(DELAYS)))
            elif kind == "await":
                actions.append((kind, rng.randrange(i + 1, size)))
            elif kind == "cancel":
                actions.append((kind, rng.choice([j for j in range(size) if j != i])))
            else:
                actions.append((kind,))
            if kind == "raise":
                break  # nothing after a raise would run
        plan.append(tuple(actions))
    return tuple(plan)


def tidy(plan) -> list:
    """``plan`` as lists, without the actions that cannot run: awaiting oneself or an earlier task
    (which could wait in a circle), cancelling oneself or a task that is not there, what follows
    a raise."""
    tidied = []
    for i, actions in enumerate(plan):
        kept = []
        for action in actions:
            if action[0] == "await" and not i < action[1] < len(plan):
                continue
            if action[0] == "cancel" and not (0 <= action[1] < len(plan) and action[1] != i):
                continue
            kept.append(tuple(action))
            if action[0] == "raise":
                break
        tidied.append(kept)
    return tidied


def simpler_task(actions):
    """The task with one action fewer, for each of its actions (what ``shrink`` tries)."""
    for k in range(len(actions)):
        yield list(actions[:k]) + list(actions[k + 1:])


def _action(action) -> str:
    kind = action[0]
    if kind in ("await", "cancel"):
        return f"{kind} T{action[1]}"
    if kind == "sleep0":
        return "sleep(0)"
    return f"{kind}({action[1]:g})" if len(action) > 1 else kind


def describe(plan) -> str:
    """``T0: sleep(0.5), sleep(0) · T1: await T0``"""
    return " · ".join(f"T{i}: {', '.join(map(_action, actions)) or 'return'}" for i, actions in enumerate(plan))


def show(event) -> str:
    """``'T1 slept' at t=0.5``"""
    return f"{event[0]!r} at t={event[1]:g}" if event else "nothing"


def short(text: str, limit: int = 110) -> str:
    """``text``, cut to ``limit`` characters with "..." (hints stay on one short line)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare(program: str, got: list, want: list, topic) -> None:
    """Fail with the first event where ``got`` and asyncio's ``want`` differ, and a hint about it."""
    i = first_difference(got, want)
    if i is None:
        return
    g, w = (got[i] if i < len(got) else None), (want[i] if i < len(want) else None)
    raise CheckFailed(f"for {short(program)}: event {i + 1} is {show(w)} on asyncio, yours {show(g)}. "
                      + topic(g, w))


def compare_in_time(program: str, got: list, want: list, topic) -> None:
    """Like ``compare``, for answers free to order the events of one moment as they like."""
    for when in sorted({t for _, t in got} | {t for _, t in want}):
        mine, theirs = [e for e, t in got if t == when], [e for e, t in want if t == when]
        if sorted(mine) != sorted(theirs):
            extra, missing = [e for e in mine if e not in theirs], [e for e in theirs if e not in mine]
            asyncio_says, you_say = (short(", ".join(events) or "nothing", 70) for events in (theirs, mine))
            hint = topic((extra[0], when) if extra else None, (missing[0], when) if missing else None)
            raise CheckFailed(f"for {short(program, 100)}: at t={when:g} asyncio logs {asyncio_says}; "
                              f"yours {you_say}. {hint}")


def first_difference(got, want):
    """Index of the first event where two logs differ (None if equal)."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return i
    return None if len(got) == len(want) else min(len(got), len(want))


def _program(plan, sleep, spawn, log):
    """main(): spawn one task per entry of the plan, then await each in turn and log how it ended."""

    async def body(i, actions, handles):
        loop = asyncio.get_running_loop()
        try:
            for k, action in enumerate(actions):
                kind = action[0]
                if kind == "sleep":
                    log(f"T{i} slept, got {await sleep(action[1], k)!r}")
                elif kind == "sleep0":
                    await sleep(0)
                    log(f"T{i} sleep(0) over")
                elif kind == "await":
                    try:
                        log(f"T{i} awaited T{action[1]}: {await handles[action[1]]!r}")
                    except ValueError as error:
                        log(f"T{i} awaited T{action[1]}: {error!r}")
                elif kind == "future":
                    future = loop.create_future()
                    loop.call_later(action[1], lambda f: f.done() or f.set_result("set"), future)
                    log(f"T{i} future: {await future!r}")
                elif kind == "cancel":
                    log(f"T{i} cancel T{action[1]}: {handles[action[1]].cancel()}")
                elif kind == "raise":
                    raise ValueError(f"T{i}")
            return f"T{i} done"
        except asyncio.CancelledError:
            log(f"T{i} cancelled")
            raise

    async def main():
        handles = []
        for i, actions in enumerate(plan):
            handles.append(spawn(body(i, actions, handles)))
        for i, handle in enumerate(handles):
            try:
                log(f"main: T{i} returned {await handle!r}")
            except ValueError as error:
                log(f"main: T{i} raised {error!r}")
            except asyncio.CancelledError:
                log(f"main: T{i} was cancelled")

    return main


def quiet_loop(poller: str = "simulated") -> Loop:
    """A course loop that logs nothing: a future whose exception nobody retrieved (the student's
    task, say) would print a traceback when it is garbage-collected; the check says it better."""
    loop = Loop(poller)
    loop.set_exception_handler(lambda loop, context: None)
    return loop


def run(plan, *, sleep=asyncio.sleep, task_class=None, max_steps: int = 20_000):
    """Run ``plan`` on a fresh course ``Loop()``: tasks made by ``task_class(coro, loop)`` (default:
    ``loop.create_task``), waiting with ``sleep``. Returns ``(log, loop, error)``: ``error`` is what
    ``run_until_complete`` raised, or None; the loop is left as it ended, for the caller to look at
    (``loop.errors``, ``loop.snapshot()``)."""
    loop, log, error = quiet_loop(), [], None

    def note(event):
        log.append((event, loop.time()))

    def spawn(coro):
        coroutines.append(coro)
        return loop.create_task(coro) if task_class is None else task_class(coro, loop)

    main = _program(plan, sleep, spawn, note)()
    coroutines = [main]
    try:
        loop.run_until_complete(main if task_class is None else task_class(main, loop), max_steps=max_steps)
    except (Exception, asyncio.CancelledError) as exc:  # the caller turns it into a hint
        error = exc
        close(coroutines)
    return log, loop, error


def close(coroutines) -> None:
    """Close what a broken run left suspended or never started (no "never awaited" warnings)."""
    for coro in coroutines:
        try:
            coro.close()
        except (Exception, asyncio.CancelledError):  # it was running, or it refuses to close: leave it
            pass


def run_on_asyncio(plan) -> list:
    """The oracle: ``plan`` on asyncio's own loop, tasks and sleep, on a virtual clock (equal
    deadlines in scheduling order, as the course loop does)."""
    def program(loop, note):
        return _program(plan, asyncio.sleep, loop.create_task, note)()

    return virtualclock.record(program, fifo_ties=True).events


# --- running the student's program for a check
class Hung(CheckFailed):
    """The student's code did not finish in time (never shrunk: each try would wait as long)."""


def run_student(run, *args, what: str):
    outcome = run_in_thread(run, *args, timeout=5, name="coroutines")
    if not outcome.finished:
        raise Hung(f"{what} did not finish within 5 s: is there a `while` loop that never gives the loop back?")
    return outcome.result("")


def shrunk(one_case, case, **options) -> None:
    """``one_case(case)``; if it fails, fail with the smallest failing version of ``case`` found."""
    smallest_failure(one_case, case, at_once=(Hung,), budget=60, **options)


def escaped(loop) -> str:
    """The first exception a callback let escape into the loop, in a few words."""
    step = loop.errors[0]
    return f"{type(step.error).__name__}: {short(str(step.error), 60)} escaped from {step.handle.label}"
