"""A step-able event loop: asyncio's callback loop, small enough to read in one sitting.

What it is: a ready queue (``collections.deque``), a timer heap and a table of
readers and writers, driven one event at a time by ``step()``:

- a **poll** step waits for I/O (not at all if callbacks are ready, else until the
  earliest timer, or for ever if there are none), queues the callbacks of the
  ready files, then the timers that are due (by deadline, then in the order they
  were scheduled); that batch is what the next steps run;
- a **callback** step runs the next callback of that batch. What it schedules waits
  for the next poll. Cancelled handles are skipped.

So one asyncio iteration (``BaseEventLoop._run_once``) is one poll step followed by
one step per callback of its batch, and the order is exactly asyncio's.
``Loop()`` runs on a virtual clock from 0.0 with simulated sockets
(``course_lib.simnet``): every run is the same, and waiting takes no real time.
``Loop(poller="epoll")`` (or ``"select"``, ``"poll"``, ``"kqueue"``, ``"default"``)
uses the wall clock and a real backend from ``course_lib.pollers``.

The loop never prints or draws. ``snapshot()`` and ``timeline()`` describe it, and
instruments (trio's idea) hear about every poll and callback. In ``timeline()`` a
callback run is a ``"cpu"`` segment of the callback's name and a poll that waited
is an ``"io"`` segment of the row ``"poll"``.

What it is not: asyncio. No futures, tasks, transports, threads or signals; a
callback's exception is recorded in ``loop.errors`` instead of being logged.
"""

from __future__ import annotations

import collections
import heapq
import time as _time

from course_lib.handles import CallbackStep, Handle, PollStep, Step, TimerHandle, check_callback, check_number, describe
from course_lib.pollers import EVENT_READ, EVENT_WRITE, Poller, make_poller
from course_lib.segments import Segment, Timeline

__all__ = ["Loop", "Handle", "TimerHandle", "Step", "TooManySteps"]

MAXIMUM_SELECT_TIMEOUT = 24 * 3600  # asyncio's cap on one wait


class TooManySteps(RuntimeError):
    """``run(max_steps=...)`` took that many steps and the loop still had work."""


class Loop:
    """The course's event loop. ``Loop()``: simulated; ``Loop(poller="default")``: real."""

    slow_callback_duration = 0.1  # seconds (virtual in simulated mode); slower callbacks are flagged
    simulated_max_steps = 1_000_000  # run()'s safety net in simulated mode when max_steps is None

    def __init__(self, poller: str | Poller | None = None, *, callback_cost: float = 0.0, trace_limit: int = 10_000):
        self._poller = make_poller("simulated" if poller is None else poller) if not isinstance(poller, Poller) else poller
        self.simulated = self._poller.name == "simulated"
        self._clock = self._poller.time if self.simulated else _time.monotonic
        self._t0 = 0.0 if self.simulated else self._clock()
        check_number(callback_cost, "callback_cost")
        if callback_cost and not self.simulated:
            raise ValueError("callback_cost models CPU time on the virtual clock: use it only with Loop()")
        self._cost = callback_cost
        self._clock_resolution = _time.get_clock_info("monotonic").resolution
        self._ready = collections.deque()  # Handles, run first in first out
        self._todo = 0  # how many handles at the front of _ready belong to the current batch
        self._timers = []  # heap of (when, seq, TimerHandle): by deadline, then scheduling order
        self._seq = 0
        self._cancelled_timers = 0
        self._readers, self._writers, self._files = {}, {}, {}  # key -> Handle; key -> file object
        self._instruments = []
        if isinstance(trace_limit, bool) or not isinstance(trace_limit, int) or trace_limit < 0:
            raise ValueError(f"trace_limit must be an int >= 0 (steps kept for timeline()), got {trace_limit!r}")
        self._trace = collections.deque(maxlen=trace_limit)  # the last Steps, for timeline()
        self.errors = []  # Steps whose callback raised
        self._steps, self._stopping, self._closed, self._until = 0, False, False, None

    # -- the clock and scheduling ------------------------------------------------------
    def time(self) -> float:
        """The loop's clock: virtual seconds from 0.0, or ``time.monotonic()`` in real mode."""
        return self._clock()

    def call_soon(self, fn, *args) -> Handle:
        """Run ``fn(*args)`` in the next batch (after the next poll), first in first out."""
        check_callback(fn)
        if self._closed:
            raise RuntimeError("the loop is closed")
        handle = Handle(fn, args, self)
        self._ready.append(handle)
        return handle

    def call_later(self, delay, fn, *args) -> TimerHandle:
        """Run ``fn(*args)`` ``delay`` seconds from now (a negative delay means now)."""
        check_number(delay, "delay")
        return self.call_at(self.time() + delay, fn, *args)

    def call_at(self, when, fn, *args) -> TimerHandle:
        """Run ``fn(*args)`` when ``time()`` reaches ``when``."""
        check_number(when, "when")
        check_callback(fn)
        if self._closed:
            raise RuntimeError("the loop is closed")
        handle = TimerHandle(when, fn, args, self)
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, handle))
        return handle

    def spend(self, seconds) -> None:
        """Model CPU work inside a callback: the virtual clock moves on (real mode: a busy wait)."""
        check_number(seconds, "seconds")
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        if self.simulated:
            self._poller.advance(seconds)
        else:
            end = _time.monotonic() + seconds
            while _time.monotonic() < end:
                pass

    # -- readers and writers -----------------------------------------------------------
    def add_reader(self, f, fn, *args) -> None:
        """Call ``fn(*args)`` whenever ``f`` is readable (replaces an earlier reader of ``f``)."""
        self._add_waiter(self._readers, f, fn, args)

    def add_writer(self, f, fn, *args) -> None:
        """Call ``fn(*args)`` whenever ``f`` is writable (replaces an earlier writer of ``f``)."""
        self._add_waiter(self._writers, f, fn, args)

    def remove_reader(self, f) -> bool:
        """Stop watching ``f`` for reading; True if it was watched. A queued call is cancelled."""
        return self._remove_waiter(self._readers, f)

    def remove_writer(self, f) -> bool:
        """Stop watching ``f`` for writing; True if it was watched. A queued call is cancelled."""
        return self._remove_waiter(self._writers, f)

    def _key(self, f):
        if self.simulated:
            return f  # the simulated poller checks that f is a simulated socket
        if isinstance(f, int) and not isinstance(f, bool):
            fd = f
        elif callable(getattr(f, "fileno", None)):
            fd = f.fileno()
            if fd < 0:  # closed: find it by the object it was registered with
                fd = next((k for k, obj in self._files.items() if obj is f), fd)
        else:
            raise TypeError(f"f must be a file object with a fileno() method or a file descriptor (int), got {f!r}")
        if fd < 0:
            raise ValueError(f"f: invalid file descriptor {fd} (is the file closed?)")
        return fd

    def _add_waiter(self, table, f, fn, args):
        check_callback(fn)
        if self._closed:
            raise RuntimeError("the loop is closed")
        key = self._key(f)
        old = table.get(key)
        table[key] = Handle(fn, args, self)
        try:
            self._watch(key)
        except BaseException:
            table.pop(key) if old is None else table.__setitem__(key, old)
            raise
        self._files[key] = f
        if old is not None:
            old.cancel()

    def _remove_waiter(self, table, f) -> bool:
        key = self._key(f)
        handle = table.pop(key, None)
        if handle is None:
            return False
        handle.cancel()
        self._watch(key)
        return True

    def _watch(self, key):
        """Tell the poller what we now wait for on ``key``."""
        new = (EVENT_READ if key in self._readers else 0) | (EVENT_WRITE if key in self._writers else 0)
        old = self._poller.events_for(key)
        if not new:
            self._files.pop(key, None)
            if old:
                self._poller.unregister(key)
        elif not old:
            self._poller.register(key, new)
        elif old != new:
            self._poller.modify(key, new)

    # -- stepping ----------------------------------------------------------------------
    def step(self) -> Step:
        """Do one thing: run the next callback of the current batch, or else poll once."""
        if self._closed:
            raise RuntimeError("the loop is closed")
        while self._todo:
            self._todo -= 1
            handle = self._ready.popleft()
            if not handle._cancelled:
                return self._run_callback(handle)
        return self._poll()

    def _run_callback(self, handle) -> Step:
        """The one place where callbacks are called."""
        self._steps += 1
        if self._instruments:
            self._notify("before_callback", handle)
        start, error = self._clock(), None
        try:
            handle._callback(*handle._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # reported, and the loop goes on (as asyncio does)
            error = exc
        if self._cost:
            self._poller.advance(self._cost)
        end = self._clock()
        result = CallbackStep(self._steps, start, end, handle)
        if end - start >= self.slow_callback_duration:
            result.slow = True
        if error is not None:
            result.error = error
            self.errors.append(result)
        self._trace.append(result)
        if self._instruments:
            self._notify("after_callback", handle, result)
        return result

    def _drop_cancelled_timers(self):
        timers = self._timers
        if len(timers) > 100 and self._cancelled_timers > len(timers) // 2:  # mostly dead: rebuild
            for _, _, handle in timers:
                handle._scheduled = not handle._cancelled
            timers[:] = [entry for entry in timers if entry[2]._scheduled]
            heapq.heapify(timers)
            self._cancelled_timers = 0
        while timers and timers[0][2]._cancelled:
            heapq.heappop(timers)[2]._scheduled = False
            self._cancelled_timers -= 1

    def _poll(self) -> Step:
        """Wait for I/O, then queue the I/O callbacks and the due timers as the next batch."""
        ready, timers, clock = self._ready, self._timers, self._clock
        if timers:
            self._drop_cancelled_timers()
        if ready or self._stopping:
            timeout = 0
        elif timers:
            timeout = min(max(0, timers[0][0] - clock()), MAXIMUM_SELECT_TIMEOUT)
        else:
            timeout = None
        if self._until is not None:
            left = max(0, self._until - clock())
            timeout = left if timeout is None else min(timeout, left)
        if timeout is None and not (self._poller.can_happen() if self.simulated else len(self._poller)):
            return Step(self._steps, clock(), clock())  # idle: waiting would be for ever
        self._steps += 1
        if self._instruments:
            self._notify("before_poll", timeout)
        start = clock()
        events = self._poller.poll(timeout)
        for key, mask in events:  # I/O callbacks first...
            if mask & EVENT_READ and key in self._readers:
                ready.append(self._readers[key])
            if mask & EVENT_WRITE and key in self._writers:
                ready.append(self._writers[key])
        end = clock()
        due, end_time = 0, end + self._clock_resolution
        while timers and timers[0][0] < end_time:  # ...then the timers that are due
            handle = heapq.heappop(timers)[2]
            handle._scheduled = False
            ready.append(handle)
            due += not handle._cancelled
        self._todo = len(ready)  # this batch (asyncio's ntodo); what it schedules waits for the next poll
        result = PollStep(self._steps, start, end, timeout, events, due, self._todo)
        self._trace.append(result)
        if self._instruments:
            self._notify("after_poll", events)
        return result

    def run(self, until=None, max_steps=None) -> None:
        """Step until nothing can happen, ``stop()`` is called, or ``until`` is reached: a
        time (the clock gets there even if nothing happens) or a function returning True.
        Returns at the end of a batch, as asyncio does. More than ``max_steps`` steps
        raises ``TooManySteps``; in simulated mode ``None`` means ``simulated_max_steps``
        (a million), so an endless program stops with an error instead of hanging."""
        if until is not None and not callable(until):
            check_number(until, "until")
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0):
            raise ValueError(f"max_steps must be an int >= 0 or None, got {max_steps!r}")
        if self._closed:
            raise RuntimeError("the loop is closed")
        if max_steps is None and self.simulated:
            max_steps = self.simulated_max_steps
        self._until = None if until is None or callable(until) else until
        steps, ready, run_callback = 0, self._ready, self._run_callback
        try:
            while True:
                if not self._todo and (self._stopping or (until is not None and self._reached(until))
                                       or (not ready and self._until is None and self.done)):
                    return
                if steps == max_steps:
                    raise TooManySteps(f"run() took {steps} steps and the loop still has work: the program "
                                       "may never finish (a callback that always reschedules itself?); "
                                       "pass a larger max_steps or call loop.stop()")
                steps += 1
                if self._todo:  # what step() does, inlined for speed: the next callback of the batch,
                    self._todo -= 1
                    handle = ready.popleft()
                    if not handle._cancelled:
                        run_callback(handle)
                else:  # or, between batches, a poll
                    self._poll()
        finally:
            self._until, self._stopping = None, False

    def _reached(self, until) -> bool:
        if until is None:
            return False
        return until() if callable(until) else self._clock() >= until - self._clock_resolution

    def stop(self) -> None:
        """Make ``run()`` return at the end of the current batch."""
        self._stopping = True

    @property
    def done(self) -> bool:
        """True when nothing more can ever happen: no callbacks, no timers, nothing to wait for."""
        if self._closed:
            return True
        if any(not h._cancelled for h in self._ready):
            return False
        self._drop_cancelled_timers()
        if self._timers:
            return False
        return not (self._poller.can_happen() if self.simulated else len(self._poller))

    # -- looking at it -----------------------------------------------------------------
    def add_instrument(self, instrument) -> None:
        """``instrument`` may define before_poll(timeout), after_poll(events),
        before_callback(handle), after_callback(handle, step); each is called if present."""
        self._instruments.append(instrument)

    def remove_instrument(self, instrument) -> None:
        self._instruments.remove(instrument)

    def _notify(self, hook, *args):
        for instrument in list(self._instruments):
            method = getattr(instrument, hook, None)
            if method is not None:
                method(*args)

    def snapshot(self) -> dict:
        """The loop's state as plain data (what the Stepper shows)."""
        def watched(table):
            return {f"fd {key}" if isinstance(key, int) else describe(key): handle.label for key, handle in table.items()}

        return {
            "clock": self.time(),
            "mode": self._poller.name,
            "step": self._steps,
            "ready": [h.label + (" (cancelled)" if h._cancelled else "") for h in self._ready],
            "batch_left": self._todo,
            "timers": [{"when": when, "callback": h.label} for when, _, h in sorted(self._timers) if not h._cancelled],
            "readers": watched(self._readers),
            "writers": watched(self._writers),
            "errors": [f"{s.handle.label}: {type(s.error).__name__}: {s.error}" for s in self.errors],
            "last_step": str(self._trace[-1]) if self._trace else "",
            "done": self.done,
        }

    def timeline(self, title: str = "event loop") -> Timeline:
        """What happened so far (the last ``trace_limit`` steps), for ``plot_timeline``."""
        segments = []
        for s in self._trace:
            if s.kind == "callback":
                segments.append(Segment(s.handle.name, "cpu", s.start - self._t0, s.end - self._t0, s.index))
            elif s.timeout != 0 and s.end > s.start:  # a wait (polls that only look are left out)
                segments.append(Segment("poll", "io", s.start - self._t0, s.end - self._t0, s.index))
        return Timeline(segments, title=title)

    def close(self) -> None:
        """Forget every callback and release the poller (closing it twice is fine)."""
        if not self._closed:
            self._closed, self._todo = True, 0
            self._ready.clear()
            self._timers.clear()
            self._readers.clear()
            self._writers.clear()
            self._files.clear()
            self._poller.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<Loop {self._poller.name} at {self.time():.6g}, step {self._steps}{' closed' if self._closed else ''}>"
