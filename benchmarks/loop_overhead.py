"""How much slower is the course's loop than asyncio's? A chain of call_soon callbacks.

Each callback schedules the next one, so every callback costs one full loop
iteration: a poll (with timeout 0, a real system call) and one dispatch. Both loops
run in real mode on the same kind of selector, side by side in this one process;
the script prints the best time of each and the median ratio of paired rounds.
Times are CPU time of this process (``time.process_time``), which other programs
on a busy machine disturb far less than the wall clock.

    python benchmarks/loop_overhead.py [--n 100000] [--rounds 5]

What it is not: a test. Wall-clock numbers depend on the machine and its load; read
the ratio, and compare runs made on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import selectors
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.loop import Loop  # noqa: E402
from course_lib.pollers import default_poller_name  # noqa: E402


def chain_on_course_loop(n: int) -> float:
    loop = Loop(poller="default")
    left = n

    def tick():
        nonlocal left
        left -= 1
        if left:
            loop.call_soon(tick)

    loop.call_soon(tick)
    start = time.process_time()
    loop.run()
    elapsed = time.process_time() - start
    loop.close()
    assert left == 0
    return elapsed


def chain_on_asyncio(n: int) -> float:
    loop = asyncio.SelectorEventLoop(selectors.DefaultSelector())
    left = n

    def tick():
        nonlocal left
        left -= 1
        if left:
            loop.call_soon(tick)
        else:
            loop.stop()

    loop.call_soon(tick)
    start = time.process_time()
    loop.run_forever()
    elapsed = time.process_time() - start
    loop.close()
    assert left == 0
    return elapsed


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="callbacks in the chain")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each running both loops once")
    args = parser.parse_args(argv)
    course, reference = [], []
    for _ in range(args.rounds):  # interleaved, so both see the same machine load
        # A finished course loop leaves cycles behind (its trace holds handles that point back to
        # it): collected here, before each timed run, so that neither loop pays for the last one's
        # garbage. Without it the ratio wanders between 1.4x and 1.7x from run to run.
        gc.collect()
        course.append(chain_on_course_loop(args.n))
        gc.collect()
        reference.append(chain_on_asyncio(args.n))
    best_course, best_asyncio = min(course), min(reference)
    # Each round's pair ran back to back; the median of their ratios shrugs off a busy moment.
    ratio = statistics.median(c / a for c, a in zip(course, reference, strict=True))
    print(f"chain of {args.n} call_soon callbacks, real mode ({default_poller_name()}), best of {args.rounds}:")
    print(f"  course loop {best_course * 1e3:8.1f} ms   ({best_course / args.n * 1e6:.2f} us per callback)")
    print(f"  asyncio     {best_asyncio * 1e3:8.1f} ms   ({best_asyncio / args.n * 1e6:.2f} us per callback)")
    print(f"ratio course/asyncio: {ratio:.2f}x (median of {args.rounds} paired rounds; goal <= 1.5x)")
    return ratio


if __name__ == "__main__":
    main()
