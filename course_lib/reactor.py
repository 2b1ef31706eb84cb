"""The reactor: a TCP server on the course loop, one thread, any number of clients.

What it is: the *reactor pattern* in a few classes. A reactor waits for readiness
events (with select, poll, epoll or kqueue: whatever poller the ``Loop`` was given)
and dispatches each event to the object that registered for it:

- ``Server(loop, protocol_factory)`` listens on 127.0.0.1 (port 0: the kernel picks a
  free one). When the listening socket is readable it ``accept()``s the waiting
  clients, makes each socket non-blocking and gives it a ``Transport`` and a fresh
  protocol object from ``protocol_factory()``.
- ``Transport`` owns one connected socket. Readable -> ``recv`` -> the protocol's
  ``data_received(data)``. ``transport.write(data)`` sends what the kernel takes
  *now*; the rest waits in a per-connection output buffer, and only while that
  buffer is non-empty does the transport ask the loop for write readiness
  (``add_writer``). Asking while there is nothing to write would wake the loop
  at once on every iteration: a busy loop.
- A ``Protocol`` has asyncio's method names: ``connection_made(transport)``,
  ``data_received(data)``, ``eof_received()``, ``connection_lost(exc)``.

Nothing here ever blocks: every socket is non-blocking, ``BlockingIOError`` (EAGAIN)
just means "not now, wait for the next event". A peer that resets or vanishes
closes its connection (``connection_lost(exc)``) and the server goes on serving.
An exception raised by a protocol closes that connection only; it is kept in
``server.errors`` so a test can show it.

``LoopThread(loop)`` runs a loop in a background thread and stops it from outside
with a wake-up socket (the "self-pipe trick"), so a notebook cell can talk to a
server with ordinary blocking client sockets.

What it is not: asyncio. No TLS, no flow-control callbacks (``pause_writing``),
no IPv6, no client side; the loop is the course's ``Loop`` in real mode.
"""

from __future__ import annotations

import socket
import threading

__all__ = ["Protocol", "Transport", "Server", "LoopThread"]

READ_SIZE = 256 * 1024  # bytes asked of one recv


class Protocol:
    """Base class with asyncio's callback names; override what you need."""

    def connection_made(self, transport: "Transport") -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self):
        """The peer will send nothing more. Return True to keep writing; else the transport closes."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        pass


class Transport:
    """One connected, non-blocking socket, its output buffer and its registrations."""

    def __init__(self, loop, sock: socket.socket, protocol, server: "Server | None" = None):
        self.loop, self.sock, self.protocol, self.server = loop, sock, protocol, server
        self.fd = sock.fileno()
        self.buffer = bytearray()  # bytes written by the protocol, not yet taken by the kernel
        self._closing = False  # close() was called: no more reads or writes accepted
        self._closed = False  # the socket is closed and connection_lost was called

    # --- what the protocol calls ---------------------------------------------------
    def write(self, data) -> None:
        """Send ``data`` eventually, in order, without blocking."""
        if self._closing or not data:
            return
        if not self.buffer:  # try at once: usually the kernel takes everything
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:  # peer reset, broken pipe
                self._finish(exc)
                return
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
            self.loop.add_writer(self.fd, self._on_writable)  # wake me when the kernel has room
        self.buffer += data

    def close(self) -> None:
        """Stop reading; close once the output buffer has been sent."""
        if self._closing:
            return
        self._closing = True
        self.loop.remove_reader(self.fd)
        if not self.buffer:
            self.loop.call_soon(self._finish, None)

    def abort(self) -> None:
        """Close now, dropping whatever is still buffered."""
        self._closing = True
        self._finish(None)

    def is_closing(self) -> bool:
        return self._closing

    def get_write_buffer_size(self) -> int:
        return len(self.buffer)

    def get_extra_info(self, name: str, default=None):
        try:
            return {"socket": self.sock, "peername": self.sock.getpeername, "sockname": self.sock.getsockname}[name]()
        except (KeyError, TypeError, OSError):
            return self.sock if name == "socket" else default

    # --- what the loop calls ---------------------------------------------------------
    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return  # a spurious wake-up: nothing to read after all
        except OSError as exc:  # ConnectionResetError: the peer vanished
            self._finish(exc)
            return
        try:
            if data:
                self.protocol.data_received(data)
            elif not self.protocol.eof_received():  # b"" means end of file: the peer closed
                self.close()
            else:
                self.loop.remove_reader(self.fd)
        except Exception as exc:  # a bug in the protocol: drop this connection, keep serving
            self._protocol_failed(exc)

    def _on_writable(self) -> None:
        try:
            sent = self.sock.send(self.buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._finish(exc)
            return
        del self.buffer[:sent]
        if not self.buffer:
            self.loop.remove_writer(self.fd)  # nothing left: stop asking, or the loop spins
            if self._closing:
                self._finish(None)

    def _protocol_failed(self, exc: Exception) -> None:
        if self.server is not None:
            self.server.errors.append(exc)
        self.abort()

    def _finish(self, exc) -> None:
        if self._closed:
            return
        self._closed = self._closing = True
        self.loop.remove_reader(self.fd)
        self.loop.remove_writer(self.fd)
        self.sock.close()
        self.buffer.clear()
        if self.server is not None:
            self.server.connections.discard(self)
        try:
            self.protocol.connection_lost(exc)
        except Exception as error:
            if self.server is not None:
                self.server.errors.append(error)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "closing" if self._closing else "open"
        return f"<Transport fd={self.fd} {state}, {len(self.buffer)} bytes buffered>"


class Server:
    """Listen on ``host``:``port`` and serve each client with ``protocol_factory()``."""

    def __init__(self, loop, protocol_factory, host: str = "127.0.0.1", port: int = 0, backlog: int = 1024,
                 transport_class=Transport, reuse_port: bool = False):
        if not callable(protocol_factory):
            raise TypeError(
                f"protocol_factory must be a class or function returning a protocol, got {protocol_factory!r}"
            )
        self.loop, self.protocol_factory, self.transport_class = loop, protocol_factory, transport_class
        self.connections: set[Transport] = set()
        self.errors: list[Exception] = []
        self.accepted = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:  # asyncio's name: several servers share the port, the kernel spreads the clients
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self.sock.bind((host, port))
            self.sock.listen(backlog)
            self.sock.setblocking(False)
            loop.add_reader(self.sock.fileno(), self._on_acceptable)
        except BaseException:
            self.sock.close()
            raise
        self.address = self.sock.getsockname()

    def _on_acceptable(self) -> None:
        for _ in range(64):  # accept a batch: many clients may be waiting
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: out of descriptors; try again next time
                self.errors.append(exc)
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small replies go out at once
            self.accepted += 1
            try:
                protocol = self.protocol_factory()
                transport = self.transport_class(self.loop, conn, protocol, self)
            except Exception as exc:
                self.errors.append(exc)
                conn.close()
                continue
            self.connections.add(transport)
            self.loop.add_reader(transport.fd, transport._on_readable)
            try:
                protocol.connection_made(transport)
            except Exception as exc:
                transport._protocol_failed(exc)

    def close(self) -> None:
        """Stop listening and abort every open connection."""
        if self.sock.fileno() != -1:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
        for transport in list(self.connections):
            transport.abort()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Server {self.address[0]}:{self.address[1]}, {len(self.connections)} connections>"


class LoopThread:
    """Run ``loop.run()`` in a daemon thread; ``stop()`` wakes it and joins it.

    Use as a context manager. Everything the loop should do must be set up before
    ``start()`` (the loop is not thread-safe); ``error`` holds an exception that
    ended the loop, if any.
    """

    def __init__(self, loop):
        self.loop = loop
        self.error: BaseException | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._thread = threading.Thread(target=self._main, daemon=True, name="course-loop")

    def _main(self) -> None:
        self.loop.add_reader(self._wake_r.fileno(), self.loop.stop)  # a byte on the wake-up socket stops the loop
        try:
            self.loop.run()
        except BaseException as exc:
            self.error = exc
        finally:
            self.loop.remove_reader(self._wake_r.fileno())

    def start(self) -> "LoopThread":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self._wake_r.close()
            self._wake_w.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> "LoopThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
