"""What exercise 07.expiry is checked against: a clock the check moves, and Redis's rules.

What it is: two small things the check of ``07.expiry`` drives a student's ``Store`` with:

- ``VirtualLoop``: ``time()``, ``call_at``, ``call_later``, ``call_soon``, handles with
  ``cancel()``, like a loop's, but the check moves the clock itself: ``advance(t)`` runs
  the timers due by ``t`` in order (what a loop does), ``advance(t, run_timers=False)``
  moves the clock and runs nothing (a command that arrives in the same instant as its
  key's deadline, before the timer's turn). ``live_timers()`` counts the timers still
  scheduled and not cancelled.
- ``Model``: the same commands (SET with EX/PX, GET, DEL, EXPIRE, PTTL, PERSIST) written
  as plainly as possible: a key is alive while ``time < deadline``. Its replies are the
  ones the student's must equal; ``alive()`` is what ``store.data`` may hold once due
  timers have run.
- ``script(rng, n)``: a random program of commands and clock moves on three keys.

What it is not: the course server's keyspace (``course_lib.kv.db`` keeps deadlines in
Unix milliseconds, as Redis does); times here are seconds on the loop's clock, multiples
of 1/4 s so that every sum is exact.
"""

from __future__ import annotations

import heapq
import itertools

from course_lib.resp import Error, parse_int

__all__ = ["VirtualLoop", "Model", "script", "NOT_INTEGER", "SYNTAX", "INVALID_EXPIRE"]

NOT_INTEGER = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"
INVALID_EXPIRE = "ERR invalid expire time in 'set' command"


class _Timer:
    def __init__(self, when, fn, args):
        self._when, self.fn, self.args, self._cancelled, self.ran = when, fn, args, False, False

    def cancel(self):
        self._cancelled = True

    def cancelled(self):
        return self._cancelled

    def when(self):
        return self._when


class VirtualLoop:
    """A clock and timers that only the check moves. See the module docstring."""

    def __init__(self):
        self.now = 0.0
        self._heap, self._seq = [], itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when, fn, *args):
        timer = _Timer(float(when), fn, args)
        heapq.heappush(self._heap, (timer.when(), next(self._seq), timer))
        return timer

    def call_later(self, delay, fn, *args):
        return self.call_at(self.now + delay, fn, *args)

    def call_soon(self, fn, *args):
        return self.call_at(self.now, fn, *args)

    def advance(self, t: float, run_timers: bool = True) -> None:
        """Move the clock to ``t``; run the timers due by then, in order, unless told not to."""
        while run_timers and self._heap and self._heap[0][0] <= t:
            when, _, timer = heapq.heappop(self._heap)
            if not timer.cancelled():
                self.now = max(self.now, when)
                timer.ran = True
                timer.fn(*timer.args)
        self.now = max(self.now, t)

    def live_timers(self) -> int:
        return sum(not timer.cancelled() for _, _, timer in self._heap)


class Model:
    """The reference: the commands as Redis defines them, on the same clock."""

    def __init__(self, loop: VirtualLoop):
        self.loop, self.data, self.deadline = loop, {}, {}

    def alive(self) -> set:
        now = self.loop.time()
        return {k for k in self.data if k not in self.deadline or now < self.deadline[k]}

    def expire_due(self) -> None:
        """What the loop's timers do: drop every key whose deadline has come."""
        now = self.loop.time()
        for key in [k for k, when in self.deadline.items() if when <= now]:
            self._drop(key)

    def _get(self, key):
        return self.data.get(key) if key in self.alive() else None

    def _drop(self, key):
        self.data.pop(key, None)
        self.deadline.pop(key, None)

    def execute(self, words):
        """The reply to ``words`` (a Python value), or the ``Error`` it raises."""
        name, args = words[0].upper(), words[1:]
        if name == b"SET":
            key, value, options = args[0], args[1], args[2:]
            when = None
            if options:
                if len(options) != 2 or options[0].upper() not in (b"EX", b"PX"):
                    raise Error(SYNTAX)
                amount = parse_int(options[1])
                if amount is None:
                    raise Error(NOT_INTEGER)
                if amount <= 0:
                    raise Error(INVALID_EXPIRE)
                when = self.loop.time() + (amount if options[0].upper() == b"EX" else amount / 1000)
            self._drop(key)
            self.data[key] = value
            if when is not None:
                self.deadline[key] = when
            return "OK"
        if name == b"GET":
            return self._get(args[0])
        if name == b"DEL":
            found = [k for k in dict.fromkeys(args) if self._get(k) is not None]
            for k in found:
                self._drop(k)
            return len(found)
        if name == b"EXPIRE":
            seconds = parse_int(args[1])
            if seconds is None:
                raise Error(NOT_INTEGER)
            if self._get(args[0]) is None:
                return 0
            if seconds <= 0:
                self._drop(args[0])
            else:
                self.deadline[args[0]] = self.loop.time() + seconds
            return 1
        if name == b"PTTL":
            if self._get(args[0]) is None:
                return -2
            when = self.deadline.get(args[0])
            return -1 if when is None else round((when - self.loop.time()) * 1000)
        if name == b"PERSIST":
            if self._get(args[0]) is None or args[0] not in self.deadline:
                return 0
            del self.deadline[args[0]]
            return 1
        raise ValueError(f"the model has no command {name!r}")


KEYS = [b"a", b"b", b"c"]


def _command(rng) -> list:
    key, value = rng.choice(KEYS), b"v%d" % rng.randint(0, 99)
    kind = rng.choices(["set", "set_ex", "set_px", "get", "del", "expire", "pttl", "persist", "bad"],
                       [8, 6, 6, 10, 3, 6, 6, 3, 2])[0]
    if kind == "set":
        return [b"SET", key, value]
    if kind == "set_ex":
        return [b"SET", key, value, rng.choice([b"EX", b"ex"]), b"%d" % rng.randint(1, 3)]
    if kind == "set_px":
        return [b"SET", key, value, rng.choice([b"PX", b"px"]), b"%d" % (250 * rng.randint(1, 10))]
    if kind == "expire":
        return [b"EXPIRE", key, b"%d" % rng.choice([-1, 0, 1, 1, 2, 3])]
    if kind == "bad":
        return rng.choice([[b"SET", key, value, b"EX"], [b"SET", key, value, b"FOO", b"1"],
                           [b"SET", key, value, b"PX", b"x"], [b"SET", key, value, b"EX", b"0"],
                           [b"EXPIRE", key, b"soon"]])
    return [{"get": b"GET", "del": b"DEL", "pttl": b"PTTL", "persist": b"PERSIST"}[kind], key]


def script(rng, n: int) -> list:
    """A random program: ("run", words), ("tick", t) (timers run) or ("peek", t) (they do not).

    Clock moves are multiples of 1/4 s; some land exactly on a deadline set just before."""
    steps, now = [], 0.0
    for _ in range(n):
        if rng.random() < 0.3:
            now += rng.choice([0.25, 0.5, 1.0, 1.5])
            steps.append((rng.choice(["tick", "tick", "peek"]), now))
        steps.append(("run", _command(rng)))
    return steps
