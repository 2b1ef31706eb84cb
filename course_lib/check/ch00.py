"""Check for chapter 00: the warm-up exercise that shows how checks answer."""

from course_lib.check import exercise, expect

__all__ = ["check_warmup"]


@exercise("00.warmup", "Count the seconds a task waits")
def check_warmup(seconds_waiting, *, rng, extra):
    expect(callable(seconds_waiting), "pass your function seconds_waiting itself to check()")
    for _ in range(20):
        steps = [(rng.choice(["cpu", "io"]), rng.randint(1, 9)) for _ in range(rng.randint(0, 5))]
        want = sum(d for kind, d in steps if kind == "io")
        got = seconds_waiting(steps)
        expect(got == want, f"seconds_waiting({steps}) returned {got!r}, expected {want}: count only the 'io' steps")
    return "20 random step lists"
