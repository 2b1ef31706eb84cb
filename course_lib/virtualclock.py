"""asyncio on a virtual clock: the real asyncio event loop, but waiting costs no time.

What it is: asyncio's own ``SelectorEventLoop`` with one part swapped, the selector, the
place where a loop waits. A ``VirtualSelector`` never sleeps: asked to wait ``t`` seconds
for I/O, it moves a virtual clock forward by ``t`` and reports nothing ready, and the loop's
``time()`` reads that clock. Everything else is asyncio's code, unchanged: its ready queue,
its timer heap, its tasks, futures, ``sleep``, ``gather``, ``wait_for``. So a program of
callbacks or coroutines runs instantly and deterministically, at the times asyncio would run
it, and it is the *oracle* the course compares its own loop with::

    from course_lib import virtualclock

    def program(loop, log):                  # schedules callbacks; log(event) notes the time
        loop.call_later(1, log, "one second")
        loop.call_soon(log, "at once")

    virtualclock.record(program).events      # [('at once', 0.0), ('one second', 1.0)]

    async def main():
        await asyncio.sleep(3600)
        return "an hour later"

    loop = virtualclock.virtual_asyncio_loop()
    loop.run_until_complete(main())          # 'an hour later', at once; loop.time() == 3600.0

- The run ends when nothing can happen any more: no callback ready, no timer, so asyncio
  would block for ever. The selector raises ``Idle`` and ``run_forever`` returns (a
  ``run_until_complete`` whose coroutine still waits then raises ``RuntimeError``).
- ``loop.spend(seconds)`` models CPU work inside a callback: the clock moves on while it "runs".
- Exceptions that asyncio would log (a callback raised) are kept in ``loop.errors`` instead.
- asyncio's timer heap compares deadlines only, so timers with exactly equal deadlines come
  out in no promised order. ``fifo_ties=True`` runs them in the order they were scheduled
  (the course loop's tie-break) and changes nothing else.
- ``record(program)`` also works inside Jupyter, whose own asyncio loop is already running
  in the notebook's thread: asyncio refuses to start a second loop there, so ``record`` steps
  the outer loop aside for the run and puts it back after.

What it is not: a simulation of the network. Files registered with the selector (asyncio's
own wake-up pipe) are never ready, since nothing outside the program happens on a virtual
clock. To wait on simulated sockets, subclass ``VirtualSelector`` (keep ``now`` and
``advance``; let ``select`` report the simulated sockets) and pass it as ``selector=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import selectors
from dataclasses import dataclass, field

from course_lib import validate

__all__ = ["VirtualClockLoop", "VirtualSelector", "Idle", "Recording", "virtual_asyncio_loop", "record"]


class Idle(Exception):
    """Nothing can happen any more: no callback is ready and no timer is left, so a real
    loop would wait for ever. ``VirtualClockLoop.run_forever`` ends when it sees this."""


class VirtualSelector(selectors.BaseSelector):
    """A selector that never sleeps: waiting ``timeout`` seconds moves ``now`` instead."""

    def __init__(self, start: float = 0.0):
        self.now = validate.seconds(start, "start")
        self._keys: dict = {}

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        self.now += seconds

    def select(self, timeout=None):
        if timeout is None:  # asyncio waits without a timeout only when no timer is left
            raise Idle("no callback is ready and no timer is left")
        self.advance(timeout)
        return []  # nothing outside the program happens on a virtual clock

    # the bookkeeping every selector has: remember what was registered
    def register(self, fileobj, events, data=None):
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = self._keys[fileobj] = selectors.SelectorKey(fileobj, fd, events, data)
        return key

    def unregister(self, fileobj):
        return self._keys.pop(fileobj)

    def get_map(self):
        return self._keys

    def close(self) -> None:
        self._keys.clear()


class _FifoTimerHandle(asyncio.TimerHandle):
    """asyncio's timer handle, with equal deadlines ordered by scheduling order."""

    __slots__ = ("_seq",)

    def __lt__(self, other):
        return (self._when, self._seq) < (other._when, other._seq)


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """asyncio's selector event loop on a ``VirtualSelector``'s clock (see the module's docstring)."""

    def __init__(self, *, fifo_ties: bool = False, selector: VirtualSelector | None = None):
        self.clock = VirtualSelector() if selector is None else selector  # where the time is kept
        super().__init__(self.clock)
        self.fifo_ties = bool(fifo_ties)
        self.errors: list[BaseException] = []  # what asyncio would have logged, in order
        self._order = itertools.count()
        self.set_exception_handler(self._keep_error)

    def time(self) -> float:
        return self.clock.now

    def spend(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass now, as a callback doing CPU work would."""
        self.clock.advance(validate.seconds(seconds, "seconds", minimum=0))

    def run_forever(self) -> None:
        """asyncio's ``run_forever``, which also ends when nothing can happen any more."""
        try:
            super().run_forever()
        except Idle:
            pass

    def call_at(self, when, callback, *args, context=None):
        if not self.fifo_ties:
            return super().call_at(when, callback, *args, context=context)
        # asyncio's own call_at, with a handle that carries its scheduling order
        self._check_closed()
        timer = _FifoTimerHandle(when, callback, args, self, context)
        timer._seq = next(self._order)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def _keep_error(self, loop, context) -> None:
        self.errors.append(context.get("exception") or RuntimeError(context.get("message", "asyncio error")))


def virtual_asyncio_loop(fifo_ties: bool = False) -> VirtualClockLoop:
    """A new asyncio event loop on a virtual clock that starts at 0.0 (as ``asyncio.new_event_loop()``)."""
    return VirtualClockLoop(fifo_ties=fifo_ties)


@dataclass
class Recording:
    """What ``record`` saw: the logged events with their times, and how the run ended."""

    events: list = field(default_factory=list)  # [(event, virtual time), ...] in the order logged
    result: object = None  # what the program's coroutine returned (None for callbacks only)
    errors: list = field(default_factory=list)  # exceptions raised in callbacks and tasks (loop.errors)
    time: float = 0.0  # the clock when the run ended


def record(program, *, fifo_ties: bool = False) -> Recording:
    """Run ``program(loop, log)`` on a fresh ``VirtualClockLoop`` until nothing can happen.

    ``program`` schedules callbacks on ``loop`` and may return a coroutine (or any
    awaitable; an ``async def program`` does), which is then run to completion as with
    ``run_until_complete``; its exception, if any, is raised here. ``log(event)`` appends
    ``(event, loop.time())`` to the recording's ``events``.
    """
    if not validate.is_coroutine_function(program):  # an ``async def program(loop, log)`` is welcome too
        validate.callback(program, "program")
    # asyncio exports these two for loops that run inside another one; the outer loop is
    # Jupyter's, if this thread runs one, and it waits (blocked in this call) until we are done
    outer = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    loop = VirtualClockLoop(fifo_ties=fifo_ties)
    recording = Recording()
    try:
        main = program(loop, lambda event: recording.events.append((event, loop.time())))
        if not inspect.isawaitable(main):  # a program of callbacks (whatever it returned)
            loop.run_forever()
        else:
            task = asyncio.ensure_future(main, loop=loop)
            try:
                recording.result = loop.run_until_complete(task)
            except RuntimeError:
                if task.done():
                    raise
                task.cancel()  # let it end now, so closing the loop leaves no pending task behind
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
                raise Idle(f"the program's {_name(main)} waits for something that can no longer happen") from None
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        recording.errors, recording.time = loop.errors, loop.time()
        loop.close()
        asyncio.events._set_running_loop(outer)
    return recording


def _name(awaitable) -> str:
    code = getattr(awaitable, "cr_code", None)
    return f"coroutine {code.co_name}()" if code is not None else type(awaitable).__name__
