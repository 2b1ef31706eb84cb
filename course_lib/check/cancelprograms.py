"""Programs of cancellation for chapter 06's checks: children of a gather, a coroutine under a timeout.

What it is: the programs of ``06.gather`` and ``06.timeout``, run on the course ``Loop()`` with
the student's function and logged as ``[(event, time), ...]`` (``coroprograms`` does the same for
``06.step`` and ``06.sleep``):

- ``random_children(rng, size)``: children ``(end, fails, cleanup)`` that sleep until ``end`` (all
  different), then return or raise, and when cancelled clean up for ``cleanup`` seconds;
  ``run_gather(gather, children)`` awaits ``gather(*children)``; ``expected_gather(children)`` is
  what a gather that cancels the rest at the first error logs (``asyncio.TaskGroup``'s behaviour,
  written out; tests/test_check_ch06.py shows that TaskGroup agrees); ``simpler_child`` is what
  shrinking tries.
- ``random_timeout(rng)``: one coroutine under ``wait_for(..., timeout)``, the waiting task
  perhaps cancelled from outside; ``run_timeout(wait_for, case)`` runs it with the student's
  ``wait_for``, ``timeout_on_asyncio(case)`` with ``asyncio.wait_for`` on a virtual clock.

Times are quarters of a second, never two events of different tasks at one moment where that would
make the order ambiguous (asyncio 3.11 and 3.12 differ there).

What it is not: a check. ``course_lib.check.ch06_tasks`` decides what a difference means.
"""

from __future__ import annotations

import asyncio

from course_lib import virtualclock
from course_lib.check.coroprograms import close, quiet_loop

__all__ = ["random_children", "simpler_child", "describe_children", "run_gather", "expected_gather",
           "random_timeout", "describe_timeout", "run_timeout", "timeout_on_asyncio", "LATER"]


def simpler_child(child):
    """The child without its cleanup, then without its failure (what ``shrink`` tries)."""
    end, fails, cleanup = child
    if cleanup:
        yield end, fails, 0
    if fails:
        yield end, False, cleanup


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
        close(coroutines)
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
    inner = f"coroutine {'failing' if fails else 'returning'} after {duration:g} s"
    return (f"wait_for({inner}{f', cleanup {cleanup:g} s' if cleanup else ''}, timeout={timeout:g})"
            + (f", task cancelled at t={cancel_at:g}" if cancel_at is not None else ""))


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
            log(f"wait_for → {await wait_for(coroutines[-1], timeout)!r}")
        except TimeoutError:
            log("wait_for → TimeoutError")
        except ValueError as exc:
            log(f"wait_for → {exc!r}")
        except asyncio.CancelledError:
            log("wait_for → CancelledError")
            raise
        await asyncio.sleep(LATER)
        log("task goes on")

    async def main():
        task = asyncio.get_running_loop().create_task(outer())
        if cancel_at is not None:
            asyncio.get_running_loop().call_later(cancel_at, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log("task cancelled")

    return main


def run_timeout(wait_for, case, max_steps: int = 20_000):
    """``case`` with the student's ``wait_for`` on a fresh ``Loop()``; ``(log, loop, error)`` as ``run``."""
    loop, log, error, coroutines = quiet_loop(), [], None, []
    try:
        loop.run_until_complete(_timeout_program(wait_for, case, lambda e: log.append((e, loop.time())), coroutines)(),
                                max_steps=max_steps)
    except (Exception, asyncio.CancelledError) as exc:
        error = exc
        close(coroutines)
    return log, loop, error


def timeout_on_asyncio(case) -> list:
    """The oracle: ``case`` with ``asyncio.wait_for`` on asyncio's own loop, on a virtual clock."""
    def program(loop, note):
        return _timeout_program(asyncio.wait_for, case, note)()

    return virtualclock.record(program, fifo_ties=True).events
