"""Coroutines on the course loop run in asyncio's order, at asyncio's times.

Random programs of tasks that sleep, ``sleep(0)``, await each other, gather, cancel, time out and
wait on futures resolved by timers run three ways, and their logs of (event, time) must agree:

1. the course primitives (``course_lib.tasks``) on the course ``Loop()`` (virtual clock);
2. asyncio's own primitives on the course ``Loop()``;
3. asyncio's own primitives on asyncio's own loop with a virtual clock (the oracle).

The oracle orders timers with equal deadlines in scheduling order, as the course loop does
(asyncio itself leaves such ties unordered, see chapter 04).
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib import tasks
from course_lib.loop import Loop
from course_lib.virtualclock import virtual_asyncio_loop


# -- the two sets of primitives --------------------------------------------------------------------
class CoursePrimitives:
    sleep, gather, wait_for = staticmethod(tasks.sleep), staticmethod(tasks.gather), staticmethod(tasks.wait_for)


async def _asyncio_wait_for(aw, timeout):
    """asyncio 3.12's wait_for (3.11's wraps a coroutine in an extra task, one iteration later)."""
    if sys.version_info >= (3, 12):
        return await asyncio.wait_for(aw, timeout)
    async with asyncio.timeout(timeout):
        return await aw


class AsyncioPrimitives:
    sleep, gather, wait_for = staticmethod(asyncio.sleep), staticmethod(asyncio.gather), staticmethod(_asyncio_wait_for)


# -- random programs -------------------------------------------------------------------------------
N = 4
delays = st.integers(0, 8).map(lambda q: q / 4)  # quarter seconds: exact floats, many equal deadlines
positive = st.integers(1, 8).map(lambda q: q / 4)


def actions_for(i):
    later = st.integers(i + 1, N - 1) if i < N - 1 else st.nothing()
    anyone = st.integers(0, N - 1).filter(lambda j: j != i)
    return st.one_of(
        st.tuples(st.just("sleep"), delays),
        st.tuples(st.just("sleep0")),
        st.tuples(st.just("await"), later),
        st.tuples(st.just("cancel"), anyone),
        st.tuples(st.just("wait_for"), positive, delays),
        st.tuples(st.just("gather"), st.lists(delays, min_size=0, max_size=3)),
        st.tuples(st.just("future"), delays),
        st.tuples(st.just("raise")),
        st.tuples(st.just("cancel_self"), delays),
    )


programs = st.tuples(*[st.lists(actions_for(i), max_size=5) for i in range(N)])


def build(program, lib):
    """main(): start one task per body, gather them all, log everything with the loop's time."""
    log = []

    async def body(i, actions, handles):
        loop = asyncio.get_running_loop()

        def note(*what):
            log.append((f"T{i}", *what, loop.time()))

        try:
            for k, action in enumerate(actions):
                kind = action[0]
                if kind == "sleep":
                    note(k, "slept", await lib.sleep(action[1], "r"))
                elif kind == "sleep0":
                    await lib.sleep(0)
                    note(k, "sleep0")
                elif kind == "await":
                    try:
                        note(k, "awaited", await handles[action[1]])
                    except asyncio.CancelledError:
                        note(k, "awaited a cancelled task")
                        raise
                    except Exception as exc:
                        note(k, "awaited", repr(exc))
                elif kind == "cancel":
                    note(k, "cancel", handles[action[1]].cancel())
                elif kind == "wait_for":
                    try:
                        note(k, "wait_for", await lib.wait_for(lib.sleep(action[2], "w"), action[1]))
                    except TimeoutError:
                        note(k, "timed out")
                elif kind == "gather":
                    note(k, "gathered", await lib.gather(*(lib.sleep(d, d) for d in action[1])))
                elif kind == "future":
                    future = loop.create_future()
                    loop.call_later(action[1], lambda f: f.done() or f.set_result("f"), future)
                    note(k, "future", await future)
                elif kind == "cancel_self":  # cancelled while running: the next await gets it
                    note(k, "cancel self", asyncio.current_task().cancel())
                    try:
                        await lib.sleep(action[1])
                    except asyncio.CancelledError:
                        note(k, "caught", asyncio.current_task().uncancel())
                elif kind == "raise":
                    raise ValueError(f"T{i}")
            return f"T{i} done"
        except asyncio.CancelledError:
            note("cancelled")
            raise

    async def main():
        loop = asyncio.get_running_loop()
        handles = []
        for i, actions in enumerate(program):
            handles.append(loop.create_task(body(i, actions, handles)))
        results = await lib.gather(*handles, return_exceptions=True)
        log.append(("main", [r if isinstance(r, str) else type(r).__name__ for r in results], loop.time()))

    return main, log


def run_course(program, lib):
    main, log = build(program, lib)
    loop = Loop()
    loop.run_until_complete(main())
    loop.close()
    return log


def run_oracle(program):
    main, log = build(program, AsyncioPrimitives)
    loop = virtual_asyncio_loop(fifo_ties=True)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_course_primitives_run_in_asyncio_order(program):
    assert run_course(program, CoursePrimitives) == run_oracle(program)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_asyncio_primitives_run_unchanged_on_the_course_loop(program):
    assert run_course(program, AsyncioPrimitives) == run_oracle(program)


def test_a_known_program_agrees():
    program = ([("sleep", 1.0), ("await", 1)], [("wait_for", 0.5, 1.0), ("gather", [0.25, 0.5])],
               [("cancel", 0), ("future", 0.75)], [("raise",)])
    want = run_oracle(program)
    assert run_course(program, CoursePrimitives) == want
    assert ("T1", 0, "timed out", 0.5) in want and ("T0", "cancelled", 0.0) in want


@pytest.mark.parametrize("lib", [CoursePrimitives, AsyncioPrimitives], ids=["course", "asyncio"])
def test_timeouts_at_or_below_zero(lib):
    async def main():
        try:
            await lib.wait_for(lib.sleep(1), 0)
        except TimeoutError:
            return "timed out", asyncio.get_running_loop().time()

    assert Loop().run_until_complete(main()) == ("timed out", 0.0)
