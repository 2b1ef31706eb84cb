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
floats, so many deadlines tie and test the order of equal deadlines.

What it is not: a check. ``course_lib.check.ch06`` decides what a difference means.
"""

from __future__ import annotations

import asyncio

from course_lib import virtualclock
from course_lib.loop import Loop

__all__ = ["quiet_loop", "random_plan", "describe", "run", "run_on_asyncio", "first_difference", "show",
           "random_children", "describe_children", "run_gather", "expected_gather", "random_timeout",
           "describe_timeout", "run_timeout", "timeout_on_asyncio"]

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
        _close(coroutines)
    return log, loop, error


def _close(coroutines) -> None:
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


# ---------------------------------------------------------------- children for a gather, a coroutine for a timeout
def random_children(rng, size: int) -> tuple:
    """``size`` children ``(end, fails, cleanup)``: each sleeps until ``end`` (all different), then
    returns or raises; cancelled, it cleans up for ``cleanup`` seconds (0: not at all)."""
    ends = rng.sample([q / 4 for q in range(1, 13)], size)
    return tuple((end, rng.random() < 0.35, rng.choice((0, 0, 0.25, 0.5))) for end in ends)


def describe_children(children) -> str:
    """``C0: returns at 1 · C1: fails at 0.5, cleanup 0.25``"""
    return " · ".join(f"C{i}: {'fails' if fails else 'returns'} at {end:g}"
                      + (f", cleanup {cleanup:g}" if cleanup else "")
                      for i, (end, fails, cleanup) in enumerate(children)) or "no children"


async def _child(i, end, fails, cleanup, log):
    try:
        await asyncio.sleep(end)
    except asyncio.CancelledError:
        log(f"C{i} cancelled")
        if cleanup:
            await asyncio.sleep(cleanup)
            log(f"C{i} cleaned up")
        raise
    if fails:
        log(f"C{i} fails")
        raise ValueError(f"C{i}")
    log(f"C{i} returns")
    return f"C{i}"


def run_gather(gather, children, max_steps: int = 20_000):
    """``await gather(*children)`` in a task on a fresh ``Loop()``; ``(log, loop, error)`` as ``run``."""
    loop, log, error = quiet_loop(), [], None

    def note(event):
        log.append((event, loop.time()))

    coroutines = [_child(i, *child, note) for i, child in enumerate(children)]

    async def parent():
        try:
            note(f"gather returned {await gather(*coroutines)!r}")
        except ValueError as exc:
            note(f"gather raised {exc!r}")

    try:
        loop.run_until_complete(parent(), max_steps=max_steps)
    except (Exception, asyncio.CancelledError) as exc:
        error = exc
        _close(coroutines)
    return log, loop, error


def expected_gather(children) -> list:
    """What a gather that cancels the rest at the first error logs (``asyncio.TaskGroup``'s
    behaviour, tests/test_check_ch06.py shows they agree), in time order."""
    failures = [end for end, fails, _ in children if fails]
    first = min(failures, default=None)
    log, finished = [], 0.0
    for i, (end, fails, cleanup) in enumerate(children):
        if first is None or end <= first:
            log.append((f"C{i} {'fails' if fails else 'returns'}", end))
            finished = max(finished, end)
        else:
            log.append((f"C{i} cancelled", first))
            if cleanup:
                log.append((f"C{i} cleaned up", first + cleanup))
            finished = max(finished, first + cleanup)
    if first is None:
        log.append((f"gather returned {[f'C{i}' for i in range(len(children))]!r}", finished))
    else:
        culprit = next(i for i, (end, fails, _) in enumerate(children) if fails and end == first)
        log.append((f"gather raised {ValueError(f'C{culprit}')!r}", finished))
    return sorted(log, key=lambda event: event[1])


LATER = 4.0  # after wait_for, the outer task sleeps this long: a timer left behind would cancel it


def random_timeout(rng) -> tuple:
    """``(duration, fails, cleanup, timeout, cancel_at)``: an inner coroutine of ``duration``
    seconds under ``wait_for(..., timeout)``; the outer task cancelled at ``cancel_at`` (or None)."""
    duration, timeout = rng.sample([q / 4 for q in range(1, 13)], 2)
    if rng.random() < 0.3:  # cancelled from outside: between quarters, so never at the same time as another
        # event, and no cleanup, so never a second cancellation during one (which asyncio 3.11 and 3.12 treat apart)
        return duration, rng.random() < 0.25, 0, timeout, rng.randrange(12) / 4 + 0.125
    return duration, rng.random() < 0.25, rng.choice((0, 0, 0.25, 0.5)), timeout, None


def describe_timeout(case) -> str:
    duration, fails, cleanup, timeout, cancel_at = case
    inner = f"a coroutine that {'fails' if fails else 'returns'} after {duration:g} s"
    return (f"wait_for({inner}{f' (cleanup {cleanup:g} s)' if cleanup else ''}, timeout={timeout:g})"
            + (f", the task cancelled at t={cancel_at:g}" if cancel_at is not None else ""))


def _timeout_program(wait_for, case, log, coroutines=None):
    duration, fails, cleanup, timeout, cancel_at = case
    coroutines = [] if coroutines is None else coroutines  # the inner coroutine goes here (to close it)

    async def inner():
        try:
            await asyncio.sleep(duration)
        except asyncio.CancelledError:
            log("inner cancelled")
            if cleanup:
                await asyncio.sleep(cleanup)
                log("inner cleaned up")
            raise
        if fails:
            log("inner fails")
            raise ValueError("inner")
        log("inner returns")
        return "value"

    async def outer():
        try:
            coroutines.append(inner())
            log(f"wait_for returned {await wait_for(coroutines[-1], timeout)!r}")
        except TimeoutError:
            log("wait_for raised TimeoutError")
        except ValueError as exc:
            log(f"wait_for raised {exc!r}")
        except asyncio.CancelledError:
            log("wait_for raised CancelledError")
            raise
        await asyncio.sleep(LATER)
        log("the task goes on")

    async def main():
        task = asyncio.get_running_loop().create_task(outer())
        if cancel_at is not None:
            asyncio.get_running_loop().call_later(cancel_at, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log("the task was cancelled")

    return main


def run_timeout(wait_for, case, max_steps: int = 20_000):
    """``case`` with the student's ``wait_for`` on a fresh ``Loop()``; ``(log, loop, error)`` as ``run``."""
    loop, log, error, coroutines = quiet_loop(), [], None, []
    try:
        loop.run_until_complete(_timeout_program(wait_for, case, lambda e: log.append((e, loop.time())), coroutines)(),
                                max_steps=max_steps)
    except (Exception, asyncio.CancelledError) as exc:
        error = exc
        _close(coroutines)
    return log, loop, error


def timeout_on_asyncio(case) -> list:
    """The oracle: ``case`` with ``asyncio.wait_for`` on asyncio's own loop, on a virtual clock."""
    def program(loop, note):
        return _timeout_program(asyncio.wait_for, case, note)()

    return virtualclock.record(program, fifo_ties=True).events
