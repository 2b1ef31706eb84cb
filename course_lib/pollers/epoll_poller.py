"""The ``epoll`` backend (Linux): the kernel keeps the interest list between calls.

What it is: ``epoll_ctl`` adds, changes or removes one fd (``register``/``modify``/
``unregister``), and ``epoll_wait`` returns only the fds that are ready. A wait costs
O(number of ready fds), not O(number watched): ten thousand idle connections cost
nothing. We use it level-triggered (the default), like asyncio: an fd with unread
data is reported on every poll until it is read.

What it is not: portable (Linux only; macOS and the BSDs have ``kqueue``), and not
edge-triggered (``EPOLLET``), which chapter 05 shows on a simulated kernel buffer.
"""

from __future__ import annotations

import select

from course_lib.pollers.base import EVENT_READ, EVENT_WRITE, Poller, timeout_ms

_READ_BITS = select.EPOLLIN | select.EPOLLPRI | select.EPOLLHUP | select.EPOLLERR
_WRITE_BITS = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR


def _mask(events: int) -> int:
    return (select.EPOLLIN if events & EVENT_READ else 0) | (select.EPOLLOUT if events & EVENT_WRITE else 0)


class EpollPoller(Poller):
    name = "epoll"

    def __init__(self):
        super().__init__()
        self._epoll = select.epoll()

    def _add(self, fd, events):
        self._epoll.register(fd, _mask(events))

    def _change(self, fd, old, new):
        try:
            self._epoll.modify(fd, _mask(new))
        except FileNotFoundError:  # closed and reopened under the same number: the kernel forgot it
            self._epoll.register(fd, _mask(new))

    def _remove(self, fd, old):
        try:
            self._epoll.unregister(fd)
        except OSError:  # the fd was already closed: the kernel forgot it by itself
            pass

    def poll(self, timeout):
        if timeout is None:
            timeout = -1  # for ever
        elif timeout > 0:
            timeout = timeout_ms(timeout) / 1e3
        ready = []
        for fd, bits in self._epoll.poll(timeout, len(self._events) or 1):
            events = (EVENT_READ if bits & _READ_BITS else 0) | (EVENT_WRITE if bits & _WRITE_BITS else 0)
            events &= self._events.get(fd, 0)
            if events:
                ready.append((fd, events))
        return ready

    def close(self):
        super().close()
        self._epoll.close()
