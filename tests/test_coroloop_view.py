"""What the loop's snapshot says each task awaits (the Stepper's task table): who will wake it."""

import asyncio

from course_lib.loop import Loop
from course_lib.tasks import gather, sleep


def awaits(loop) -> dict:
    return {row["task"]: row["awaits"] for row in loop.snapshot().get("tasks", [])}


def step_until(loop, condition, limit=100):
    for _ in range(limit):
        if condition():
            return
        loop.step()
    raise AssertionError("the condition never came true")


def test_a_future_set_by_a_timer_through_its_own_method_is_named():
    loop = Loop()
    answer = loop.create_future()
    loop.call_later(1.0, answer.set_result, 42)       # the timer's callback is the future's own method

    async def ask():
        return await answer

    loop.create_task(ask(), name="A")
    step_until(loop, lambda: "timer" in awaits(loop)["A"])
    assert awaits(loop)["A"] == "a future, set by a timer at t=1"
    step_until(loop, answer.done)
    assert awaits(loop)["A"] == "a Future, done: its wake-up is in the ready queue"
    loop.run()
    assert awaits(loop)["A"] == ""


def test_gather_names_the_children_it_still_waits_for():
    loop = Loop()

    async def main():
        return await gather(loop.create_task(sleep(1), name="slow"), loop.create_task(sleep(0.5), name="fast"))

    loop.create_task(main(), name="main")
    step_until(loop, lambda: "gather" in awaits(loop).get("main", ""))
    assert awaits(loop)["main"] == "gather, still waiting for slow, fast"
    step_until(loop, lambda: loop.time() >= 0.5 and "fast" not in awaits(loop)["main"])
    assert awaits(loop)["main"] == "gather, still waiting for slow"


def test_asyncios_queue_is_waited_on_without_a_false_promise():
    loop = Loop()

    async def consumer(queue):
        return await queue.get()

    async def main():
        queue = asyncio.Queue()
        task = asyncio.create_task(consumer(queue), name="consumer")
        await sleep(1)
        await queue.put("x")
        return await task

    loop.create_task(main(), name="main")
    step_until(loop, lambda: "Queue.get" in awaits(loop).get("consumer", ""))
    assert awaits(loop)["consumer"].endswith("a Future that other code must set (no timer or socket of the loop will)")
    assert loop.run_until_complete(loop.tasks()[0]) == "x"
