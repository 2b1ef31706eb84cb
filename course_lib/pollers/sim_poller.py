"""The simulated backend: a poller on a virtual clock, for simulated sockets.

What it is: the poller a simulated ``Loop()`` uses. It owns the virtual clock
(``now``, starting at 0.0). ``poll(timeout)`` does what a kernel would do, but
instantly: if a watched socket is ready it returns at once; otherwise it jumps the
clock to the next moment something arrives on the simulated network (see
``course_lib.simnet``), or to ``now + timeout`` if nothing arrives before that.
Every run is the same, so a loop on it can be stepped, replayed and drawn.

What it is not: a model of a real kernel's costs. Waiting takes no real time and
readiness is computed from the simulated sockets' buffers.
"""

from __future__ import annotations

from course_lib.pollers.base import Poller


class SimPoller(Poller):
    name = "simulated"

    def __init__(self):
        super().__init__()
        self.now = 0.0
        self.sources = []  # simulated networks: have next_time() and deliver(now)

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward (used by ``Loop.spend``)."""
        self.now += seconds

    def attach(self, source) -> None:
        """Let a simulated network's deliveries wake this poller."""
        if source not in self.sources:
            self.sources.append(source)

    def _add(self, sock, events):
        if not callable(getattr(sock, "readiness", None)):
            raise TypeError(
                f"the simulated loop can only wait on simulated sockets (course_lib.simnet), got {sock!r}; "
                "for real files and sockets use Loop(poller='default')"
            )

    def _change(self, sock, old, new):
        pass

    def _remove(self, sock, old):
        pass

    def _deliver(self) -> None:
        for source in self.sources:
            source.deliver(self.now)

    def _next_arrival(self):
        times = [t for t in (source.next_time() for source in self.sources) if t is not None]
        return min(times, default=None)

    def ready_now(self) -> list:
        """[(sock, events)] for the watched sockets that are ready at the current virtual time."""
        self._deliver()
        ready = []
        for sock, events in self._events.items():
            events &= sock.readiness()
            if events:
                ready.append((sock, events))
        return ready

    def can_happen(self) -> bool:
        """Could a poll ever report something? (a socket ready now, or data still on its way)"""
        return bool(self.ready_now()) or (bool(self._events) and self._next_arrival() is not None)

    def poll(self, timeout):
        start = self.now
        deadline = float("inf") if timeout is None else start + timeout
        while True:
            ready = self.ready_now()
            if ready or timeout == 0:
                return ready
            arrival = self._next_arrival()
            if arrival is None or arrival > deadline:
                break
            self.now = max(self.now, arrival)  # jump to the next arrival, look again
        if timeout is not None:
            self.now = start + timeout  # nothing arrived: sleep the whole timeout
        return []
