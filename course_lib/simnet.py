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

Bytes arrive ``latency`` seconds after ``send``. Each direction has a window of
``buffer_size`` bytes: data sent but not yet read by the receiver counts against it,
so a sender that outpaces its reader gets partial sends, then ``BlockingIOError``.
``Loop()`` can wait on these sockets with ``add_reader``/``add_writer``; its poller
jumps the virtual clock to the next arrival. ``EchoServer`` is a ready-made server
running on the same loop through callbacks.

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

__all__ = ["SimNetwork", "SimSocket", "SimListener", "EchoServer"]


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
        listener = self._listeners.get(address)
        if listener is None:
            raise ConnectionRefusedError(f"nothing listens at {address!r}; call net.listen({address!r}) first")
        n = next(self._clients)
        client, server = SimSocket(self, f"client:{n}"), SimSocket(self, f"{address}#{n}")
        client.peer, server.peer = server, client
        self._send_later(lambda: listener._arrive(server, client.name))
        return client


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
            if not self._shut:
                self._shut = True
                self.net._send_later(self.peer._fin)
            self.closed = True

    def _fin(self):
        self._eof = True

    def _check_open(self):
        if self.closed:
            raise OSError(f"{self.name} is closed")

    def readiness(self) -> int:
        """EVENT_READ if recv would not block, | EVENT_WRITE if send would not block."""
        if self.closed:
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


class EchoServer:
    """A callback server on a simulated loop: answers each chunk it reads with
    ``transform(chunk)`` (default: the chunk itself) ``delay`` seconds later,
    and closes a connection after the client closed and every answer went out."""

    def __init__(self, net: SimNetwork, address: str = "server:80", delay: float = 0.0, transform=None):
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be a function bytes -> bytes (e.g. bytes.upper), got {transform!r}")
        self.delay = validate.seconds(delay, "delay", minimum=0)
        self.loop, self.transform = net.loop, transform or bytes
        self.listener = net.listen(address)
        self.requests = 0
        self._out: dict = {}  # conn -> [bytes to send, answers still pending, client closed?]
        self.loop.add_reader(self.listener, self.accept)

    def accept(self):
        conn, _ = self.listener.accept()
        self._out[conn] = [bytearray(), 0, False]
        self.loop.add_reader(conn, self.on_data, conn)

    def on_data(self, conn):
        data, state = conn.recv(65536), self._out[conn]
        if not data:
            state[2] = True
            self.loop.remove_reader(conn)
            self.flush(conn)
            return
        self.requests += 1
        state[1] += 1
        self.loop.call_later(self.delay, self.reply, conn, self.transform(data))

    def reply(self, conn, data):
        state = self._out.get(conn)
        if state is None:  # the server was closed meanwhile
            return
        state[0] += data
        state[1] -= 1
        self.flush(conn)

    def flush(self, conn):
        out, pending, client_closed = self._out[conn]
        try:
            if out:
                del out[: conn.send(out)]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            out.clear()
        if out:
            self.loop.add_writer(conn, self.flush, conn)
            return
        self.loop.remove_writer(conn)
        if client_closed and not pending:
            del self._out[conn]
            conn.close()

    def close(self):
        """Stop listening and close every connection."""
        self.loop.remove_reader(self.listener)
        self.listener.close()
        for conn in list(self._out):
            self.loop.remove_reader(conn)
            self.loop.remove_writer(conn)
            conn.close()
        self._out.clear()


class LineServer:
    """A simulated server that answers one line with one line, in pieces (exercise 04.client).

    For each request line it reads (up to ``b"\\n"``; the line may arrive in pieces) it
    waits ``think`` seconds, then sends ``b"ECHO " + line.upper()`` in chunks of 1 to
    ``max_chunk`` bytes, at most ``gap`` seconds apart. A connection can carry many
    requests, one after the other. The server closes its end after the client closed.
    ``rng`` (a ``random.Random``) picks the chunk sizes and gaps, so a run is repeatable.
    ``served`` counts the request lines; ``overlapped`` counts requests that arrived
    while the previous reply was still being sent.
    """

    def __init__(self, net, address="server:80", *, rng=None, think=0.1, max_chunk=6, gap=0.03):
        import random

        self.loop, self.rng = net.loop, rng or random.Random(4)
        self.think = validate.seconds(think, "think", minimum=0)
        self.max_chunk = validate.count(max_chunk, "max_chunk", minimum=1, unit="bytes")
        self.gap = validate.seconds(gap, "gap", minimum=0)
        self.listener = net.listen(address)
        self.loop.add_reader(self.listener, self._accept)
        self.served = self.overlapped = 0
        self._busy = set()  # connections whose reply is not completely sent yet

    def _accept(self):
        conn, _ = self.listener.accept()
        self.loop.add_reader(conn, self._read, conn, bytearray())

    def _read(self, conn, line):
        data = conn.recv(1024)
        if not data:  # the client closed
            self.loop.remove_reader(conn)
            conn.close()
            return
        line += data
        while b"\n" in line:
            end = line.index(b"\n") + 1
            request = bytes(line[:end])
            del line[:end]
            self.served += 1
            if conn in self._busy:
                self.overlapped += 1
            self._busy.add(conn)
            self.loop.call_later(self.think, self._send, conn, b"ECHO " + request.upper())

    def _send(self, conn, rest):
        if conn.closed or conn.peer.closed:
            return
        size = self.rng.randint(1, self.max_chunk)
        conn.send(rest[:size])
        if rest[size:]:
            self.loop.call_later(self.rng.uniform(0, self.gap), self._send, conn, rest[size:])
        else:
            self._busy.discard(conn)
