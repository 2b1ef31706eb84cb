"""The one small interface every poller (I/O backend) of the course implements.

What it is: a poller keeps a set of things to watch, each with an event mask, and
``poll(timeout)`` waits until one of them is ready (or the timeout passes) and says
which. The course's event loop (``course_lib.loop``) only ever talks to a poller
through these five methods, so the backends can be read side by side, like CPython's
``Lib/selectors.py`` or Redis's ``ae_select.c`` / ``ae_epoll.c``::

    poller.register(key, events)     # start watching key for EVENT_READ and/or EVENT_WRITE
    poller.modify(key, events)       # change what we watch key for
    poller.unregister(key)           # stop watching key
    poller.poll(timeout)             # -> [(key, events), ...]; timeout in seconds, 0 = don't wait, None = forever
    poller.close()

``key`` is an int file descriptor for the real backends, and a simulated socket for
the simulated one (``sim_poller``).

What it is not: ``selectors``. There is no per-key data here; the loop keeps its own
table of which callback waits for which key.
"""

from __future__ import annotations

import math

EVENT_READ = 1  # same values as selectors.EVENT_READ / EVENT_WRITE
EVENT_WRITE = 2


def check_events(events) -> int:
    """Return ``events`` if it is a non-empty mask of EVENT_READ | EVENT_WRITE, else raise ValueError."""
    if not isinstance(events, int) or not events or events & ~(EVENT_READ | EVENT_WRITE):
        raise ValueError(f"events must be EVENT_READ, EVENT_WRITE or both (1, 2 or 3), got {events!r}")
    return events


def timeout_ms(timeout) -> int | None:
    """Seconds -> whole milliseconds for poll()/epoll, rounded *up*: rounding a short
    wait down to 0 ms would make the loop spin instead of sleeping."""
    return None if timeout is None else math.ceil(max(timeout, 0) * 1e3)


class Poller:
    """Base class: keeps ``self._events`` ({key: events}) and checks the arguments.

    Subclasses implement ``_add(key, events)``, ``_change(key, old, new)``,
    ``_remove(key, old)`` and ``poll(timeout)``.
    """

    name = "base"

    def __init__(self):
        self._events: dict = {}

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

    # the backend-specific part
    def _add(self, key, events):  # pragma: no cover - abstract
        raise NotImplementedError

    def _change(self, key, old, new):  # pragma: no cover - abstract
        raise NotImplementedError

    def _remove(self, key, old):  # pragma: no cover - abstract
        raise NotImplementedError

    def poll(self, timeout):  # pragma: no cover - abstract
        raise NotImplementedError
