"""A slow local server: something real to wait for, on 127.0.0.1.

What it is: a TCP server on ``127.0.0.1`` (port 0, so the system picks a free
port) that answers slowly, on purpose. Its protocol is one exchange:

1. a client connects and sends one request line ending in ``b"\\n"``;
2. the server waits ``delay`` seconds;
3. it sends ``response`` in chunks of ``chunk_size`` bytes, pausing
   ``chunk_delay`` seconds between chunks (``chunk_size=None``: all at once);
4. it closes the connection.

Use it in the cell that needs it, so the cell that starts it also stops it::

    with SlowServer(delay=0.5, response=b"hello\\n") as srv:
        with socket.create_connection(srv.address) as sock:
            sock.sendall(b"GET\\n")
            data = sock.recv(100)          # blocks about 0.5 s
    srv.requests, srv.max_in_flight        # (1, 1)

``response`` may also be a function ``line -> bytes`` (``line`` is the request line,
newline included), e.g. ``response=lambda line: line.upper()``.

Statistics, for checks and experiments: ``requests`` (request lines received),
``lines`` (those lines), ``in_flight`` (connections accepted and not yet finished),
``max_in_flight`` (the peak of ``in_flight``), ``connections`` (accepted in total).

How it works, and why: a single background thread runs a small event loop over a
``selectors`` selector (epoll on Linux, kqueue on macOS, select on Windows). Each
connection is a little state machine (read the line -> wait -> send chunks ->
close) and the waits are timers in a heap. One thread therefore serves hundreds
of slow connections at once without hundreds of threads, and ``close()`` stops
everything promptly: it wakes the loop through a socket pair, the thread exits,
and every socket is closed, even with clients still connected (they see the
connection closed). ``close()`` is idempotent. Chapter 05 builds a loop like this
one; here it is only a tool. (On Windows the selector is ``select``, which handles at
most 512 sockets at once; Linux and macOS have no such limit here.)

What it is not: a real protocol server, fast, or safe to expose. It binds only
127.0.0.1, keeps everything in memory, and is meant for one notebook cell at a time.
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import socket
import threading
import time
from numbers import Real

__all__ = ["SlowServer", "fetch"]

_MAX_LINE = 64 * 1024


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


class _Conn:
    __slots__ = ("sock", "buf", "out", "chunk", "state")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""          # request bytes read so far
        self.out = b""          # response bytes not yet sent
        self.chunk = b""        # the part of the current chunk not yet sent
        self.state = "read"     # read -> wait -> send -> done


class SlowServer:
    """A deliberately slow one-line request/response server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, delay: float = 0.5, response=b"hello from the slow server\n", chunk_size: int | None = None,
                 chunk_delay: float = 0.0):
        self.delay = _seconds(delay, "delay")
        self.chunk_delay = _seconds(chunk_delay, "chunk_delay")
        if not (isinstance(response, (bytes, bytearray)) or callable(response)):
            raise TypeError(f"response must be bytes or a function line -> bytes, got {type(response).__name__}")
        self.response = bytes(response) if isinstance(response, (bytes, bytearray)) else response
        if chunk_size is not None and (
            isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be None or an int >= 1, got {chunk_size!r}")
        self.chunk_size = chunk_size
        self.address: tuple[str, int] | None = None
        self.requests = 0
        self.lines: list[bytes] = []
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._started = self._closed = False
        self._thread: threading.Thread | None = None
        self._conns: dict[socket.socket, _Conn] = {}
        self._timers: list = []
        self._seq = itertools.count()

    # -- starting and stopping -------------------------------------------------
    def start(self) -> "SlowServer":
        """Bind 127.0.0.1 on a free port, start the server thread; returns self."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this SlowServer is closed; make a new one")
            if self._started:
                raise RuntimeError("this SlowServer is already started")
            self._started = True
        self._sel = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen(1024)
            self._listener.setblocking(False)
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._sel.register(self._listener, selectors.EVENT_READ, "accept")
            self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        except BaseException:
            self._listener.close()
            self._sel.close()
            raise
        self.address = self._listener.getsockname()[:2]
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"SlowServer-{self.address[1]}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and close every socket. Safe to call twice, or before ``start()``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            started = self._started
        if not started:
            return
        self._stop = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._thread.join()
        for conn in list(self._conns.values()):
            self._finish(conn)
        for s in (self._listener, self._wake_r, self._wake_w):
            s.close()
        self._sel.close()

    def __enter__(self) -> "SlowServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        where = f"{self.address[0]}:{self.address[1]}" if self.address else "not started"
        state = "closed" if self._closed else "running" if self._started else "new"
        return (f"SlowServer({where}, delay={self.delay:g}, chunk_size={self.chunk_size}, "
                f"chunk_delay={self.chunk_delay:g}, {state}, requests={self.requests})")

    # -- the event loop (runs in the server thread) ------------------------------
    def _run(self) -> None:
        while not self._stop:
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            for key, _events in self._sel.select(timeout):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    return
                elif key.fileobj in self._conns:
                    conn = self._conns[key.fileobj]
                    if conn.state == "read":
                        self._read(conn)
                    elif conn.state == "send":
                        self._sel.unregister(conn.sock)
                        self._send(conn)
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now and not self._stop:
                _, _, conn = heapq.heappop(self._timers)
                if conn.state != "done":
                    self._send(conn)

    def _call_later(self, delay: float, conn: _Conn) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), conn))

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. too many open files: leave the rest in the backlog
                return
            sock.setblocking(False)
            conn = _Conn(sock)
            self._conns[sock] = conn
            self._sel.register(sock, selectors.EVENT_READ, "conn")
            self.connections += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before sending a whole line
            self._finish(conn)
            return
        conn.buf += data
        end = conn.buf.find(b"\n")
        if end < 0:
            if len(conn.buf) > _MAX_LINE:
                self._finish(conn)
            return
        line = conn.buf[: end + 1]
        self.lines.append(line)
        self.requests += 1
        self._sel.unregister(conn.sock)
        try:
            response = self.response(line) if callable(self.response) else self.response
            conn.out = bytes(response)
        except Exception:  # a faulty response function: close this connection, keep serving
            self._finish(conn)
            return
        conn.state = "wait"
        self._call_later(self.delay, conn)

    def _send(self, conn: _Conn) -> None:
        """Send chunks until the response is done, a chunk_delay pause starts, or the client's buffer is full."""
        conn.state = "send"
        while True:
            if not conn.chunk:
                size = self.chunk_size or len(conn.out)
                conn.chunk, conn.out = conn.out[:size], conn.out[size:]
            while conn.chunk:
                try:
                    sent = conn.sock.send(conn.chunk)
                except (BlockingIOError, InterruptedError):  # the client's buffer is full: wait until writable
                    self._sel.register(conn.sock, selectors.EVENT_WRITE, "conn")
                    return
                except OSError:  # the client closed or reset the connection
                    self._finish(conn)
                    return
                conn.chunk = conn.chunk[sent:]
            if not conn.out:
                self._finish(conn)
                return
            if self.chunk_delay > 0:
                conn.state = "wait"
                self._call_later(self.chunk_delay, conn)
                return

    def _finish(self, conn: _Conn) -> None:
        """Forget a connection and close its socket (once)."""
        if conn.state == "done":
            return
        try:
            self._sel.unregister(conn.sock)
        except (KeyError, ValueError):  # it was not registered (waiting on a timer)
            pass
        conn.state = "done"
        self._conns.pop(conn.sock, None)
        conn.sock.close()
        self.in_flight -= 1


def fetch(address, line: bytes = b"GET\n", timeout: float = 30.0) -> bytes:
    """A plain blocking client: connect to ``address``, send ``line``, return everything until the server closes."""
    if not isinstance(line, (bytes, bytearray)) or not line.endswith(b"\n"):
        raise ValueError(f"line must be bytes ending in b'\\n', got {line!r}")
    with socket.create_connection(tuple(address), timeout=timeout) as sock:
        sock.sendall(line)
        parts = []
        while True:
            data = sock.recv(65536)
            if not data:
                return b"".join(parts)
            parts.append(data)
