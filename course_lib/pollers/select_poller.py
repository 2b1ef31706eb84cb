"""The ``select()`` backend: the oldest and most portable way to wait for many fds.

What it is: every call hands the kernel the *whole* list of fds to watch, and the
kernel scans all of them; so one wait costs O(number of fds watched), and on most
Unix systems an fd number must stay below ``FD_SETSIZE`` (usually 1024). It works
everywhere, including Windows (sockets only).

What it is not: scalable. Compare ``epoll_poller.py``, where the kernel keeps the
interest list between calls.
"""

from __future__ import annotations

import select
import time

from course_lib.pollers.base import EVENT_READ, EVENT_WRITE, Poller


class SelectPoller(Poller):
    name = "select"

    def __init__(self):
        super().__init__()
        self._readers: set[int] = set()
        self._writers: set[int] = set()

    def _add(self, fd, events):
        if events & EVENT_READ:
            self._readers.add(fd)
        if events & EVENT_WRITE:
            self._writers.add(fd)

    def _change(self, fd, old, new):
        self._remove(fd, old)
        self._add(fd, new)

    def _remove(self, fd, old):
        self._readers.discard(fd)
        self._writers.discard(fd)

    def poll(self, timeout):
        if not self._readers and not self._writers:
            # select() with three empty lists is an error on Windows; just wait.
            if timeout:
                time.sleep(timeout)
            return []
        timeout = None if timeout is None else max(timeout, 0)
        try:
            readable, writable, _ = select.select(self._readers, self._writers, [], timeout)
        except (OSError, ValueError) as exc:
            raise OSError(f"select() failed ({exc}); was a file closed while still registered? "
                          "Call remove_reader/remove_writer before closing it.") from exc
        events: dict[int, int] = {}
        for fd in readable:
            events[fd] = EVENT_READ
        for fd in writable:
            events[fd] = events.get(fd, 0) | EVENT_WRITE
        return list(events.items())
