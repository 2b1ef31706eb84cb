"""The one small interface every poller (I/O backend) of the course implements.

What it is: a poller keeps a set of things to watch, each with an event mask, and
``poll(timeout)`` waits until one of them is ready (or the timeout passes) and says
which. It also owns the clock the loop's timers run on, so the event loop
(``course_lib.loop``) never asks which backend it has: it talks to a poller through
this interface and nothing else, and the backends can be read side by side, like
CPython's ``Lib/selectors.py`` or Redis's ``ae_select.c`` / ``ae_epoll.c``.

Watching (each backend writes ``poll`` and three small ``_add``/``_change``/``_remove``)::

    poller.register(key, events)   # start watching key for EVENT_READ and/or EVENT_WRITE
    poller.modify(key, events)     # change what we watch key for
    poller.unregister(key)         # stop watching key
    poller.events_for(key)         # what key is watched for (0: not watched)
    poller.poll(timeout)           # -> [(key, events), ...]; seconds, 0 = don't wait, None = for ever
    poller.can_report()            # could poll(None) ever return? False: it would wait for ever
    poller.key_for(f)              # the key that stands for f: a file descriptor, for real files
    poller.close()

Time (the real backends share the base class's; the simulated one has its own)::

    poller.time()                  # the clock timers run on: time.monotonic(), or virtual seconds
    poller.resolution              # the clock's tick: a timer due within it counts as due
    poller.spend(seconds)          # stand for CPU work: a busy wait, or the virtual clock moves on
    poller.simulated               # True for a virtual clock and simulated sockets (every run the same)
    poller.runaway_limit           # run()'s default max_steps: None, or a bound where runs never end by themselves

``key`` is an int file descriptor for the real backends, and a simulated socket for
the simulated one (``sim_poller``).

What it is not: ``selectors``. There is no per-key data here; the loop keeps its own
table of which callback waits for which key (``course_lib.waiters``).
"""

from __future__ import annotations

import math
import time

from course_lib import validate

EVENT_READ = 1  # same values as selectors.EVENT_READ / EVENT_WRITE
EVENT_WRITE = 2

# Everything the loop may ask of a poller (a test checks that it asks nothing else, and
# that every backend has all of it). ``name`` is only for showing: "select", "simulated".
INTERFACE = ("register", "modify", "unregister", "events_for", "poll", "can_report", "key_for", "close",
             "time", "resolution", "spend", "simulated", "runaway_limit", "name")


def check_events(events) -> int:
    """Return ``events`` if it is a non-empty mask of EVENT_READ | EVENT_WRITE, else raise."""
    validate.count(events, "events", minimum=1, unit="EVENT_READ, EVENT_WRITE or both")
    if events & ~(EVENT_READ | EVENT_WRITE):
        raise ValueError(f"events must be EVENT_READ, EVENT_WRITE or both (1, 2 or 3), got {events!r}")
    return events


def timeout_ms(timeout) -> int | None:
    """Seconds -> whole milliseconds for poll()/epoll, rounded *up*: rounding a short
    wait down to 0 ms would make the loop spin instead of sleeping."""
    return None if timeout is None else math.ceil(max(timeout, 0) * 1e3)


class Poller:
    """Base class: keeps ``self._events`` ({key: events}), checks the arguments, and is
    the real backends' clock and file-descriptor rule.

    Subclasses implement ``_add(key, events)``, ``_change(key, old, new)``,
    ``_remove(key, old)`` and ``poll(timeout)``.
    """

    name = "base"
    simulated = False  # the wall clock and real files: no two runs are the same
    runaway_limit = None  # a real loop may run for ever (a server does)
    resolution = time.get_clock_info("monotonic").resolution
    time = staticmethod(time.monotonic)  # the loop reads it after every callback: no wrapper in between

    def __init__(self):
        self._events: dict = {}

    # -- watching ------------------------------------------------------------------------
    def register(self, key, events: int) -> None:
        check_events(events)
        if key in self._events:
            raise KeyError(f"{key!r} is already registered with this {self.name} poller; use modify()")
        self._add(key, events)
        self._events[key] = events

    def modify(self, key, events: int) -> None:
        check_events(events)
        old = self._get(key)
        if old != events:
            self._change(key, old, events)
            self._events[key] = events

    def unregister(self, key) -> None:
        old = self._get(key)
        del self._events[key]
        self._remove(key, old)

    def events_for(self, key) -> int:
        """The events ``key`` is watched for (0 if it is not registered)."""
        return self._events.get(key, 0)

    def can_report(self) -> bool:
        """Could ``poll(None)`` ever return? Here: yes while anything is watched (a real
        file may become ready any time; only an empty interest list waits for ever)."""
        return bool(self._events)

    def key_for(self, f) -> int:
        """The file descriptor that stands for ``f``: ``f`` itself, or ``f.fileno()``."""
        if isinstance(f, int) and not isinstance(f, bool):
            fd = f
        elif callable(getattr(f, "fileno", None)):
            fd = f.fileno()
        else:
            raise TypeError(f"f must be a file object with a fileno() method or a file descriptor (int), got {f!r}")
        if fd < 0:
            raise ValueError(f"f: invalid file descriptor {fd} (is the file closed?)")
        return fd

    def registered(self) -> dict:
        """{key: events} being watched (a copy)."""
        return dict(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def close(self) -> None:
        self._events.clear()

    def _get(self, key) -> int:
        try:
            return self._events[key]
        except KeyError:
            raise KeyError(f"{key!r} is not registered with this {self.name} poller") from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} watching {len(self._events)}>"

    # -- time ----------------------------------------------------------------------------
    def spend(self, seconds: float) -> None:
        """Stand for ``seconds`` of CPU work: on the wall clock, a busy wait."""
        end = self.time() + seconds
        while self.time() < end:
            pass

    # -- the backend-specific part -------------------------------------------------------
    def _add(self, key, events):  # pragma: no cover - abstract
        raise NotImplementedError

    def _change(self, key, old, new):  # pragma: no cover - abstract
        raise NotImplementedError

    def _remove(self, key, old):  # pragma: no cover - abstract
        raise NotImplementedError

    def poll(self, timeout):  # pragma: no cover - abstract
        raise NotImplementedError
