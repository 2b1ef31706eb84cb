"""A test bench for an echo server on the course reactor (the check of exercise 05.echo).

What it is: the two sides of the check's run, kept apart from the check's verdicts.

- The server's side: ``SpyLoop`` wraps the real loop, counts the writer callbacks, keeps one
  bad connection from ending the server loop, notices a callback that is stuck, and refuses
  the reactor's own send path (a writer callback of a ``Transport``: what
  ``Transport.write`` registers, however it was reached); ``RawTransport`` is the reactor's
  ``Transport`` with ``write`` switched off, on sockets with a small send buffer, so the
  student's own ``send`` meets partial writes.
- The clients' side: a crowd of real non-blocking sockets on 127.0.0.1, driven together by
  one selector (``run_clients``): small messages, payloads far larger than the socket
  buffers, slow readers, clients that vanish mid-message; and ``rude_clients``, which reset
  the connection before the server has read their message.

- ``try_echo(Protocol)``: the exercise's "try it" run, one client that sends 2 MB before it
  reads a byte, so partial sends are certain and a server that loses bytes shows it; it
  prints one line.

What it is not: a benchmark. The crowd measures nothing; it only makes every hard case of
an echo server happen on every run.
"""

from __future__ import annotations

import select
import selectors
import socket
import struct
import sys
import time

from course_lib.loop import Loop
from course_lib.reactor import LoopThread, Server, Transport

__all__ = ["SpyLoop", "RawTransport", "Client", "best_selector", "run_clients", "rude_clients", "try_echo"]

TRANSPORT_WRITE_OFF = "transport.write (and the reactor's Transport.write) is switched off"


# ---------------------------------------------------------------- the server's side
class SpyLoop:
    """The real loop, with writer callbacks counted and their exceptions caught (so one bad
    connection cannot end the check's server loop), and the callback running now timed."""

    def __init__(self, loop):
        self._loop = loop
        self.writer_calls = 0
        self.server = None
        self.running = None  # (callback name, since when) while a callback runs
        loop.add_instrument(self)

    def before_callback(self, handle):
        self.running = (handle.name, time.monotonic())
        if handle.name.endswith("Transport._on_writable") and self.server is not None:
            self.server.used_transport_write = True  # the reactor's send path ran, not the student's

    def after_callback(self, handle, step):
        self.running = None

    def stuck(self):
        """The name of a callback that has been running for more than a second, if any."""
        running = self.running
        if running and time.monotonic() - running[1] > 1.0:
            names = {"Transport._on_readable": "data_received", "Server._on_acceptable": "connection_made",
                     "counted": "your writer callback"}
            return names.get(running[0], running[0])
        return None

    def add_writer(self, fd, callback, *args):
        if isinstance(getattr(callback, "__self__", None), Transport):  # Transport.write(self.transport, ...)
            raise RuntimeError(f"in 05.echo you send with self.sock.send() yourself: {TRANSPORT_WRITE_OFF}")

        def counted():
            self.writer_calls += 1
            try:
                callback(*args)
            except Exception as exc:
                self.server.errors.append(exc)
                for t in list(self.server.connections):
                    if t.fd == fd:
                        t.abort()

        self._loop.add_writer(fd, counted)

    def __getattr__(self, name):
        return getattr(self._loop, name)


class RawTransport(Transport):
    """The reactor's ``Transport`` with ``write`` switched off (in 05.echo the student sends with
    ``sock.send`` and ``add_writer``), on sockets with a small send buffer so partial sends are
    certain. It notes on the server when the student made a socket blocking (``made_blocking``), and
    when the student closed a connection because ``send`` raised ``BlockingIOError`` (``aborted_when_full``)."""

    def __init__(self, loop, sock, protocol, server=None):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
        super().__init__(loop, sock, protocol, server)

    def write(self, data):
        raise RuntimeError(f"in 05.echo you send with self.sock.send() yourself: {TRANSPORT_WRITE_OFF}")

    def abort(self):
        if isinstance(sys.exc_info()[1], BlockingIOError) and self.server is not None:
            self.server.aborted_when_full = True  # `except OSError` caught a full buffer, not a vanished client
        super().abort()

    def _finish(self, exc):
        if not self._closed and self.sock.fileno() != -1 and self.sock.gettimeout() != 0.0:
            self.server.made_blocking = True
        super()._finish(exc)


# ---------------------------------------------------------------- the clients' side
class Client:
    """One client of the crowd; ``kind`` is small, big, slow (reads only every few ms) or vanish (resets
    mid-message)."""

    def __init__(self, n, kind, payload, rcvbuf):
        self.n, self.kind, self.payload = n, kind, payload
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # small window: forces partial sends
        self.sock.setblocking(False)
        self.sent = 0
        self.got = bytearray()
        self.done = False
        self.error = None
        self.next_read = 0.0  # slow readers read only every few milliseconds
        self.vanish_at = len(payload) // 2 if kind == "vanish" else None


def best_selector():
    """The best selector this platform has *now* (looked up at call time, not at import)."""
    for name, cls in (("epoll", "EpollSelector"), ("kqueue", "KqueueSelector"), ("poll", "PollSelector")):
        if hasattr(select, name) and hasattr(selectors, cls):
            return getattr(selectors, cls)()
    return selectors.SelectSelector()


def run_clients(address, clients, deadline: float) -> None:
    """Drive every client at once with one selector until each is done, ``deadline`` (monotonic) passes,
    or nothing moved for 2 s (the server is stuck). Each client sends its payload and reads the echo."""
    sel = best_selector()
    try:
        for c in clients:
            c.sock.connect_ex(address)
            sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        active = len(clients)
        moved, last_move = -1, time.monotonic()
        while active and time.monotonic() < deadline:
            now = time.monotonic()
            progress = sum(c.sent + len(c.got) for c in clients)
            if progress != moved:
                moved, last_move = progress, now
            elif now - last_move > 2.0:  # nothing moved for 2 s: the server is stuck
                break
            for key, events in sel.select(0.005):
                c = key.data
                if c.done:
                    continue
                if events & selectors.EVENT_WRITE and c.sent < len(c.payload):
                    limit = c.vanish_at if c.vanish_at is not None else len(c.payload)
                    try:
                        c.sent += c.sock.send(memoryview(c.payload)[c.sent : min(limit, c.sent + 65536)])
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError as exc:
                        c.error, c.done = exc, True
                    if c.vanish_at is not None and c.sent >= c.vanish_at:  # vanish: reset, never read
                        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        c.done = True
                    if c.sent >= len(c.payload) and not c.done:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if events & selectors.EVENT_READ and not c.done and now >= c.next_read:
                    try:
                        data = c.sock.recv(16384 if c.kind == "slow" else 262144)
                    except (BlockingIOError, InterruptedError):
                        data = None
                    except OSError as exc:
                        c.error, c.done, data = exc, True, None
                    if data == b"":
                        c.error, c.done = "the server closed the connection", True
                    elif data:
                        c.got += data
                        if c.kind == "slow":
                            c.next_read = now + 0.004
                        if len(c.got) >= len(c.payload) or c.got != c.payload[: len(c.got)]:
                            c.done = True
                if c.done:
                    sel.unregister(c.sock)
                    c.sock.close()
                    active -= 1
    finally:
        sel.close()
        for c in clients:
            c.sock.close()


def rude_clients(address, count: int) -> None:
    """Clients that send a message, then reset the connection before the server has read it.

    Called before the server's loop starts. On Linux the server still reads the message, and its
    first send() then raises ConnectionResetError: the send path's error handling is tested on
    every run, not only when a vanishing client happens to be caught mid-send."""
    for _ in range(count):
        sock = socket.create_connection(address, timeout=5)
        try:
            sock.sendall(b"gone " * 200)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
        finally:
            sock.close()


# ---------------------------------------------------------------- one client, for a try cell
def try_echo(protocol_class, size: int = 2 * 1024 * 1024, quiet: float = 2.0) -> None:
    """Serve one client with ``protocol_class`` (sending on its own, as in 05.echo); print what came back.

    The client has a small receive buffer and sends all ``size`` bytes before it reads any, so
    the server's ``send`` meets a full buffer for sure (and a server that blocks stops reading,
    which stops the client's sending). Then it reads until it has them all or nothing came for
    ``quiet`` seconds. An exception of the server's code is raised here."""
    name = getattr(protocol_class, "__name__", "the server")
    message = bytes(range(256)) * (size // 256)
    loop = Loop(poller="default")
    spy = SpyLoop(loop)
    server = spy.server = Server(spy, protocol_class, transport_class=RawTransport)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    echoed, trouble, blocking = bytearray(), "", False
    runner = None
    try:
        # small buffers on the way in and out: a server that stops reading stops the client too
        server.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        client.settimeout(quiet)
        client.connect(server.address)
        runner = LoopThread(loop).start()
        try:
            client.sendall(message)  # all of it first: what send() did not take, the server must keep
            while len(echoed) < len(message):
                chunk = client.recv(1 << 20)
                if not chunk:
                    trouble = "; then the server closed the connection"
                    break
                echoed += chunk
        except TimeoutError:
            trouble = f"; then nothing moved for {quiet:g} s"
        except OSError as error:
            trouble = f"; then the connection broke ({type(error).__name__})"
        blocking = any(t.sock.fileno() != -1 and t.sock.gettimeout() != 0.0 for t in list(server.connections))
    finally:
        client.close()  # first: it also wakes a server stuck in a blocking send
        if runner is not None:
            runner.stop(timeout=2.0)
        server.close()
        loop.close()
    for error in server.errors:
        if not isinstance(error, OSError):
            raise error  # a bug in the server's code: try_it names it and its line
    if server.errors:
        trouble += f" (your server's send raised {type(server.errors[0]).__name__})"
    if blocking:
        trouble += " (your server made its socket blocking: it waited in send, and stopped reading)"
    if getattr(server, "aborted_when_full", False):
        trouble += " (your server closed it on BlockingIOError, which only means: the send buffer is full)"
    line = f"{name}: {len(echoed):,} of {len(message):,} bytes echoed"
    if bytes(echoed) != message[: len(echoed)]:
        line += ", not as sent: bytes were lost or reordered" + trouble
    elif len(echoed) < len(message):
        line += trouble + ": the rest was lost"
    else:
        line += ", byte-exact"
    print(line)  # printing is the point: this is a try cell's report
