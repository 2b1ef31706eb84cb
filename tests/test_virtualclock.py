"""asyncio on a virtual clock: asyncio's own order and times, no waiting, the same every run."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import virtualclock
from course_lib.check import programs
from course_lib.loop import Loop
from course_lib.virtualclock import Idle, VirtualClockLoop, VirtualSelector, record, virtual_asyncio_loop


def test_callbacks_run_at_their_virtual_times_without_waiting():
    def program(loop, log):
        loop.call_later(3600, log, "an hour")
        loop.call_later(1.5, log, "later")
        loop.call_soon(log, "soon")

    started = time.perf_counter()
    recording = record(program)
    assert recording.events == [("soon", 0.0), ("later", 1.5), ("an hour", 3600.0)]
    assert recording.time == 3600.0 and recording.result is None and recording.errors == []
    assert time.perf_counter() - started < 5  # an hour of virtual time is not an hour


def test_a_coroutine_runs_to_its_result_with_asyncio_primitives():
    async def program(loop, log):
        async def worker(name, delay):
            await asyncio.sleep(delay)
            log(name)
            return name

        results = await asyncio.gather(worker("slow", 2), worker("fast", 1))
        try:
            async with asyncio.timeout(0.5):
                await asyncio.sleep(10)
        except TimeoutError:
            log("timed out")
        return results

    recording = record(program)
    assert recording.result == ["slow", "fast"]
    assert recording.events == [("fast", 1.0), ("slow", 2.0), ("timed out", 2.5)]


def test_the_loop_can_be_used_directly_like_asyncio_new_event_loop():
    loop = virtual_asyncio_loop()
    try:
        assert loop.run_until_complete(asyncio.sleep(7, result="done")) == "done"
        assert loop.time() == 7.0
    finally:
        loop.close()


def test_a_coroutine_that_waits_for_ever_ends_with_idle():
    async def program(loop, log):
        await loop.create_future()  # nobody will ever set it

    with pytest.raises(Idle, match="waits for something"):
        record(program)
    loop = virtual_asyncio_loop()
    with pytest.raises(RuntimeError, match="stopped before Future completed"):
        loop.run_until_complete(loop.create_future())
    loop.close()


def test_the_coroutine_s_exception_is_raised_and_callback_errors_are_kept():
    async def failing(loop, log):
        await asyncio.sleep(1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        record(failing)

    def program(loop, log):
        loop.call_soon(lambda: 1 / 0)
        loop.call_later(1, log, "still runs")

    recording = record(program)
    assert recording.events == [("still runs", 1.0)]
    assert [type(e) for e in recording.errors] == [ZeroDivisionError]


def test_spend_moves_the_clock_inside_a_callback():
    def program(loop, log):
        def busy():
            loop.spend(0.25)
            log("busy done")

        loop.call_soon(busy)
        loop.call_later(0.1, log, "timer")  # due at 0.1, runs only after the busy callback

    assert record(program).events == [("busy done", 0.25), ("timer", 0.25)]
    with pytest.raises(ValueError, match="seconds must be"):
        record(lambda loop, log: loop.spend(-1))


def test_fifo_ties_order_equal_deadlines_by_scheduling_order():
    def program(loop, log):
        for name in "abcdefgh":
            loop.call_later(1, log, name)

    assert [name for name, _ in record(program, fifo_ties=True).events] == list("abcdefgh")
    assert sorted(name for name, _ in record(program).events) == list("abcdefgh")  # some order


def test_record_works_inside_a_running_loop_and_puts_it_back():
    async def inside():
        outer = asyncio.get_running_loop()
        events = record(lambda loop, log: loop.call_later(2, log, "x")).events
        return events, asyncio.get_running_loop() is outer

    assert asyncio.run(inside()) == ([("x", 2.0)], True)


def test_a_selector_subclass_can_bring_its_own_events():
    class Ticking(VirtualSelector):
        """A selector whose clock can never move more than 1 s at a time."""

        def select(self, timeout=None):
            if timeout is None:
                raise Idle
            self.advance(min(timeout, 1.0))
            return []

    loop = VirtualClockLoop(selector=Ticking())
    try:
        assert loop.run_until_complete(asyncio.sleep(3.5, result="ok")) == "ok"
        assert loop.time() == 3.5
    finally:
        loop.close()


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="program must be callable"):
        record("not a program")
    with pytest.raises(ValueError, match="start must be a finite"):
        VirtualSelector(start=float("nan"))


@st.composite
def plans(draw):
    """A plan of callbacks in the format of course_lib.check.programs: who schedules whom, how, when."""
    plan = []
    for i in range(draw(st.integers(1, 12))):
        parent = draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None
        kind = draw(st.sampled_from(["soon", "later"]))
        delay = draw(st.sampled_from(programs.DELAYS)) if kind == "later" else None
        plan.append((None if parent is None else f"c{parent}", kind, delay, f"c{i}"))
    return plan


@settings(max_examples=150, deadline=None)
@given(plans())
def test_same_order_and_times_as_the_course_loop(plan):
    """Callbacks that schedule callbacks: asyncio (with fifo ties) and the course loop agree exactly."""
    program = programs.program_from_plan(plan)
    course, log = Loop(), []
    program(course, lambda event: log.append((event, course.time())))
    course.run(max_steps=10_000)
    assert log == virtualclock.record(program, fifo_ties=True).events
