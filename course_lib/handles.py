"""What the event loop hands out and hands back: handles, and the record of one step.

What it is: the small objects ``course_lib.loop`` is built from, kept apart so the
loop itself reads in one sitting:

- ``Handle``: a callback and its arguments, waiting in the ready queue; ``cancel()``
  makes sure it never runs. ``TimerHandle`` adds ``when()``, its deadline.
- ``StepRecord``: what one ``loop.step()`` did (a ``PollStep``, a ``CallbackStep``, or
  an ``IdleStep`` when nothing can happen any more); ``str(record)`` is one line such
  as ``"poll: waited 0.5 s, 1 timer due -> 1 callback queued"``.

The handles' names, attributes and protocol are asyncio's (``asyncio.events.Handle``,
``TimerHandle``; a cancelled timer tells its loop through ``_timer_handle_cancelled``),
so asyncio's own code can hold them.

What it is not: asyncio's handles. No source tracebacks; a handle runs only through the
loop, never by itself.
"""

from __future__ import annotations

from operator import itemgetter

__all__ = ["Handle", "TimerHandle", "StepRecord", "IdleStep", "PollStep", "CallbackStep", "name_of", "describe"]


def task_of(fn):
    """The task whose step ``fn`` is (a bound method of a Task), or None."""
    owner = getattr(fn, "__self__", None)
    return owner if hasattr(owner, "get_coro") and hasattr(owner, "get_name") else None


def name_of(fn) -> str:
    """A short name for a callback: ``on_data``, ``Server.accept``, ``<lambda>``; a task's step is
    named after the task (``A``), so a timeline draws one row per task."""
    task = task_of(fn)
    if task is not None:
        return task.get_name()
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

    __slots__ = ("_callback", "_args", "_cancelled", "_loop", "_context")

    def __init__(self, callback, args, loop, context=None):
        self._callback, self._args, self._cancelled, self._loop = callback, args, False, loop
        self._context = context  # a contextvars.Context to run it in (a task's steps have one), or None

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def name(self) -> str:
        return name_of(self._callback)

    @property
    def label(self) -> str:
        """``on_data(client:1)``: the callback and its arguments; ``A: step`` for a task."""
        if task_of(self._callback) is not None:
            return f"{self.name}: {'wake up' if self._callback.__name__ == '_wakeup' else 'step'}"
        return f"{self.name}({', '.join(describe(a) for a in self._args)})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}{' cancelled' if self._cancelled else ''}>"


class TimerHandle(Handle):
    """A callback that waits until the loop's clock reaches ``when()``."""

    __slots__ = ("_when", "_scheduled")

    def __init__(self, when, callback, args, loop, context=None):
        super().__init__(callback, args, loop, context)
        self._when, self._scheduled = when, True

    def when(self) -> float:
        return self._when

    def cancel(self) -> None:
        if not self._cancelled:
            self._loop._timer_handle_cancelled(self)  # lets the loop clean its heap, as asyncio does
        self._cancelled = True


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _fields(*positions):
    return [property(itemgetter(i)) for i in positions]


class StepRecord(tuple):
    """What one ``step()`` did; ``str(record)`` says it in one line.

    ``kind`` is ``"poll"``, ``"callback"`` or ``"idle"`` (nothing can happen any more);
    ``index`` counts steps; ``start`` and ``end`` are loop times. A poll also has
    ``timeout`` (how long it was allowed to wait), ``events`` ([(file, EVENT_READ |
    EVENT_WRITE)]), ``timers_due`` (not cancelled) and ``queued`` (the batch, counted as
    asyncio counts it: a cancelled handle in it is skipped when its turn comes); a
    callback has ``handle``, ``error`` (the exception it raised, or None) and ``slow``
    (it took ``slow_callback_duration`` or more). Every record has every attribute.

    A record is a tuple with named fields, like a ``namedtuple``: ``PollStep((index,
    start, end, timeout, events, timers_due, queued))``. Python builds a tuple without
    running any Python code, and the loop makes one record per step.
    """

    __slots__ = ()
    kind, handle, error, slow, timeout, events, timers_due, queued = "", None, None, False, None, (), 0, 0
    index, start, end = _fields(0, 1, 2)

    @property
    def waited(self) -> float:
        return self.end - self.start

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.index} at {self.start:.6g}: {self}>"


class IdleStep(StepRecord):
    """``idle: nothing can happen any more`` (no callback, no timer, nothing to wait for)"""

    __slots__ = ()
    kind = "idle"

    def __str__(self) -> str:
        return "idle: nothing can happen any more"


class PollStep(StepRecord):
    """``poll: waited 0.5 s, client:1 readable, 1 timer due -> 2 callbacks queued``"""

    __slots__ = ()
    kind = "poll"
    timeout, events, timers_due, queued = _fields(3, 4, 5, 6)

    def __str__(self) -> str:
        parts = [f"waited {self.waited:.4g} s"]
        for key, events in self.events:
            how = "/".join(word for bit, word in ((1, "readable"), (2, "writable")) if events & bit)
            parts.append(f"{'fd ' if isinstance(key, int) else ''}{describe(key)} {how}")
        parts.append(f"{_plural(self.timers_due, 'timer')} due")
        return f"poll: {', '.join(parts)} -> {_plural(self.queued, 'callback')} queued"


class CallbackStep(StepRecord):
    """``ran on_data(client:1)``, maybe ``-> raised ValueError: ...`` and ``(slow: took 0.3 s)``"""

    __slots__ = ()
    kind = "callback"
    handle, error, slow = _fields(3, 4, 5)

    def __str__(self) -> str:
        text = f"ran {self.handle.label}"
        if self.error is not None:
            text += f" -> raised {type(self.error).__name__}: {self.error}"
        if self.slow:
            text += f" (slow: took {self.waited:.3g} s)"
        return text
