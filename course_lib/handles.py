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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class Step:
    """What one ``step()`` did; ``str(step)`` says it in one line.

    ``kind`` is ``"poll"``, ``"callback"`` or ``"idle"`` (nothing can happen any more);
    ``index`` counts steps; ``start`` and ``end`` are loop times. A poll also has
    ``timeout`` (how long it was allowed to wait), ``events`` ([(file, EVENT_READ |
    EVENT_WRITE)]), ``timers_due`` (not cancelled) and ``queued`` (the batch, counted as
    asyncio counts it: a cancelled handle in it is skipped when its turn comes); a callback has ``handle``, ``error``
    (the exception it raised, or None) and ``slow`` (it took ``slow_callback_duration`` or more).
    """

    kind, handle, error, slow, timeout, events, timers_due, queued = "idle", None, None, False, None, (), 0, 0

    def __init__(self, index, start, end):
        self.index, self.start, self.end = index, start, end

    @property
    def waited(self) -> float:
        return self.end - self.start

    def __str__(self) -> str:
        return "idle: nothing can happen any more"

    def __repr__(self) -> str:
        return f"<Step {self.index} at {self.start:.6g}: {self}>"


class PollStep(Step):
    """``poll: waited 0.5 s, client:1 readable, 1 timer due -> 2 callbacks queued``"""

    kind = "poll"

    def __init__(self, index, start, end, timeout, events, timers_due, queued):
        self.index, self.start, self.end, self.timeout = index, start, end, timeout
        self.events, self.timers_due, self.queued = events, timers_due, queued

    def __str__(self) -> str:
        parts = [f"waited {self.waited:.4g} s"]
        for key, events in self.events:
            how = "/".join(word for bit, word in ((1, "readable"), (2, "writable")) if events & bit)
            parts.append(f"{'fd ' if isinstance(key, int) else ''}{describe(key)} {how}")
        parts.append(f"{_plural(self.timers_due, 'timer')} due")
        return f"poll: {', '.join(parts)} -> {_plural(self.queued, 'callback')} queued"


class CallbackStep(Step):
    """``ran on_data(client:1)``, maybe ``-> raised ValueError: ...`` and ``(slow: took 0.3 s)``"""

    kind = "callback"

    def __init__(self, index, start, end, handle):
        self.index, self.start, self.end, self.handle = index, start, end, handle

    def __str__(self) -> str:
        text = f"ran {self.handle.label}"
        if self.error is not None:
            text += f" -> raised {type(self.error).__name__}: {self.error}"
        if self.slow:
            text += f" (slow: took {self.waited:.3g} s)"
        return text


def check_number(value, what: str) -> None:
    """Raise TypeError naming ``what`` unless ``value`` is a real number (not bool, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise TypeError(f"{what} must be a number of seconds, got {value!r}")


def check_callback(fn) -> None:
    """Raise TypeError unless ``fn`` can be called as a callback (and is not an ``async def``)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable (the function the loop will call), got {fn!r}")
    if getattr(getattr(fn, "__code__", None), "co_flags", 0) & CO_COROUTINE:
        raise TypeError(f"fn must be a plain function, got the coroutine function {name_of(fn)}: "
                        "a callback loop calls functions; coroutines need tasks (chapter 06)")
