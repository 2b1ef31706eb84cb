"""Checks of the grader's fixture course (exercises 99.*), registered when imported.

Not part of course_lib: the fixture notebook's setup cell imports this module (the grader
puts the course folder on the kernel's sys.path), so the registry learns 99.add and 99.order.
"""

from course_lib.check import exercise, expect


@exercise("99.add", "Add two integers")
def check_add(add, *, rng, extra):
    top = 10**6 if extra else 100
    for _ in range(30 if extra else 10):
        a, b = rng.randint(-top, top), rng.randint(-top, top)
        got = add(a, b)
        expect(type(got) is int and got == a + b, f"add({a}, {b}) returned {got!r}, expected {a + b}")
    return "10 random sums"


@exercise("99.order", "Order events by time, ties in arrival order")
def check_order(order, *, rng, extra):
    for _ in range(30 if extra else 10):
        n = rng.randint(0, 12 if extra else 6)
        events = [(rng.choice([0, 1, 2, 3] if extra else [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), f"e{i}") for i in range(n)]
        want = [name for _, name in sorted(events, key=lambda e: e[0])]
        got = order(list(events))
        expect(type(got) is list and got == want, f"order({events}) returned {got!r}, expected {want}")
    return "10 random event lists"
