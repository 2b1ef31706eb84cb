"""The ``kqueue`` backend (macOS, FreeBSD and the other BSDs).

What it is: like epoll, the kernel keeps the interest list, and a wait returns only
what is ready. The difference: kqueue watches *(fd, filter)* pairs, so reading and
writing are two separate registrations (``KQ_FILTER_READ``, ``KQ_FILTER_WRITE``),
and one change call can add or delete several of them.

What it is not: available on Linux or Windows (``available_pollers()`` says what is).
"""

from __future__ import annotations

import select

from course_lib.pollers.base import EVENT_READ, EVENT_WRITE, Poller

_FILTERS = ((EVENT_READ, "KQ_FILTER_READ"), (EVENT_WRITE, "KQ_FILTER_WRITE"))


class KqueuePoller(Poller):
    name = "kqueue"

    def __init__(self):
        super().__init__()
        self._kqueue = select.kqueue()

    def _control(self, fd, events, flag):
        changes = [select.kevent(fd, getattr(select, f), flag) for bit, f in _FILTERS if events & bit]
        self._kqueue.control(changes, 0, 0)

    def _add(self, fd, events):
        self._control(fd, events, select.KQ_EV_ADD)

    def _change(self, fd, old, new):
        if old & ~new:
            self._remove(fd, old & ~new)
        if new & ~old:
            self._add(fd, new & ~old)

    def _remove(self, fd, old):
        try:
            self._control(fd, old, select.KQ_EV_DELETE)
        except OSError:  # the fd was already closed: the kernel forgot it by itself
            pass

    def poll(self, timeout):
        timeout = None if timeout is None else max(timeout, 0)
        max_events = max(2 * len(self._events), 1)  # up to one event per (fd, filter)
        ready: dict[int, int] = {}
        for kev in self._kqueue.control(None, max_events, timeout):
            bit = EVENT_READ if kev.filter == select.KQ_FILTER_READ else EVENT_WRITE
            if self._events.get(kev.ident, 0) & bit:
                ready[kev.ident] = ready.get(kev.ident, 0) | bit
        return list(ready.items())

    def close(self):
        super().close()
        self._kqueue.close()
