"""Level- and edge-triggered readiness, shown on a simulated kernel buffer.

What it is: a tiny model of one socket's receive buffer inside the kernel and of
a program that waits on it with ``epoll_wait`` and reads it with ``recv``.

- ``KernelBuffer``: the kernel buffer. ``arrive(data)`` is the network delivering
  bytes; ``recv(n)`` takes up to ``n`` bytes, and raises ``BlockingIOError``
  (EAGAIN) when the buffer is empty, like a non-blocking socket. After
  ``close_peer()`` (the peer closed: end of file) an empty buffer reads as ``b""``.
- ``TriggerDemo(mode, ...)``: a steppable run (see ``widgets.Stepper``). Bytes
  arrive at given times; the program waits, then reads ``read_size`` bytes once
  per report (``drain=False``) or reads until EAGAIN (``drain=True``).

The two modes differ in one rule only:

- **level-triggered** (``"level"``): a wait reports the socket *while* its buffer
  holds bytes. Bytes left behind are reported again on the next wait.
- **edge-triggered** (``"edge"``): a wait reports the socket only when *new*
  bytes have arrived since the last report. Bytes left behind are not reported
  again, so a reader that does not drain to EAGAIN can stall with data waiting.
  (Linux's ``EPOLLET`` behaves this way: each arrival is an edge.)

What it is not: a network simulator. There is one socket, no peer and no timing
model beyond a virtual clock in milliseconds (each ``recv`` takes 1 ms).
"""

from __future__ import annotations

from course_lib import validate
from course_lib.segments import Segment, Timeline

__all__ = ["KernelBuffer", "TriggerDemo", "MODES"]

MODES = ("level", "edge")


class KernelBuffer:
    """A simulated kernel receive buffer with a non-blocking ``recv``.

    ``edge`` is True when bytes arrived since the last edge-triggered report;
    ``recv_calls`` counts every call, including those that raised EAGAIN.
    """

    def __init__(self):
        self.buffer = bytearray()
        self.edge = False
        self.recv_calls = 0
        self.eagain_calls = 0
        self.eof = False

    def close_peer(self) -> None:
        """The peer closed its end: once the buffer is empty, ``recv`` returns b"" (also an edge)."""
        self.eof = True
        self.edge = True

    def arrive(self, data: bytes) -> None:
        """The network delivers ``data`` into the kernel buffer (this is an edge)."""
        self.buffer += data
        if data:
            self.edge = True

    def recv(self, n: int) -> bytes:
        """Take up to ``n`` bytes; raise ``BlockingIOError`` if there are none (EAGAIN)."""
        validate.count(n, "n", minimum=1, unit="bytes")
        self.recv_calls += 1
        if not self.buffer:
            if self.eof:
                return b""
            self.eagain_calls += 1
            raise BlockingIOError(11, "Resource temporarily unavailable (EAGAIN)")
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def readable(self, mode: str) -> bool:
        """Would ``epoll_wait`` report this socket now, in ``mode``? (Consumes the edge.)"""
        if mode == "level":
            return bool(self.buffer) or self.eof
        fired, self.edge = self.edge, False
        return fired

    def __len__(self) -> int:
        return len(self.buffer)

    def __repr__(self) -> str:
        return f"KernelBuffer({len(self.buffer)} bytes buffered)"


class _Event(str):
    """What one step did: a one-line string (the Stepper prints it)."""


class TriggerDemo:
    """One socket, one reader, a list of arrivals; step through what each mode reports.

    ``arrivals`` is a list of ``(time_ms, nbytes)``; ``read_size`` is what one
    ``recv`` asks for; ``drain`` makes the reader call ``recv`` until EAGAIN after
    each report instead of once.
    """

    def __init__(self, mode: str = "level", arrivals=((0, 300), (10, 100)), read_size: int = 100, drain: bool = False):
        validate.one_of(mode, "mode", MODES)
        validate.count(read_size, "read_size", minimum=1, unit="bytes")
        arrivals = sorted((float(t), int(n)) for t, n in arrivals)
        if any(t < 0 or n <= 0 for t, n in arrivals):
            raise ValueError(f"arrivals must be (time_ms >= 0, nbytes > 0) pairs, got {arrivals!r}")
        self.mode, self.read_size, self.drain = mode, read_size, drain
        self.sock = KernelBuffer()
        self.clock = 0.0
        self.pending = list(arrivals)  # arrivals still to come
        self.state = "wait"  # the program is in epoll_wait ("wait") or calling recv ("read")
        self.received = 0  # bytes the program has read
        self.total = sum(n for _, n in arrivals)
        self.log: list[str] = []
        self._segments: list[Segment] = []
        self._wait_since = 0.0

    # --- the steppable protocol -------------------------------------------------
    @property
    def done(self) -> bool:
        """Nothing more can happen: no arrivals left and the wait would never return."""
        if self.pending or self.state == "read":
            return False
        return not (self.sock.buffer if self.mode == "level" else self.sock.edge)

    @property
    def stalled(self) -> bool:
        """Done, yet bytes sit in the kernel buffer that the program will never read."""
        return self.done and bool(self.sock.buffer)

    def step(self) -> _Event:
        """Advance one event: an arrival, a wait that returns, or one ``recv``."""
        if self.done:
            stuck = f": {len(self.sock)} bytes are stuck" if self.stalled else ""
            return self._say("nothing more can happen" + stuck)
        if self.pending and self.pending[0][0] <= self.clock:
            return self._arrive()
        if self.state == "wait":
            if self.sock.readable(self.mode):
                self._segments.append(Segment("program", "io", self._wait_since, self.clock))
                self.state = "read"
                why = "new bytes arrived" if self.mode == "edge" else f"{len(self.sock)} bytes are buffered"
                return self._say(f"epoll_wait returns: readable ({why})")
            self.clock = max(self.clock, self.pending[0][0])  # sleep until the next arrival
            return self._arrive()
        return self._recv()

    def snapshot(self) -> dict:
        reader = "drain to EAGAIN" if self.drain else f"one recv({self.read_size}) per report"
        new = " (new since last report)" if self.sock.edge and self.mode == "edge" else ""
        return {
            "clock": int(self.clock) if self.clock == int(self.clock) else self.clock,  # ms; an int: no "s" unit shown
            "mode": f"{self.mode}-triggered, {reader} (clock in ms)",
            "kernel buffer": f"{len(self.sock)} bytes{new}",
            "program": {"wait": "in epoll_wait", "read": "reading"}[self.state] + (": STALLED" if self.stalled else ""),
            "received": f"{self.received} of {self.total} bytes",
            "arrivals to come": [f"t={t:g} ms: {n} bytes" for t, n in self.pending],
        }

    def timeline(self) -> Timeline:
        segments = list(self._segments)
        if self.state == "wait" and not self.done:
            segments.append(Segment("program", "io", self._wait_since, self.clock))
        if self.stalled:
            segments.append(Segment("program", "stalled", self.clock, self.clock + 5))
        title = f"{self.mode}-triggered, " + ("draining reader" if self.drain else "one recv per report")
        return Timeline(segments, title=title, tasks=["network", "program"])

    def run(self, max_steps: int = 1000) -> "TriggerDemo":
        """Step until done (at most ``max_steps``); returns self."""
        validate.count(max_steps, "max_steps")
        for _ in range(max_steps):
            if self.done:
                break
            self.step()
        return self

    # --- the events ---------------------------------------------------------------
    def _arrive(self) -> _Event:
        t, n = self.pending.pop(0)
        self.sock.arrive(b"x" * n)
        self._segments.append(Segment("network", f"+{n} B", t, t + 1))
        return self._say(f"{n} bytes arrive; the kernel buffer holds {len(self.sock)}")

    def _recv(self) -> _Event:
        start = self.clock
        self.clock += 1
        try:
            data = self.sock.recv(self.read_size)
        except BlockingIOError:
            self._segments.append(Segment("program", "EAGAIN", start, self.clock))
            self._back_to_wait()
            return self._say("recv -> EAGAIN: the buffer is empty, back to epoll_wait")
        self.received += len(data)
        self._segments.append(Segment("program", "cpu", start, self.clock))
        if not self.drain:
            self._back_to_wait()
        left = f"{len(self.sock)} left in the kernel"
        then = "keep reading" if self.drain else "back to epoll_wait"
        return self._say(f"recv({self.read_size}) -> {len(data)} bytes ({left}); {then}")

    def _back_to_wait(self) -> None:
        self.state = "wait"
        self._wait_since = self.clock

    def _say(self, text: str) -> _Event:
        line = _Event(f"t={self.clock:g} ms: {text}")
        self.log.append(line)
        return line

    def __repr__(self) -> str:
        return (f"TriggerDemo({self.mode!r}, drain={self.drain}, received {self.received}/{self.total}, "
                f"clock {self.clock:g})")
