"""How much slower are the course's tasks than asyncio's? Two coroutine workloads, side by side.

- **chain**: one task awaits ``sleep(0)`` N times. Each await is one full loop iteration:
  a poll, then one task step (send into the coroutine, the bare yield, call_soon again).
- **fan-out**: ``create_task`` + ``gather`` of 10,000 tasks that each await ``sleep(0)`` once:
  creating tasks, their first steps, their done callbacks and gather's bookkeeping.

Both loops run in real mode on the same kind of selector, in this one process, interleaved
round by round; times are CPU time (``time.process_time``). The course side runs the course's
own ``Task``/``sleep``/``gather`` (pure Python); asyncio runs its C-accelerated ones. A third
column runs asyncio's ``sleep``/``gather`` on the course loop (the course's Task still steps them).

    python benchmarks/tasks_overhead.py [--n 100000] [--tasks 10000] [--rounds 5]

What it is not: a test. Read the ratios (goal: at most 1.5x asyncio's time), and compare runs
made on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import selectors
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib import tasks  # noqa: E402
from course_lib.loop import Loop  # noqa: E402
from course_lib.pollers import default_poller_name  # noqa: E402


async def chain(n, sleep):
    for _ in range(n):
        await sleep(0)


async def fan_out(n, sleep, gather):
    async def one():
        await sleep(0)
        return 1

    assert sum(await gather(*(one() for _ in range(n)))) == n


def timed(make_loop, coro) -> float:
    loop = make_loop()
    start = time.process_time()
    loop.run_until_complete(coro)
    elapsed = time.process_time() - start
    loop.close()
    return elapsed


def course_loop():
    return Loop(poller="default")


def asyncio_loop():
    return asyncio.SelectorEventLoop(selectors.DefaultSelector())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="awaits of sleep(0) in the chain")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks in the fan-out")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each running every variant once")
    args = parser.parse_args(argv)
    workloads = {
        f"chain of {args.n} await sleep(0)": (
            lambda: chain(args.n, tasks.sleep), lambda: chain(args.n, asyncio.sleep)),
        f"create_task + gather of {args.tasks} tasks": (
            lambda: fan_out(args.tasks, tasks.sleep, tasks.gather),
            lambda: fan_out(args.tasks, asyncio.sleep, asyncio.gather)),
    }
    ratios = {}
    print(
        f"real mode ({default_poller_name()}), CPU time, best of {args.rounds} rounds; ratios: median of paired rounds"
    )
    for name, (course_program, asyncio_program) in workloads.items():
        course, mixed, reference = [], [], []
        for _ in range(args.rounds):
            course.append(timed(course_loop, course_program()))
            mixed.append(timed(course_loop, asyncio_program()))
            reference.append(timed(asyncio_loop, asyncio_program()))
        ratio = statistics.median(c / a for c, a in zip(course, reference))
        mixed_ratio = statistics.median(m / a for m, a in zip(mixed, reference))
        ratios[name] = ratio
        print(f"{name}:")
        print(f"  course loop, course tasks        {min(course) * 1e3:8.1f} ms")
        print(f"  course loop, asyncio's functions {min(mixed) * 1e3:8.1f} ms   ({mixed_ratio:.2f}x)")
        print(f"  asyncio                          {min(reference) * 1e3:8.1f} ms")
        print(f"  ratio course/asyncio: {ratio:.2f}x (goal <= 1.5x)")
    return ratios


if __name__ == "__main__":
    main()
