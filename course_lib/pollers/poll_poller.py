"""The ``poll()`` backend: like select, but with a list of (fd, mask) instead of bit sets.

What it is: the kernel still scans every watched fd on every call (O(n) per wait),
but there is no ``FD_SETSIZE`` limit and the interest list lives in a
``select.poll`` object between calls, so we only tell it about changes.
Available on Linux and macOS, not on Windows.

What it is not: scalable either; see ``epoll_poller.py`` and ``kqueue_poller.py``.
"""

from __future__ import annotations

import select

from course_lib.pollers.base import EVENT_READ, EVENT_WRITE, Poller, timeout_ms

# A hang-up or an error makes an fd both readable and writable: the next recv/send says what happened.
_READ_BITS = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR | select.POLLNVAL
_WRITE_BITS = select.POLLOUT | select.POLLHUP | select.POLLERR | select.POLLNVAL


def _mask(events: int) -> int:
    return (select.POLLIN if events & EVENT_READ else 0) | (select.POLLOUT if events & EVENT_WRITE else 0)


class PollPoller(Poller):
    name = "poll"

    def __init__(self):
        super().__init__()
        self._poll = select.poll()

    def _add(self, fd, events):
        self._poll.register(fd, _mask(events))

    def _change(self, fd, old, new):
        self._poll.modify(fd, _mask(new))

    def _remove(self, fd, old):
        self._poll.unregister(fd)

    def poll(self, timeout):
        ready = []
        for fd, bits in self._poll.poll(timeout_ms(timeout)):
            events = (EVENT_READ if bits & _READ_BITS else 0) | (EVENT_WRITE if bits & _WRITE_BITS else 0)
            events &= self._events.get(fd, 0)  # report only what was asked for
            if events:
                ready.append((fd, events))
        return ready
