"""Simulated sockets on the loop's virtual clock: a network you can step through.

What it is: ``SimNetwork(loop, latency=0.05, buffer_size=65536)`` connects
simulated sockets that behave like non-blocking TCP sockets, deterministically::

    net = SimNetwork(loop, latency=0.05)
    listener = net.listen("server:80")
    client = net.connect("server:80")     # the listener sees it `latency` s later
    client.send(b"hi")                    # -> bytes accepted; BlockingIOError when the window is full
    conn, addr = listener.accept()        # BlockingIOError if no connection has arrived yet
    conn.recv(100)                        # -> data; BlockingIOError if none yet; b"" after the peer closed
    a, b = net.socketpair()               # two ends already connected
    sock = net.socket(); sock.connect("server:80")   # the same as net.connect, in two steps

Bytes arrive ``latency`` seconds after ``send``. Each direction has a window of
``buffer_size`` bytes: data sent but not yet read by the receiver counts against it,
so a sender that outpaces its reader gets partial sends, then ``BlockingIOError``.
``Loop()`` can wait on these sockets with ``add_reader``/``add_writer``; its poller
jumps the virtual clock to the next arrival. Ready-made servers that run on the same
loop through callbacks are in ``course_lib.simservers`` (``EchoServer``, ``LineServer``).

What it is not: TCP. No packets, handshake, loss or congestion control;
``shutdown`` knows only ``SHUT_WR``; the receive window reopens the moment the reader reads; a connect
to an address nobody listens on is refused at once.
"""

from __future__ import annotations

import heapq
import itertools
import socket

from course_lib import validate
from course_lib.pollers import EVENT_READ, EVENT_WRITE
from course_lib.pollers.sim_poller import SimPoller

__all__ = ["SimNetwork", "SimSocket", "SimListener", "EchoServer", "LineServer"]


class SimNetwork:
    """The wire between simulated sockets: a queue of arrivals on the loop's clock."""

    def __init__(self, loop, latency: float = 0.05, buffer_size: int = 65536):
        poller = getattr(loop, "poller", None)
        if not isinstance(poller, SimPoller):
            raise TypeError(f"loop must be a simulated course_lib.loop.Loop() (virtual clock), got {loop!r}")
        self.latency = validate.seconds(latency, "latency", minimum=0)
        self.buffer_size = validate.count(buffer_size, "buffer_size", minimum=1, unit="bytes")
        self.loop = loop
        self._listeners: dict[str, SimListener] = {}
        self._arrivals: list = []  # heap of (time, seq, action)
        self._seq = itertools.count()
        self._clients = itertools.count(1)
        poller.attach(self)  # the wire plugs into the simulated poller: its arrivals wake the loop

    # what the simulated poller asks
    def next_time(self):
        return self._arrivals[0][0] if self._arrivals else None

    def deliver(self, now: float) -> None:
        """Carry out every arrival due by ``now``, in the order they were sent."""
        while self._arrivals and self._arrivals[0][0] <= now:
            heapq.heappop(self._arrivals)[2]()

    def _send_later(self, action) -> None:
        heapq.heappush(self._arrivals, (self.loop.time() + self.latency, next(self._seq), action))

    def _now(self) -> None:
        self.deliver(self.loop.time())

    def listen(self, address: str) -> SimListener:
        """A listening socket at ``address`` (any string, e.g. ``"server:80"``)."""
        if not isinstance(address, str):
            raise TypeError(f"address must be a string such as 'server:80', got {address!r}")
        if address in self._listeners:
            raise OSError(f"address {address!r} is already in use")
        self._listeners[address] = listener = SimListener(self, address)
        return listener

    def connect(self, address: str) -> SimSocket:
        """A client socket connected to ``address``; it may send at once."""
        client = self.socket()
        client.connect(address)
        return client

    def socket(self) -> SimSocket:
        """A client socket, not connected yet: then ``sock.connect(address)``."""
        return SimSocket(self, f"client:{next(self._clients)}")

    def _connect(self, client: SimSocket, address: str) -> None:
        listener = self._listeners.get(address) if isinstance(address, str) else None
        if listener is None:
            raise ConnectionRefusedError(f"nothing listens at {address!r}; call net.listen({address!r}) first")
        server = SimSocket(self, f"{address}#{client.name.split(':')[-1]}")
        client.peer, server.peer = server, client
        self._send_later(lambda: listener._arrive(server, client.name))

    def socketpair(self, name: str = "pair"):
        """Two sockets already connected to each other (like ``socket.socketpair()``)."""
        n = next(self._clients)
        a, b = SimSocket(self, f"{name}:{n}a"), SimSocket(self, f"{name}:{n}b")
        a.peer, b.peer = b, a
        return a, b


class SimSocket:
    """One end of a simulated connection (non-blocking)."""

    def __init__(self, net: SimNetwork, name: str):
        self.net, self.name, self.peer = net, name, None
        self._inbox = bytearray()  # arrived, not yet read
        self._in_flight = 0  # bytes we sent that the peer has not read yet
        self._eof = False  # the peer's close (or shutdown) has arrived
        self._shut = False  # we said we will send no more
        self.closed = False

    def connect(self, address: str) -> None:
        """Connect to ``address`` at once (a simulated connect never blocks; the listener sees
        the connection ``latency`` seconds later)."""
        if self.closed:
            raise OSError(f"{self.name} is closed")
        if self.peer is not None:
            raise OSError(f"{self.name} is already connected")
        self.net._connect(self, address)

    def setblocking(self, flag: bool) -> None:
        """Simulated sockets are always non-blocking; ``setblocking(False)`` is accepted."""
        if flag:
            raise ValueError("simulated sockets cannot block: the virtual clock would never move")

    def send(self, data) -> int:
        """Accept as much of ``data`` as the window allows; return how many bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        self._check_open()
        if self._shut:
            raise BrokenPipeError(f"{self.name}: shut down for writing")
        if self.peer.closed:
            raise BrokenPipeError(f"{self.peer.name} has closed the connection")
        room = self.net.buffer_size - self._in_flight
        if room <= 0 and data:
            raise BlockingIOError(f"{self.name}: send window full ({self.net.buffer_size} bytes not yet read)")
        chunk = bytes(data[:room])
        self._in_flight += len(chunk)
        peer = self.peer
        self.net._send_later(lambda: peer._inbox.extend(chunk))
        return len(chunk)

    def recv(self, n: int) -> bytes:
        """Up to ``n`` arrived bytes; b"" once the peer closed and all was read."""
        validate.count(n, "n", minimum=1, unit="max bytes to read")
        self._check_open()
        self.net._now()
        if self._inbox:
            data = bytes(self._inbox[:n])
            del self._inbox[:n]
            self.peer._in_flight -= len(data)  # the sender's window opens again
            return data
        if self._eof:
            return b""
        raise BlockingIOError(f"{self.name}: nothing to read yet")

    def shutdown(self, how=socket.SHUT_WR) -> None:
        """``shutdown(socket.SHUT_WR)``: send no more (the peer reads b""), but keep reading."""
        if how != socket.SHUT_WR:
            raise ValueError("how: simulated sockets only support socket.SHUT_WR")
        self._check_open()
        if not self._shut:
            self._shut = True
            self.net._send_later(self.peer._fin)

    def close(self) -> None:
        if not self.closed:
            if not self._shut and self.peer is not None:
                self._shut = True
                self.net._send_later(self.peer._fin)
            self.closed = True

    def _fin(self):
        self._eof = True

    def _check_open(self):
        if self.closed:
            raise OSError(f"{self.name} is closed")
        if self.peer is None:
            raise OSError(f"{self.name} is not connected: call connect(address) first")

    def readiness(self) -> int:
        """EVENT_READ if recv would not block, | EVENT_WRITE if send would not block."""
        if self.closed or self.peer is None:
            return 0
        readable = EVENT_READ if self._inbox or self._eof else 0
        writable = EVENT_WRITE if self._in_flight < self.net.buffer_size or self.peer.closed else 0
        return readable | writable

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<SimSocket {self.name}{' closed' if self.closed else ''}>"


class SimListener:
    """A listening simulated socket: ``accept()`` returns ``(conn, client_name)``."""

    def __init__(self, net: SimNetwork, address: str):
        self.net, self.name, self.closed = net, address, False
        self._backlog: list = []

    def _arrive(self, conn, client_name):
        if self.closed:
            conn.close()  # refused late: the client reads EOF
        else:
            self._backlog.append((conn, client_name))

    def accept(self):
        if self.closed:
            raise OSError(f"listener {self.name} is closed")
        self.net._now()
        if not self._backlog:
            raise BlockingIOError(f"{self.name}: no connection waiting")
        return self._backlog.pop(0)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.net._listeners.pop(self.name, None)
            for conn, _ in self._backlog:
                conn.close()
            self._backlog.clear()

    def readiness(self) -> int:
        return EVENT_READ if self._backlog and not self.closed else 0

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<SimListener {self.name}{' closed' if self.closed else ''}>"


# The ready-made servers live in course_lib.simservers; re-exported here, where they were first.
from course_lib.simservers import EchoServer, LineServer  # noqa: E402
