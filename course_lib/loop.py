"""A step-able event loop: asyncio's callback loop, small enough to read in one sitting.

What it is: a ready queue (a ``deque``), a timer heap (``course_lib.timers``) and a table
of readers and writers (``course_lib.waiters``), driven one event at a time by ``step()``:

- a **poll** step waits for I/O (not at all if callbacks are ready, else until the
  earliest timer, or for ever if there are none), queues the callbacks of the ready
  files, then the timers that are due; that batch is what the next steps run;
- a **callback** step runs the next callback of that batch. What it schedules waits
  for the next poll. Cancelled handles are skipped.

One asyncio iteration (``BaseEventLoop._run_once``) is one poll step and one step per
callback of its batch, so the order is exactly asyncio's. ``run()`` is a short loop
over ``step()``, as Redis's ``aeMain`` is over ``aeProcessEvents``.

The loop never asks which backend it has: its poller (``course_lib.pollers``) waits and
owns the clock. ``Loop()`` gets the simulated one: a virtual clock from 0.0 and simulated
sockets (``course_lib.simnet``), every run the same. ``Loop(poller="epoll")`` (or
``"select"``, ``"poll"``, ``"kqueue"``, ``"default"``) gets a real one and the wall clock.

The loop never prints or draws: ``snapshot()`` and ``timeline()`` describe it (a callback
run is a ``"cpu"`` segment, a poll that waited an ``"io"`` segment of the row ``"poll"``),
and instruments (trio's idea) hear about every poll and callback.

Coroutines (chapter 06) come from ``course_lib.coroloop``: ``create_task``,
``run_until_complete``, ``sock_recv``... and the methods asyncio's own code calls.

What it is not: asyncio. No transports, subprocesses or signals; a callback's exception
is recorded in ``loop.errors`` instead of being logged.
"""

from __future__ import annotations

import collections
import itertools
from asyncio.events import _get_running_loop, _set_running_loop

from course_lib import validate
from course_lib.coroloop import CoroutineMethods
from course_lib.handles import CallbackStep, Handle, IdleStep, PollStep, StepRecord, TimerHandle
from course_lib.pollers import EVENT_READ, EVENT_WRITE, Poller, make_poller
from course_lib.segments import Segment, Timeline
from course_lib.timers import TimerHeap
from course_lib.waiters import Waiters

__all__ = ["Loop", "Handle", "TimerHandle", "StepRecord", "TooManySteps"]

MAXIMUM_SELECT_TIMEOUT = 24 * 3600  # asyncio's cap on one wait


class TooManySteps(RuntimeError):
    """``run(max_steps=...)`` took that many steps and the loop still had work."""


class Loop(CoroutineMethods):
    """The course's event loop. ``Loop()``: simulated; ``Loop(poller="default")``: real."""

    slow_callback_duration = 0.1  # seconds on the loop's clock; slower callbacks are flagged

    def __init__(self, poller: str | Poller = "simulated", *, callback_cost: float = 0.0, trace_limit: int = 10_000):
        self._poller = poller if isinstance(poller, Poller) else make_poller(poller)
        self._clock, self._resolution = self._poller.time, self._poller.resolution
        self._t0 = self._clock()  # where timeline() starts
        self._cost = validate.seconds(callback_cost, "callback_cost", minimum=0)
        self._ready = collections.deque()  # Handles, run first in first out
        self._todo = 0  # how many handles at the front of _ready belong to the current batch
        self._timers = TimerHeap()  # by deadline, then scheduling order
        self._waiters = Waiters(self._poller)
        self._trace = collections.deque(maxlen=validate.count(trace_limit, "trace_limit", unit="steps kept"))
        self._instruments, self.errors = [], []  # errors: the CallbackSteps whose callback raised
        self._steps, self._stopping, self._closed, self._until = 0, False, False, None

    @property
    def poller(self) -> Poller:
        """The backend this loop waits with, and whose clock it reads."""
        return self._poller

    @property
    def simulated(self) -> bool:
        """True on a virtual clock with simulated sockets (the Stepper can replay such a run)."""
        return self._poller.simulated

    # -- the clock and scheduling ------------------------------------------------------
    def time(self) -> float:
        """The loop's clock, which is its poller's: virtual seconds from 0.0, or ``time.monotonic()``."""
        return self._clock()

    def call_soon(self, fn, *args, context=None) -> Handle:
        """Run ``fn(*args)`` in the next batch (after the next poll), first in first out."""
        validate.callback(fn)
        return self._call_soon(fn, args, context)

    def _call_soon(self, fn, args, context) -> Handle:
        """``call_soon`` without looking at ``fn``: for futures and tasks, whose callbacks are known
        good (asyncio's ``BaseEventLoop._call_soon``, with the same arguments)."""
        if self._closed:  # what _new_handle does, written out: this is the loop's busiest door
            raise RuntimeError("the loop is closed")
        handle = Handle(fn, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(self, delay, fn, *args, context=None) -> TimerHandle:
        """Run ``fn(*args)`` ``delay`` seconds from now (a negative delay means now)."""
        return self.call_at(self.time() + validate.seconds(delay, "delay"), fn, *args, context=context)

    def call_at(self, when, fn, *args, context=None) -> TimerHandle:
        """Run ``fn(*args)`` when ``time()`` reaches ``when``."""
        handle = self._new_handle(fn, args, validate.seconds(when, "when"), context)
        self._timers.push(handle)
        return handle

    def _new_handle(self, fn, args, when=None, context=None) -> Handle:
        """A Handle for ``fn(*args)`` (a TimerHandle if ``when`` is given), if the loop is open."""
        validate.callback(fn)
        if self._closed:
            raise RuntimeError("the loop is closed")
        return Handle(fn, args, self, context) if when is None else TimerHandle(when, fn, args, self, context)

    def _timer_handle_cancelled(self, handle) -> None:
        """A timer was cancelled (asyncio's protocol): the heap counts it, and cleans up later."""
        self._timers.cancelled(handle)

    def spend(self, seconds) -> None:
        """Model CPU work inside a callback: the poller's clock moves on (real clock: a busy wait)."""
        self._poller.spend(validate.seconds(seconds, "seconds", minimum=0))

    # -- readers and writers -----------------------------------------------------------
    def add_reader(self, f, fn, *args) -> None:
        """Call ``fn(*args)`` whenever ``f`` is readable (replaces an earlier reader of ``f``)."""
        self._waiters.add(EVENT_READ, f, self._new_handle(fn, args))

    def add_writer(self, f, fn, *args) -> None:
        """Call ``fn(*args)`` whenever ``f`` is writable (replaces an earlier writer of ``f``)."""
        self._waiters.add(EVENT_WRITE, f, self._new_handle(fn, args))

    def remove_reader(self, f) -> bool:
        """Stop watching ``f`` for reading; True if it was watched. A queued call is cancelled."""
        return self._waiters.remove(EVENT_READ, f)

    def remove_writer(self, f) -> bool:
        """Stop watching ``f`` for writing; True if it was watched. A queued call is cancelled."""
        return self._waiters.remove(EVENT_WRITE, f)

    # -- stepping ----------------------------------------------------------------------
    def step(self) -> StepRecord:
        """Do one thing: run the next callback of the current batch, or else poll once.

        Meanwhile this loop is asyncio's running loop (``asyncio.get_running_loop()``), so
        asyncio's own coroutines run on it; the loop running before (Jupyter's) comes back after."""
        outer = _get_running_loop()
        if outer is self:
            return self._step()
        _set_running_loop(self)
        try:
            return self._step()
        finally:
            _set_running_loop(outer)

    def _step(self) -> StepRecord:
        if self._closed:
            raise RuntimeError("the loop is closed")
        while self._todo:
            self._todo -= 1
            handle = self._ready.popleft()
            if not handle._cancelled:
                return self._run_callback(handle)
        return self._poll()

    def _run_callback(self, handle) -> CallbackStep:
        """The one place where callbacks are called."""
        self._steps += 1
        if self._instruments:
            self._notify("before_callback", handle)
        start, error = self._clock(), None
        try:
            if handle._context is None:
                handle._callback(*handle._args)
            else:  # a task's step runs in the task's own contextvars
                handle._context.run(handle._callback, *handle._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # reported, and the loop goes on (as asyncio does)
            error = exc
        if self._cost:
            self._poller.spend(self._cost)
        end = self._clock()
        result = CallbackStep((self._steps, start, end, handle, error, end - start >= self.slow_callback_duration))
        if error is not None:
            self.errors.append(result)
        self._trace.append(result)
        if self._instruments:
            self._notify("after_callback", handle, result)
        return result

    def _poll(self) -> StepRecord:
        """Wait for I/O, then queue the I/O callbacks and the due timers as the next batch."""
        ready, timers, clock = self._ready, self._timers, self._clock
        deadline = timers.next_deadline() if timers else None
        if ready or self._stopping:
            timeout = 0
        elif deadline is not None:
            timeout = min(max(0, deadline - clock()), MAXIMUM_SELECT_TIMEOUT)
        else:
            timeout = None
        if self._until is not None:
            left = max(0, self._until - clock())
            timeout = left if timeout is None else min(timeout, left)
        if timeout is None and not self._poller.can_report():
            return IdleStep((self._steps, clock(), clock()))  # waiting would be for ever
        self._steps += 1
        if self._instruments:
            self._notify("before_poll", timeout)
        start = clock()
        events = self._poller.poll(timeout)
        if events:  # I/O callbacks first...
            ready.extend(self._waiters.handles(events))
        end = clock()
        due = timers.pop_due(end + self._resolution, ready) if timers else 0  # ...then the timers that are due
        self._todo = len(ready)  # this batch (asyncio's ntodo); what it schedules waits for the next poll
        result = PollStep((self._steps, start, end, timeout, events, due, self._todo))
        self._trace.append(result)
        if self._instruments:
            self._notify("after_poll", events)
        return result

    def run(self, until=None, max_steps=None) -> None:
        """Step until nothing can happen, ``stop()`` is called, or ``until`` is reached: a
        time (the clock gets there even if nothing happens) or a function returning True.
        Returns at the end of a batch, as asyncio does. More than ``max_steps`` steps raises
        ``TooManySteps``; ``None`` means the poller's ``runaway_limit`` (none on a real clock;
        on the virtual one a million, so an endless program stops instead of hanging)."""
        condition = until if callable(until) else None
        until = None if condition is not None else validate.seconds(until, "until", optional=True)
        max_steps = self._poller.runaway_limit if max_steps is None else validate.count(max_steps, "max_steps")
        if self._closed:
            raise RuntimeError("the loop is closed")
        self._until = until  # a time: _poll waits no longer than that
        steps, step, outer = 0, self._step, _get_running_loop()
        _set_running_loop(self)  # for the whole run, rather than in every step()
        try:
            while (self._todo and not self._ready[0]._cancelled) or not self._run_over(condition):
                if steps == max_steps:
                    raise TooManySteps(f"run() took {steps} steps and the loop still has work: the program may never "
                                       "finish (a callback that always reschedules itself?); pass a larger max_steps")
                step()
                steps += 1
        finally:
            self._until, self._stopping = None, False
            _set_running_loop(outer)

    def _run_over(self, condition) -> bool:
        """Should run() return? Only between batches: no live callback of this one is left."""
        if self._todo and any(not h._cancelled for h in itertools.islice(self._ready, self._todo)):
            return False
        if self._stopping:
            return True
        if self._until is not None:  # a time: the clock must get there, even if nothing happens
            return self._clock() >= self._until - self._resolution
        return (condition is not None and condition()) or (not self._ready and self.done)

    def stop(self) -> None:
        """Make ``run()`` return at the end of the current batch (at once if called before it)."""
        self._stopping = True

    @property
    def done(self) -> bool:
        """True when nothing more can ever happen: no callbacks, no timers, nothing to wait for."""
        return self._closed or (all(h._cancelled for h in self._ready) and self._timers.next_deadline() is None
                                and not self._poller.can_report())

    # -- looking at it -----------------------------------------------------------------
    def add_instrument(self, instrument) -> None:
        """``instrument`` may define before_poll(timeout), after_poll(events),
        before_callback(handle), after_callback(handle, step); each is called if present."""
        self._instruments.append(instrument)

    def remove_instrument(self, instrument) -> None:
        self._instruments.remove(instrument)

    def _notify(self, hook, *args):
        for instrument in list(self._instruments):
            if hasattr(instrument, hook):
                getattr(instrument, hook)(*args)

    def snapshot(self) -> dict:
        """The loop's state as plain data (what the Stepper shows)."""
        return {
            "clock": self.time(),
            "mode": self._poller.name,
            "step": self._steps,
            "ready": [h.label + (" (cancelled)" if h._cancelled else "") for h in self._ready],
            "batch_left": self._todo,
            "timers": [{"when": when, "callback": h.label} for when, h in self._timers.pending()],
            "readers": self._waiters.describe(EVENT_READ),
            "writers": self._waiters.describe(EVENT_WRITE),
            "errors": [f"{s.handle.label}: {type(s.error).__name__}: {s.error}" for s in self.errors],
            "last_step": str(self._trace[-1]) if self._trace else "",
            "done": self.done,
        } | ({"tasks": self.task_states()} if self.tasks() else {})

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
            self._waiters.clear()
            self._poller.close()
            self._close_coroutine_methods()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<Loop {self._poller.name} at {self.time():.6g}, step {self._steps}{' closed' if self._closed else ''}>"
