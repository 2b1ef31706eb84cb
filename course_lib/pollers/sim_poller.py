"""The simulated backend: a poller on a virtual clock, for simulated sockets.

What it is: the poller a simulated ``Loop()`` uses, one more backend beside select
and epoll. It owns the virtual clock (``time()``, from 0.0). ``poll(timeout)`` does
what a kernel would do, but instantly: if a watched socket is ready it returns at
once; otherwise it jumps the clock to the next moment something arrives on a
simulated network (``course_lib.simnet``), or to ``now + timeout`` if nothing
arrives before that. ``spend(seconds)`` moves the clock on, as CPU work would. Every
run is the same, so a loop on it can be stepped, replayed and drawn.

Beyond the interface of ``base.py`` it has one door, ``attach(network)``: how a
simulated network plugs its wire in, so that its arrivals wake the poller. The loop
never uses it; ``SimNetwork(loop)`` does, through ``loop.poller``.

What it is not: a model of a real kernel's costs. Waiting takes no real time and
readiness is computed from the simulated sockets' buffers.
"""

from __future__ import annotations

from course_lib.pollers.base import Poller


def _check_simulated(sock):
    if not callable(getattr(sock, "readiness", None)):
        raise TypeError(
            f"the simulated loop can only wait on simulated sockets (course_lib.simnet), got {sock!r}; "
            "for real files and sockets use Loop(poller='default')"
        )


class SimPoller(Poller):
    name = "simulated"
    simulated = True
    runaway_limit = 1_000_000  # no real time passes: a program that never ends must stop with an error, not hang
    # resolution: the base class's, so timers come due exactly when asyncio on a virtual clock has them due

    def __init__(self):
        super().__init__()
        self._now = 0.0
        self._networks = []  # simulated networks: they have next_time() and deliver(now)

    def time(self) -> float:
        return self._now

    def spend(self, seconds: float) -> None:
        self._now += seconds

    def key_for(self, f):
        """A simulated socket is its own key."""
        _check_simulated(f)
        return f

    def attach(self, network) -> None:
        """Let a simulated network's arrivals wake this poller (``SimNetwork`` calls it)."""
        if network not in self._networks:
            self._networks.append(network)

    def _add(self, sock, events):
        _check_simulated(sock)

    def _change(self, sock, old, new):
        pass

    def _remove(self, sock, old):
        pass

    def can_report(self) -> bool:
        """A watched socket is ready now, or data is still on its way."""
        return bool(self._ready_now()) or (bool(self._events) and self._next_arrival() is not None)

    def poll(self, timeout):
        start = self._now
        deadline = float("inf") if timeout is None else start + timeout
        while True:
            ready = self._ready_now()
            if ready or timeout == 0:
                return ready
            arrival = self._next_arrival()
            if arrival is None or arrival > deadline:
                break
            self._now = max(self._now, arrival)  # jump to the next arrival, look again
        if timeout is not None:
            self._now = start + timeout  # nothing arrived: sleep the whole timeout
        return []

    def _ready_now(self) -> list:
        """[(sock, events)] for the watched sockets that are ready at the current virtual time."""
        for network in self._networks:
            network.deliver(self._now)
        ready = []
        for sock, events in self._events.items():
            events &= sock.readiness()
            if events:
                ready.append((sock, events))
        return ready

    def _next_arrival(self):
        times = [t for t in (network.next_time() for network in self._networks) if t is not None]
        return min(times, default=None)
