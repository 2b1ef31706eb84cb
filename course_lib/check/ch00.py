"""Check for chapter 00: the warm-up exercise that shows how checks answer.

A failing list of steps is shrunk (``course_lib.check.shrink``) before the hint quotes it,
so the student sees the smallest list on which the function goes wrong.
"""

from course_lib.check import exercise, expect
from course_lib.check.shrink import smallest_failure

__all__ = ["check_warmup"]


def _warmup_case(seconds_waiting, steps):
    want = sum(d for kind, d in steps if kind == "io")
    got = seconds_waiting(list(steps))
    expect(got == want, f"seconds_waiting({steps}) returned {got!r}, expected {want}: count only the 'io' steps")


def _simpler_step(step):
    kind, seconds = step
    return [(kind, 1)] if seconds != 1 else []


@exercise("00.warmup", "Count the seconds a task waits")
def check_warmup(seconds_waiting, *, rng, extra):
    expect(callable(seconds_waiting), "pass your function seconds_waiting itself to check()")
    for _ in range(20):
        steps = [(rng.choice(["cpu", "io"]), rng.randint(1, 9)) for _ in range(rng.randint(0, 5))]
        smallest_failure(lambda s: _warmup_case(seconds_waiting, s), steps, simpler=_simpler_step)
    return "20 random step lists"
