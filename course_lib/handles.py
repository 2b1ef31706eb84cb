"""What the event loop hands out and hands back: handles, and the record of one step.

What it is: the small objects ``course_lib.loop`` is built from, kept apart so the
loop itself reads in one sitting:

- ``Handle``: a callback and its arguments, waiting in the ready queue; ``cancel()``
  makes sure it never runs. ``TimerHandle`` adds ``when()``, its deadline.
- ``Step``: what one ``loop.step()`` did (``PollStep``, ``CallbackStep``); ``str(step)``
  is one line such as ``"poll: waited 0.5 s, 1 timer due -> 1 callback queued"``.
- the argument checks every scheduling method shares.

The names are asyncio's (``asyncio.events.Handle``, ``TimerHandle``).

What it is not: asyncio's handles. No contextvars, no source tracebacks; a handle
runs only through the loop, never by itself.
"""

from __future__ import annotations

import numbers

__all__ = ["Handle", "TimerHandle", "Step", "PollStep", "CallbackStep", "name_of", "describe",
           "check_number", "check_callback"]

CO_COROUTINE = 0x80  # the code flag of an ``async def`` function


def name_of(fn) -> str:
    """A short name for a callback: ``on_data``, ``Server.accept``, ``<lambda>``."""
    fn = getattr(fn, "func", fn)  # functools.partial
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return name.rsplit("<locals>.", 1)[-1]


def describe(obj) -> str:
    """A short text for a callback argument or a watched file (an int is a number, not an fd)."""
    if hasattr(obj, "readiness"):  # a simulated socket has a short str()
        return str(obj)
    if hasattr(obj, "fileno") and not isinstance(obj, (str, bytes)):
        try:
            return f"fd {obj.fileno()}"
        except Exception:  # a closed file object
            pass
    text = repr(obj)
    return text if len(text) <= 24 else text[:21] + "..."


class Handle:
    """A callback waiting to run; ``cancel()`` makes sure it never does."""

    __slots__ = ("_callback", "_args", "_cancelled", "_loop")

    def __init__(self, callback, args, loop):
        self._callback, self._args, self._cancelled, self._loop = callback, args, False, loop

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def name(self) -> str:
        return name_of(self._callback)

    @property
    def label(self) -> str:
        """``on_data(client:1)``: the callback and its arguments."""
        return f"{self.name}({', '.join(describe(a) for a in self._args)})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}{' cancelled' if self._cancelled else ''}>"


class TimerHandle(Handle):
    """A callback that waits until the loop's clock reaches ``when()``."""

    __slots__ = ("_when", "_scheduled")

    def __init__(self, when, callback, args, loop):
        super().__init__(callback, args, loop)
        self._when, self._scheduled = when, True

    def when(self) -> float:
        return self._when

    def cancel(self) -> None:
        if not self._cancelled and self._scheduled:
            self._loop._cancelled_timers += 1  # lets the loop clean its heap, as asyncio does
        self._cancelled = True


class Step:
    """What one ``step()`` did; ``str(step)`` says it in one line.

    ``kind`` is ``"poll"``, ``"callback"`` or ``"idle"`` (nothing can happen any more);
    ``index`` counts steps; ``start`` and ``end`` are loop times.
    A poll has ``timeout`` (what it was allowed to wait), ``waited``, ``events`` ([(key, events)]), ``timers_due`` and ``queued``;
    a callback has ``handle``, ``error`` (the exception it raised, or None) and ``slow``.
    """

    kind, handle, error, slow, timeout, events, timers_due, queued = "idle", None, None, False, None, (), 0, 0

    def __init__(self, index, start, end):
        self.index, self.start, self.end = index, start, end

    @property
    def waited(self) -> float:
        return self.end - self.start

    def __str__(self) -> str:
        if self.kind == "idle":
            return "idle: nothing can happen any more"
        if self.kind == "poll":
            io = [f"{'fd ' if isinstance(key, int) else ''}{describe(key)} "
                  f"{'/'.join(w for b, w in ((1, 'readable'), (2, 'writable')) if ev & b)}" for key, ev in self.events]
            parts = [f"waited {self.waited:.4g} s"] + io + [f"{self.timers_due} timer{'s'[:self.timers_due != 1]} due"]
            return f"poll: {', '.join(parts)} -> {self.queued} callback{'s'[:self.queued != 1]} queued"
        text = f"ran {self.handle.label}"
        if self.error is not None:
            text += f" -> raised {type(self.error).__name__}: {self.error}"
        if self.slow:
            text += f" (slow: took {self.waited:.3g} s)"
        return text

    def __repr__(self) -> str:
        return f"<Step {self.index} at {self.start:.6g}: {self}>"


class PollStep(Step):
    kind = "poll"

    def __init__(self, index, start, end, timeout, events, timers_due, queued):
        self.index, self.start, self.end, self.timeout = index, start, end, timeout
        self.events, self.timers_due, self.queued = events, timers_due, queued


class CallbackStep(Step):
    kind = "callback"

    def __init__(self, index, start, end, handle):
        self.index, self.start, self.end, self.handle = index, start, end, handle


def check_number(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise TypeError(f"{what} must be a number of seconds, got {value!r}")


def check_callback(fn) -> None:
    if not callable(fn):
        raise TypeError(f"fn must be callable (the function the loop will call), got {fn!r}")
    if getattr(getattr(fn, "__code__", None), "co_flags", 0) & CO_COROUTINE:
        raise TypeError(f"fn must be a plain function, got the coroutine function {name_of(fn)}: "
                        "a callback loop calls functions; coroutines need tasks (chapter 06)")
