"""I/O backends ("pollers") for the course's event loop, one small module each.

What it is: the same small interface (see ``base.py``: watch, poll, and the clock
the loop's timers run on) implemented with

- ``select_poller``  ``select()``: everywhere, O(n) per wait, fds below FD_SETSIZE
- ``poll_poller``    ``poll()``: Unix, O(n) per wait, no fd limit
- ``epoll_poller``   ``epoll``: Linux, O(ready) per wait
- ``kqueue_poller``  ``kqueue``: macOS and BSD, O(ready) per wait
- ``sim_poller``     a virtual clock and simulated sockets (``course_lib.simnet``)

Open two of them side by side: the loop does not change, only how it waits and
which clock it reads. It never asks which one it has.
``available_pollers()`` lists what this machine has; ``make_poller(name)`` builds one.

What it is not: a replacement for ``selectors``; there is no per-key data and no
``DevpollSelector``. Use ``selectors`` in real programs.
"""

from __future__ import annotations

import importlib
import select

from course_lib.pollers.base import EVENT_READ, EVENT_WRITE, Poller

__all__ = ["EVENT_READ", "EVENT_WRITE", "Poller", "available_pollers", "make_poller", "default_poller_name"]

# name -> (module, class, what the select module must have); best first for "default"
_BACKENDS = {
    "epoll": ("epoll_poller", "EpollPoller", "epoll"),
    "kqueue": ("kqueue_poller", "KqueuePoller", "kqueue"),
    "poll": ("poll_poller", "PollPoller", "poll"),
    "select": ("select_poller", "SelectPoller", "select"),
}


def available_pollers() -> list[str]:
    """The real backends this platform has, best first, e.g. ``['epoll', 'poll', 'select']``."""
    return [name for name, (_, _, needs) in _BACKENDS.items() if hasattr(select, needs)]


def default_poller_name() -> str:
    """The best real backend here (what ``"default"`` means): epoll, else kqueue, else poll, else select."""
    return available_pollers()[0]


def make_poller(name: str = "default") -> Poller:
    """A new poller: ``"default"``, one of ``available_pollers()``, or ``"simulated"``."""
    if not isinstance(name, str):
        raise TypeError(f"poller must be a name such as 'select' or 'default', got {name!r}")
    if name == "default":
        name = default_poller_name()
    if name == "simulated":
        from course_lib.pollers.sim_poller import SimPoller

        return SimPoller()
    here = available_pollers()
    if name not in here:
        known = "unknown poller" if name not in _BACKENDS else "this platform has no"
        raise ValueError(f"{known} {name!r}: this platform has {', '.join(here)} (or 'default', 'simulated')")
    module, cls, _ = _BACKENDS[name]
    return getattr(importlib.import_module(f"course_lib.pollers.{module}"), cls)()
