"""The clients that exercise 07.handler is checked with, and the server they talk to.

What it is: the pieces the check of ``07.handler`` is made of, so that the check itself
reads as a list of scenarios:

- ``HandlerServer(handler_class)``: a student's ``Handler`` on the course reactor (a real
  ``Loop``, ``course_lib.reactor.Server`` with ``MeasuredTransport``: the ``FlowTransport`` of
  ``course_lib.kv.protocol`` on a slow link, one ``ServerState``), its loop in a background thread;
  ``.address``, ``.state``, ``.server``; ``close()`` closes everything it can (a loop
  stuck in a student's endless loop is left to its daemon thread).
- ``converse(address, pieces, want, ...)``: one raw connection that sends ``pieces`` (a
  few milliseconds apart, so they arrive as separate reads) and reads until ``want``
  bytes have come, the server closed, or time is up; returns (bytes, closed).
- ``command_stream(rng, prefix, n)``: random commands as one byte string;
  ``reference(stream)``: the replies the course's own ``Client`` gives to it;
  ``cut(rng, data)``: the stream cut at random places, some between CR and LF.
- ``pressure(server, ...)``: the never-reading client: it stores a value and asks for it
  many times in one go, waits, reports what the server did meanwhile, then reads it all.
  The server's transports are ``MeasuredTransport``s: each remembers its fullest moment
  (``peak``), so a check can tell how far past ``HIGH_WATER`` a handler let its buffer grow.

What it is not: a check (``course_lib.check.ch07_server`` decides what passes), or a load test.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import NamedTuple

from course_lib.kv.client import Client, ServerState
from course_lib.kv.db import Database
from course_lib.kv.protocol import FlowTransport
from course_lib.loop import Loop
from course_lib.reactor import LoopThread, Server
from course_lib.resp import encode

__all__ = ["HandlerServer", "MeasuredTransport", "Peak", "converse", "command_stream", "reference", "cut",
           "pressure", "reset"]


class Peak(NamedTuple):
    """A transport's fullest moment: the write that left the most bytes in its buffer."""

    held: int = 0  # bytes in the buffer after that write
    before: int = 0  # bytes already in it before
    wrote: int = 0  # bytes that write brought
    paused: bool = False  # was writing paused (pause_writing called, resume_writing not yet)?


SLICE = 8192  # the most a MeasuredTransport's socket takes in one send


class _SlowLink:
    """A connected socket whose ``send`` takes at most ``SLICE`` bytes; everything else is the socket's."""

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def send(self, data, *flags) -> int:
        return self._sock.send(memoryview(data)[:SLICE], *flags)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class MeasuredTransport(FlowTransport):
    """``FlowTransport`` on a slow link that remembers its ``peak``.

    The link takes at most ``SLICE`` bytes per send, as a busy network may: the buffer then
    drains in steps, so ``resume_writing`` always comes with some bytes still buffered, and a
    handler that ignores them overfills the buffer every time, not only on unlucky runs."""

    peak = Peak()

    def __init__(self, loop, sock, protocol, server=None):
        super().__init__(loop, _SlowLink(sock), protocol, server)

    def write(self, data) -> None:
        before, paused = len(self.buffer), self.writing_paused
        super().write(data)
        if len(self.buffer) > self.peak.held:
            self.peak = Peak(len(self.buffer), before, len(data), paused)


class HandlerServer:
    """A student's handler class on the course reactor, serving in a background thread."""

    def __init__(self, handler_class):
        self.loop = Loop(poller="default")
        self.state = ServerState(Database(self.loop.time, self.loop.call_at), "reactor")
        try:
            self.server = Server(self.loop, lambda: handler_class(self.state), transport_class=MeasuredTransport)
        except BaseException:
            self.loop.close()
            raise
        self.address = self.server.address[:2]
        self.thread = LoopThread(self.loop).start()

    def transports(self) -> list:
        return list(self.server.connections)

    def close(self) -> None:
        self.thread.stop(5.0)
        if self.thread.alive:  # stuck in the student's code: leave it, closing under it would crash it
            return
        self.server.close()
        self.loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def reset(sock: socket.socket) -> None:
    """Close with a reset (RST) rather than a polite FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


def converse(address, pieces, want: int, timeout: float = 5.0, shut: bool = False, gap: float = 0.002):
    """Send ``pieces`` on a fresh connection; read until ``want`` bytes, the server's close, or ``timeout``.

    ``shut``: close our sending side after the last piece (the server sees end of file).
    Returns (what was read, whether the server closed the connection)."""
    got, closed = bytearray(), False
    with socket.create_connection(tuple(address), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        deadline = time.monotonic() + timeout
        try:
            for piece in pieces:
                s.sendall(piece)
                if gap:
                    time.sleep(gap)
            if shut:
                s.shutdown(socket.SHUT_WR)
            while len(got) < want and time.monotonic() < deadline:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = s.recv(1 << 20)
                if not chunk:
                    closed = True
                    break
                got += chunk
            if len(got) >= want and not closed:  # did the server close after what we wanted?
                s.settimeout(0.5)
                try:
                    closed = s.recv(1) == b""
                except socket.timeout:
                    closed = False
        except socket.timeout:
            pass
        except ConnectionError:
            closed = True
    return bytes(got), closed


def command_stream(rng, prefix: bytes, n: int) -> bytes:
    """``n`` random commands on keys starting with ``prefix``, some values holding CR LF."""
    out = []
    for _ in range(n):
        key = prefix + rng.choice([b"a", b"b", b"n"])
        value = rng.choice([b"x", b"hello", b"a\r\nb", b"%d" % rng.randint(-5, 99), b"\x00\xff" * rng.randint(0, 300)])
        kind = rng.randrange(9)
        out.append(encode([[b"SET", key, value], [b"GET", key], [b"INCR", key], [b"APPEND", key, value],
                           [b"DEL", key], [b"PING"], [b"ECHO", value], [b"STRLEN", key], [b"EXISTS", key]][kind]))
    return b"".join(out)


def reference(stream: bytes) -> bytes:
    """The replies the course's own server gives to ``stream`` on a fresh keyspace."""
    client = Client(ServerState(Database()))
    client.feed(stream)
    return client.run()


def cut(rng, data: bytes) -> list:
    """``data`` in random pieces: some a byte long, some cut between CR and LF."""
    cuts = {rng.randrange(1, len(data)) for _ in range(rng.randint(1, 12))} if len(data) > 1 else set()
    crs = [i + 1 for i in range(len(data) - 1) if data[i] == 13]
    cuts |= set(rng.sample(crs, min(3, len(crs))))
    edges = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:]) if b > a]


def pressure(server: HandlerServer, value_size: int = 16_000, count: int = 1875, wait: float = 0.5) -> dict:
    """The never-reading client; see the module docstring. Reads everything at the end."""
    from course_lib.kv.faults import ping

    value = bytes(range(256)) * (value_size // 256) + b"!" * (value_size % 256)
    reply = encode(value)
    got, closed = converse(server.address, [encode([b"SET", b"pressure:big", value])], 5)
    if got != b"+OK\r\n":
        return {"error": f"SET of a {value_size:,}-byte value got {got[:60]!r}"}
    ran_before = server.state.commands
    rude = socket.create_connection(server.address, timeout=10)
    try:
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        rude.sendall(encode([b"GET", b"pressure:big"]) * count)
        time.sleep(wait)
        fullest = max(server.transports(), key=lambda t: (len(t.buffer), t.peak.held), default=None)  # the rude one
        found = {"ran": server.state.commands - ran_before, "count": count, "reply": len(reply),
                 "reading": getattr(fullest, "reading", True) if fullest else True,
                 "ping": ping(server.address, timeout=5)}
        expected, got = reply * count, bytearray()
        deadline = time.monotonic() + 20
        rude.settimeout(2)
        while len(got) < len(expected) and time.monotonic() < deadline:
            try:
                chunk = rude.recv(1 << 20)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
        found["received"] = len(got)
        found["expected"] = len(expected)
        found["in_order"] = got == expected[:len(got)]
        found["peak"] = fullest.peak if fullest else Peak()
        return found
    finally:
        reset(rude)
