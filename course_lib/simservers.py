"""Ready-made servers for the simulated network: the other end of the chapters' clients.

What it is: two small callback servers that run on a simulated ``Loop()`` next to the
student's code, built from ``add_reader``, ``add_writer`` and ``call_later`` only:

- ``EchoServer(net, address, delay=0, transform=None)``: answers each chunk it reads with
  ``transform(chunk)``, ``delay`` seconds later (chapters 04 and 06);
- ``LineServer(net, address, rng=...)``: answers each request *line* with one line, sent in
  random pieces at random gaps, so a client must reassemble it (exercise 04.client).

They are also the course's examples of servers written with callbacks, to read next to the
chapters' coroutine versions.

What it is not: real servers. They run only on ``course_lib.simnet`` sockets, on the virtual
clock; for real sockets see ``course_lib.reactor`` and ``course_lib.slowserver``.
"""

from __future__ import annotations

import random

from course_lib import validate

__all__ = ["EchoServer", "LineServer"]


class EchoServer:
    """A callback server on a simulated loop: answers each chunk it reads with
    ``transform(chunk)`` (default: the chunk itself) ``delay`` seconds later,
    and closes a connection after the client closed and every answer went out."""

    def __init__(self, net, address: str = "server:80", delay: float = 0.0, transform=None):
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
    requests, one after the other. The server closes its end after the client closed, or,
    with ``close_after=n``, as soon as a connection sends a request after its first ``n``
    (a server that hangs up instead of answering). ``rng`` (a ``random.Random``) picks the
    chunk sizes and gaps, so a run is repeatable.
    ``served`` counts the request lines; ``overlapped`` counts requests that arrived
    while the previous reply was still being sent.
    """

    def __init__(self, net, address="server:80", *, rng=None, think=0.1, max_chunk=6, gap=0.03, close_after=None):
        self.loop, self.rng = net.loop, rng or random.Random(4)
        self.think = validate.seconds(think, "think", minimum=0)
        self.max_chunk = validate.count(max_chunk, "max_chunk", minimum=1, unit="bytes")
        self.gap = validate.seconds(gap, "gap", minimum=0)
        self.close_after = validate.count(close_after, "close_after", optional=True, unit="requests")
        self._requests = {}  # connection -> how many of its requests were read
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
            if self.close_after is not None and self._requests.get(conn, 0) >= self.close_after:
                self.loop.remove_reader(conn)  # hang up instead of answering
                conn.close()
                return
            self._requests[conn] = self._requests.get(conn, 0) + 1
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
